"""Shared by the installer tests (msi.*): reading MSI tables with msiinfo, and reading the
C sources that are the contract the packages must follow: include/xoauthbridge/names.h,
include/xoauthbridge/policy.h and addin/register.c."""

import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys

# Fixed forever (installer/XOAuthBridge.wxs): MajorUpgrade finds installed copies by it.
UPGRADE_CODES = {
    "x64": "{006726C6-11B2-49F4-BBD3-37ACB23250CA}",
    "x86": "{310A4EAE-700B-450D-9F22-4CE770D1518B}",
}
MSIDB_COMPONENT_64BIT = 256
HKLM = 2


class Checks:
    """Collects failures, prints each with a reason, and gives the exit code."""

    def __init__(self, name):
        self.name = name
        self.failures = 0
        self.count = 0

    def check(self, cond, what):
        self.count += 1
        if not cond:
            self.failures += 1
            print("not ok - %s" % what, flush=True)
        return bool(cond)

    def note(self, text):
        print("# %s" % text, flush=True)

    def done(self):
        print("%s: %d checks, %d failed" % (self.name, self.count, self.failures))
        return 1 if self.failures else 0


def die(msg):
    print("FAIL: %s" % msg, flush=True)
    sys.exit(1)


def need_tool(name):
    if not shutil.which(name):
        die("%s is not installed (scripts/install-packages.sh installs msitools and wixl)" % name)


def msi_path(dist, version, arch):
    path = os.path.join(dist, "XOAuthBridge-%s-%s.msi" % (version, arch))
    if not os.path.isfile(path):
        die("%s is missing: it is built by ./build.sh (scripts/build-all.sh runs "
            "scripts/build-msi.sh after the win64 and win32 presets)" % path)
    return path


def msiinfo_export(msi, table):
    """A table as a list of dicts (column name -> text); [] if the table has no rows."""
    out = subprocess.run(["msiinfo", "export", msi, table], check=True,
                         capture_output=True).stdout.decode("utf-8")
    lines = out.replace("\r\n", "\n").split("\n")
    cols = lines[0].split("\t")
    rows = []
    for line in lines[3:]:
        if line == "":
            continue
        rows.append(dict(zip(cols, line.split("\t"))))
    return rows


def msiinfo_tables(msi):
    out = subprocess.run(["msiinfo", "tables", msi], check=True, capture_output=True).stdout
    return set(out.decode("utf-8").split())


def msiinfo_suminfo(msi):
    out = subprocess.run(["msiinfo", "suminfo", msi], check=True, capture_output=True).stdout
    info = {}
    for line in out.decode("utf-8").splitlines():
        k, sep, v = line.partition(": ")
        if sep:
            info[k.strip()] = v.strip()
    return info


def properties(msi):
    return {r["Property"]: r["Value"] for r in msiinfo_export(msi, "Property")}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


_C_STRING = r'"((?:[^"\\]|\\.)*)"'


def c_unescape(s):
    return re.sub(r"\\(.)", r"\1", s)


def c_defines(text):
    """Every '#define NAME "string" ["string" ...]' of a C header (continuations joined)."""
    text = text.replace("\\\n", " ")
    defs = {}
    for m in re.finditer(r'^#define\s+(\w+)\s+((?:L?"(?:[^"\\]|\\.)*"\s*)+)$', text, re.M):
        defs[m.group(1)] = "".join(c_unescape(s) for s in re.findall(_C_STRING, m.group(2)))
    return defs


def names(source):
    defs = c_defines(read(os.path.join(source, "include/xoauthbridge/names.h")))
    for n in ("XB_ADDIN_PROGID", "XB_ADDIN_CLSID_STR", "XB_ADDIN_FRIENDLY",
              "XB_ADDIN_DESCRIPTION", "XB_POLICY_KEY"):
        if n not in defs:
            die("%s not found in include/xoauthbridge/names.h" % n)
    return defs


def policies(source):
    """The entries of xb_policies[] in include/xoauthbridge/policy.h, in order, as dicts
    with value, type ('SZ', 'DWORD' or 'LIST'), section, key, min, max, choices, new_key."""
    path = os.path.join(source, "include/xoauthbridge/policy.h")
    text = re.sub(r"/\*.*?\*/", "", read(path), flags=re.S)
    table = re.search(r"xb_policies\s*\[[^\]]*\]\s*=\s*\{(.*)\};", text, re.S)
    if not table:
        die("xb_policies[] not found in %s" % path)
    entries = []
    for m in re.finditer(r"\[(XB_POL_\w+)\]\s*=\s*\{(.*?)\}", table.group(1), re.S):
        fields = {"id": m.group(1), "choices": None, "new_key": 0, "min": 0}
        for f in re.finditer(r"\.(\w+)\s*=\s*(%s|\w+)" % _C_STRING, m.group(2)):
            raw = f.group(2)
            if raw.startswith('"'):
                fields[f.group(1)] = c_unescape(raw[1:-1])
            elif raw.isdigit():
                fields[f.group(1)] = int(raw)
            else:
                fields[f.group(1)] = raw
        t = fields.get("type")
        if t not in ("XB_POLICY_SZ", "XB_POLICY_DWORD", "XB_POLICY_LIST"):
            die("%s in policy.h: type %r is not XB_POLICY_SZ, XB_POLICY_DWORD or "
                "XB_POLICY_LIST" % (fields["id"], t))
        fields["type"] = t[len("XB_POLICY_"):]
        for k in ("value", "section", "key", "max"):
            if k not in fields:
                die("%s in policy.h has no .%s" % (fields["id"], k))
        entries.append(fields)
    if not entries:
        die("no entries parsed from xb_policies[] in %s" % path)
    return entries


DLL = "<the DLL's own path>"


def register_rows(source, defs):
    """What addin/register.c writes, as a set of (key, name, type, value): type 'sz' or
    'dword', name '' for a key's default value, value DLL for the module's own path.
    Read from the source so that the MSI stays exactly what DllRegisterServer does."""
    path = os.path.join(source, "addin/register.c")
    text = read(path)
    macros = {}
    for m in re.finditer(r"^#define\s+(\w+_KEY)\s+(.+)$", text, re.M):
        macros[m.group(1)] = m.group(2)

    def expr(e):
        out = ""
        for tok in re.finditer(r'L"((?:[^"\\]|\\.)*)"|XB_W\((\w+)\)|(\w+)', e):
            if tok.group(1) is not None:
                out += c_unescape(tok.group(1))
            elif tok.group(2):
                out += defs[tok.group(2)]
            elif tok.group(3) in macros:
                out += expr(macros[tok.group(3)])
            else:
                raise ValueError("cannot evaluate %r in %s" % (tok.group(3), e))
        return out

    rows = set()
    calls = re.findall(r"set_(sz|dword)\(root,\s*([^,]+),\s*(NULL|L\"[^\"]*\"),\s*(.+?)\)\);", text)
    for kind, key, name, value in calls:
        try:
            k = expr(key)
            n = "" if name == "NULL" else expr(name)
            if kind == "dword":
                v = str(int(value, 0))
            elif value.strip() == "path":
                v = DLL
            else:
                v = expr(value)
        except (ValueError, KeyError) as e:
            die("addin/register.c changed shape (%s): update tests/installer/msi_common.py "
                "and the MSI rows in installer/addin-registry.wxi together" % e)
        rows.add((k, n, kind, v))
    if len(rows) < 5:
        die("found only %d registry writes in addin/register.c: its shape changed; update "
            "tests/installer/msi_common.py" % len(rows))
    return rows


def msi_registry_value(value):
    """An MSI Registry.Value as (type, text): '#3' is a DWORD, '#%x' REG_EXPAND_SZ,
    '##x' a string starting with '#'."""
    if value.startswith("##"):
        return "sz", value[1:]
    if value.startswith("#%"):
        return "expand_sz", value[2:]
    if value.startswith("#x"):
        return "binary", value[2:]
    if value.startswith("#"):
        return "dword", str(int(value[1:]))
    return "sz", value


def msi_file_hash(path):
    """A file's MsiFileHash row: its MD5 as four little-endian signed 32-bit numbers."""
    with open(path, "rb") as f:
        return list(struct.unpack("<4i", hashlib.md5(f.read()).digest()))
