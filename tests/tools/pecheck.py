#!/usr/bin/python3
"""Checks a Windows PE file the build produced: architecture, hardening flags,
subsystem, exported names, and that it imports only DLLs every Windows has
(the binaries are static: no MinGW runtime DLL may be needed at run time).

  pecheck.py --arch x64|x86 [--subsystem gui|console] [--export NAME ...] FILE
"""
import argparse
import struct
import sys

MACHINES = {"x64": 0x8664, "x86": 0x014C}
MAGIC = {"x64": 0x20B, "x86": 0x10B}
SUBSYSTEMS = {"gui": 2, "console": 3}
DYNAMIC_BASE, HIGH_ENTROPY_VA, NX_COMPAT = 0x0040, 0x0020, 0x0100
IMAGE_FILE_DLL = 0x2000

# DLLs that ship with every Windows from 7 on; anything else would have to be installed.
SYSTEM_DLLS = {
    "kernel32.dll", "user32.dll", "gdi32.dll", "advapi32.dll", "shell32.dll",
    "ole32.dll", "oleaut32.dll", "ws2_32.dll", "crypt32.dll", "bcrypt.dll",
    "msvcrt.dll", "shlwapi.dll", "iphlpapi.dll", "wldap32.dll", "normaliz.dll",
    "comctl32.dll", "secur32.dll", "userenv.dll", "rpcrt4.dll", "wtsapi32.dll",
    "version.dll", "uxtheme.dll", "comdlg32.dll", "imm32.dll", "winmm.dll",
    "ntdll.dll",  # olrestore.c: a key's kernel name, delete by handle (NtQueryKey, NtDeleteKey)
    "winhttp.dll",  # web_proxy = system: the proxy settings as Windows reads them
}


class PE:
    def __init__(self, data):
        self.data = data
        if data[:2] != b"MZ":
            raise ValueError("no MZ header")
        off = struct.unpack_from("<I", data, 0x3C)[0]
        if data[off:off + 4] != b"PE\0\0":
            raise ValueError("no PE signature")
        (self.machine, nsect, _, _, _, optsize, self.characteristics) = \
            struct.unpack_from("<HHIIIHH", data, off + 4)
        opt = off + 24
        self.magic = struct.unpack_from("<H", data, opt)[0]
        self.subsystem, self.dllchars = struct.unpack_from("<HH", data, opt + 68)
        dirs = opt + (112 if self.magic == 0x20B else 96)
        self.dirs = [struct.unpack_from("<II", data, dirs + 8 * i) for i in range(16)]
        self.sections = []
        sect = opt + optsize
        for i in range(nsect):
            _, vsize, va, rawsize, rawptr = struct.unpack_from("<8sIIII", data, sect + 40 * i)
            self.sections.append((va, max(vsize, rawsize), rawptr))

    def at(self, rva):
        for va, size, raw in self.sections:
            if va <= rva < va + size:
                return raw + rva - va
        raise ValueError("RVA 0x%x outside every section" % rva)

    def cstr(self, rva):
        o = self.at(rva)
        return self.data[o:self.data.index(b"\0", o)].decode("ascii")

    def exports(self):
        rva, size = self.dirs[0]
        if not rva:
            return []
        o = self.at(rva)
        nnames = struct.unpack_from("<I", self.data, o + 24)[0]
        names = struct.unpack_from("<I", self.data, o + 32)[0]
        return [self.cstr(struct.unpack_from("<I", self.data, self.at(names) + 4 * i)[0])
                for i in range(nnames)]

    def imports(self):
        rva, _ = self.dirs[1]
        out = []
        o = self.at(rva) if rva else None
        while o is not None:
            name_rva = struct.unpack_from("<I", self.data, o + 12)[0]
            if name_rva == 0:
                break
            out.append(self.cstr(name_rva).lower())
            o += 20
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", choices=MACHINES, required=True)
    ap.add_argument("--subsystem", choices=SUBSYSTEMS)
    ap.add_argument("--export", action="append", default=[])
    ap.add_argument("file")
    a = ap.parse_args()

    pe = PE(open(a.file, "rb").read())
    errors = []
    if pe.machine != MACHINES[a.arch]:
        errors.append("machine 0x%04x, want %s" % (pe.machine, a.arch))
    if pe.magic != MAGIC[a.arch]:
        errors.append("optional header magic 0x%x, want %s" % (pe.magic, "PE32+" if a.arch == "x64" else "PE32"))
    for flag, name in ((DYNAMIC_BASE, "DYNAMIC_BASE (ASLR)"), (NX_COMPAT, "NX_COMPAT (DEP)")):
        if not pe.dllchars & flag:
            errors.append("missing " + name)
    if pe.dllchars & DYNAMIC_BASE and not (pe.dirs[5][0] and pe.dirs[5][1]):
        errors.append("DYNAMIC_BASE without base relocations: ASLR cannot move it")
    if a.arch == "x64" and not pe.dllchars & HIGH_ENTROPY_VA:
        errors.append("missing HIGH_ENTROPY_VA")
    if a.subsystem and pe.subsystem != SUBSYSTEMS[a.subsystem]:
        errors.append("subsystem %d, want %s" % (pe.subsystem, a.subsystem))
    is_dll = bool(pe.characteristics & IMAGE_FILE_DLL)
    if a.export and not is_dll:
        errors.append("not a DLL")
    exports = pe.exports()
    for name in a.export:
        if name not in exports:
            errors.append("export %s missing (has: %s)" % (name, ", ".join(exports) or "none"))
    if not is_dll and exports:
        errors.append("an EXE should export nothing, exports: " + ", ".join(exports[:5]))
    imports = pe.imports()
    foreign = [d for d in imports if d not in SYSTEM_DLLS and not d.startswith("api-ms-win-")]
    if foreign:
        errors.append("imports non-system DLLs: " + ", ".join(foreign))

    kind = "DLL" if is_dll else "EXE"
    print("%s: %s %s, dllchars 0x%04x, subsystem %d, imports %s, exports %s" % (
        a.file, "PE32+" if pe.magic == 0x20B else "PE32", kind, pe.dllchars, pe.subsystem,
        ",".join(imports), ",".join(exports) or "-"))
    for e in errors:
        print("FAIL: " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
