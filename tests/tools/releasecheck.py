#!/usr/bin/python3
"""The release check: what ships for Windows carries nothing of the build machine and
every hardening flag (docs/build.md "What ships"). Fails when any of it regresses.

  releasecheck.py --dist DIR --deps-cache DIR --forbid PATH... [--lib FILE...]

Scanned: every PE under DIST (the installed outputs) and inside its MSIs (extracted
with msiextract), and every static library those PEs link (the Windows dependency
builds named by DEPS-CACHE/<triple>/deps.cmake, and --lib). In each, the printable
strings (ASCII and UTF-16LE) must name no Unix path that Windows would resolve on the
current drive (home folders, /etc/ssl, /usr/local/ssl ...) and none of the --forbid
paths (the source tree, the build tree, the dependency cache). Each PE must also have
ASLR with relocations, DEP, (x64) high-entropy ASLR, and import system DLLs only.
"""
import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pecheck import (DYNAMIC_BASE, HIGH_ENTROPY_VA, NX_COMPAT, PE, SYSTEM_DLLS)  # noqa: E402

TRIPLES = ("x86_64-w64-mingw32", "i686-w64-mingw32")
# Unix paths that mean "this machine" or that Windows would look up on the current drive,
# where any user may create folders.
PATTERNS = [
    re.compile(rb"/(?:root|home|Users)/"),
    re.compile(rb"/etc/(?:ssl|pki|ca-certificates)"),
    re.compile(rb"/usr/(?:local/)?(?:ssl|lib/ssl|share/ca-certificates|share/ssl)"),
    re.compile(rb"/(?:var|opt)/[A-Za-z]"),
    re.compile(rb"\.cache/xoauthbridge"),
    re.compile(rb"ca-(?:certificates|bundle)\.crt"),
]
MIN_RUN = 5


def strings(data):
    """Printable runs, ASCII and UTF-16LE (as ASCII bytes)."""
    for m in re.finditer(rb"[\x20-\x7e]{%d,}" % MIN_RUN, data):
        yield m.group(0)
    for m in re.finditer(rb"(?:[\x20-\x7e]\x00){%d,}" % MIN_RUN, data):
        yield m.group(0)[::2]


def scan(path, forbid):
    data = Path(path).read_bytes()
    hits = set()
    for s in strings(data):
        for p in PATTERNS:
            if p.search(s):
                hits.add(s.decode("ascii", "replace")[:160])
        for f in forbid:
            if f in s:
                hits.add(s.decode("ascii", "replace")[:160])
    return sorted(hits)


def check_pe(path):
    pe = PE(Path(path).read_bytes())
    errors = []
    x64 = pe.magic == 0x20B
    if not pe.dllchars & DYNAMIC_BASE:
        errors.append("no DYNAMIC_BASE (ASLR)")
    if not pe.dirs[5][0] or not pe.dirs[5][1]:
        errors.append("no base relocations: ASLR cannot move it")
    if not pe.dllchars & NX_COMPAT:
        errors.append("no NX_COMPAT (DEP)")
    if x64 and not pe.dllchars & HIGH_ENTROPY_VA:
        errors.append("no HIGH_ENTROPY_VA")
    foreign = [d for d in pe.imports() if d not in SYSTEM_DLLS and not d.startswith("api-ms-win-")]
    if foreign:
        errors.append("imports non-system DLLs: " + ", ".join(foreign))
    return errors


def dep_libs(cache):
    libs = []
    for t in TRIPLES:
        f = Path(cache) / t / "deps.cmake"
        if not f.exists():
            raise SystemExit(f"releasecheck: {f} is missing: build the Windows dependencies first")
        m = re.search(r'set\(XB_DEPS_PREFIXES "([^"]*)"\)', f.read_text())
        for prefix in (m.group(1).split(";") if m else []):
            libs += sorted(Path(prefix).glob("lib/*.a"))
    return libs


def selftest(dist):
    """The check can fail: a copy of a shipped PE with the 0.1 kind of string appended and
    one with ASLR switched off are both caught."""
    import struct
    src = sorted(Path(dist).glob("win64/*.exe"))
    if not src:
        print(f"FAIL: no PE under {dist}/win64")
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="xb-release-self-"))
    try:
        planted = tmp / "planted.exe"
        planted.write_bytes(src[0].read_bytes() + b"\0OPENSSLDIR: \"/root/.cache/xoauthbridge/deps/"
                            b"x86_64-w64-mingw32/openssl-3.0+xb1/ssl\"\0/etc/ssl/certs\0")
        data = bytearray(src[0].read_bytes())
        off = struct.unpack_from("<I", data, 0x3C)[0] + 24 + 70   # DllCharacteristics
        struct.pack_into("<H", data, off, struct.unpack_from("<H", data, off)[0] & ~DYNAMIC_BASE)
        noaslr = tmp / "noaslr.exe"
        noaslr.write_bytes(bytes(data))
        found = scan(planted, [b"/root/.cache/xoauthbridge"])
        flags = check_pe(noaslr)
        ok = (any("OPENSSLDIR" in h for h in found) and any("/etc/ssl" in h for h in found)
              and any("DYNAMIC_BASE" in e for e in flags) and not check_pe(src[0]))
        print("selftest:", "ok" if ok else "FAIL", found, flags)
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if "--selftest" in sys.argv:
        return selftest(sys.argv[sys.argv.index("--dist") + 1])
    ap = argparse.ArgumentParser()
    ap.add_argument("--dist", required=True)
    ap.add_argument("--deps-cache", required=True)
    ap.add_argument("--forbid", action="append", default=[])
    ap.add_argument("--lib", action="append", default=[])
    a = ap.parse_args()
    forbid = [f.encode() for f in a.forbid if f]

    dist = Path(a.dist)
    pes = sorted(p for p in dist.rglob("*") if p.suffix.lower() in (".exe", ".dll"))
    msis = sorted(dist.glob("*.msi"))
    if not pes or not msis:
        print(f"FAIL: no PEs or no MSIs under {dist}: build everything first (build-all.sh)")
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="xb-release-"))
    failures = 0
    try:
        for msi in msis:
            out = tmp / msi.stem
            out.mkdir()
            subprocess.run(["msiextract", "-C", str(out), str(msi)], check=True,
                           capture_output=True)
            inside = sorted(p for p in out.rglob("*") if p.suffix.lower() in (".exe", ".dll"))
            if not inside:
                print(f"FAIL: {msi.name}: no PE inside")
                failures += 1
            pes += inside
        for pe in pes:
            name = str(pe.relative_to(tmp)) if tmp in pe.parents else str(pe)
            problems = check_pe(pe) + ["names " + h for h in scan(pe, forbid)]
            for p in problems:
                print(f"FAIL: {name}: {p}")
            failures += bool(problems)
            if not problems:
                print(f"ok: {name}")
        libs = dep_libs(a.deps_cache) + [Path(x) for x in a.lib]
        for lib in libs:
            hits = scan(lib, forbid)
            for h in hits:
                print(f"FAIL: {lib}: names {h}")
            failures += bool(hits)
            if not hits:
                print(f"ok: {lib}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"releasecheck: {len(pes)} PEs and {len(libs)} libraries, {failures} with problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
