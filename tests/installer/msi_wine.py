#!/usr/bin/python3
"""msi.wine: the x64 MSI installed, upgraded and removed by Wine's msiexec.

In a fresh Wine prefix (WORK/prefix, made by wineboot -i):
  1. snapshot: the files under C:\\ and registry exports of HKLM\\Software (64- and 32-bit
     views), the Event Log key and HKCU\\Software;
  2. the x86 MSI refuses to install on 64-bit Windows;
  3. msiexec /i XOAuthBridge-<v>-x64.msi /qn: the files in Program Files are those of
     dist/, the keys are in both registry views, nothing under HKCU, the add-in is created
     by CLSID (test_addin_host --installed), the companion runs (--version);
  4. an Outlook account bridged in this user's profile, set up by hand in the add-in's
     documented format (docs/addin.md); then a package of the next patch version, built
     into WORK/next-1 by scripts/build-msi.sh, upgrades in place: one product registered,
     new version; a rebuild of that version (new ProductCode, WORK/next-2) replaces it too.
     On Windows the action's condition (REMOVE="ALL" AND NOT UPGRADINGPRODUCTCODE, checked
     by msi.tables) skips the restore during an upgrade. Under Wine the old package's
     removal runs without UPGRADINGPRODUCTCODE, so its restore runs: the test notes the
     quirk, checks that this restore put the account back whole (original server, saved
     copy gone), and bridges the account again before the uninstall check. Then the older
     package refuses to downgrade;
  5. msiexec /x: the snapshot again, compared with step 1: everything is gone, and the
     bridged Outlook account is back as it was, byte for byte, by the uninstall's
     `restore --all`, its saved copy gone. Another user of the PC (mika: a made-up SID in
     ProfileList, her NTUSER.DAT made from this prefix's HKCU with the account bridged,
     by hivetool), signed in during the removal (her hive loaded as HKEY_USERS\<SID>),
     has her account back too, by the second action, `restore --all-users`: Wine's
     msiexec runs that action as the same user, not as SYSTEM, and a hive loaded and
     unloaded again under Wine loses what was written to it, so the users who are not
     signed in are tested by win64.restore.all_users, not here.

Wine's menu integration writes .desktop files under $HOME, so HOME and XDG_* point into
WORK as well. Wine quirks met (and allowed, each printed as it is met):
  - ProgramMenuFolder is the per-user Start menu even when ALLUSERS=1;
  - a major upgrade removes the old package without UPGRADINGPRODUCTCODE, so its
    uninstall restore runs (step 4);
  - at uninstall Wine's msi also deletes EMPTY parent keys that existed before (e.g.
    EventLog\\Application in a new prefix, where it has no other sources);
  - Windows Installer's own bookkeeping keys (Installer\\UpgradeCodes ...) and the
    C:\\windows\\Installer cache folder stay behind, empty, as on Windows.

  msi_wine.py --source DIR --dist DIR --version X.Y.Z --work DIR --host test_addin_host.exe
              --hivetool hivetool.exe
"""
import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import msi_common as mc  # noqa: E402

INSTALL_DIR = "C:\\Program Files\\XOAuth Bridge"
RUN_KEY = "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run"
EVENT_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\XOAuthBridge"
UNINSTALL_KEY = "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall"
# Windows Installer's own records: empty keys may stay after the last product is gone.
MSI_BOOKKEEPING = ("HKEY_LOCAL_MACHINE\\Software\\Classes\\Installer",
                   "HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Installer")
# Wine's own records of the menu entries it made for the shortcut (not the package's).
WINE_OWN = ("HKEY_CURRENT_USER\\Software\\Wine\\MenuFiles",)
SNAPSHOT_KEYS = (
    ("hklm64", "HKLM\\Software", "64"),
    ("hklm32", "HKLM\\Software", "32"),
    ("eventlog", "HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog", "64"),
    ("hkcu", "HKCU\\Software", "64"),
)


class Wine:
    def __init__(self, work):
        self.work = work
        self.prefix = os.path.join(work, "prefix")
        home = os.path.join(work, "home")
        self.env = dict(os.environ)
        self.env.update({
            "WINEPREFIX": self.prefix, "WINEDEBUG": "-all",
            "WINEDLLOVERRIDES": "mscoree,mshtml=,winemenubuilder.exe=d",
            "HOME": home, "XDG_CONFIG_HOME": os.path.join(home, ".config"),
            "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
            "XDG_CACHE_HOME": os.path.join(home, ".cache"),
        })

    def run(self, *argv, timeout=180):
        # Output goes through files, not pipes: the wineserver and Wine's services that a
        # command starts inherit them and outlive it, so a pipe would not close.
        t = time.monotonic()
        with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
            p = subprocess.run(list(argv), env=self.env, stdin=subprocess.DEVNULL,
                               stdout=fo, stderr=fe, timeout=timeout)
            fo.seek(0)
            fe.seek(0)
            out = fo.read().decode("utf-8", "replace").replace("\r\n", "\n")
            err = fe.read().decode("utf-8", "replace").replace("\r\n", "\n")
        return p.returncode, out, err, time.monotonic() - t

    def wine(self, *argv, timeout=180):
        return self.run("wine", *argv, timeout=timeout)

    def fresh(self):
        self.stop()
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.env["HOME"])
        rc, out, err, secs = self.run("wineboot", "-i", timeout=300)
        self.run("wineserver", "-w", timeout=300)
        if not os.path.isfile(os.path.join(self.prefix, "system.reg")):
            mc.die("wineboot made no prefix in %s (rc %d): %s" % (self.prefix, rc, err[-2000:]))
        # One server for the whole test: each wine command would otherwise start one and
        # its services again. msiexec returns when the installation has finished.
        self.run("wineserver", "-p", timeout=60)
        return secs

    def stop(self):
        self.run("wineserver", "-k")  # this prefix's server only (WINEPREFIX)

    def msiexec(self, *args):
        """msiexec with a verbose log; returns its exit code (Wine gives it modulo 256)."""
        log = os.path.join(self.work, "msiexec-%d.log" % int(time.monotonic() * 1000))
        rc, out, err, secs = self.wine("msiexec", *args, "/qn", "/l*v", winpath(log))
        return rc, log, secs

    def reg_query(self, key, view, value=None):
        """{name: (type, data)} of one key, or None if the key is not there."""
        argv = ["reg", "query", key, "/reg:%s" % view]
        if value is not None:
            argv += ["/v", value]
        rc, out, err, _ = self.wine(*argv)
        if rc != 0 and not out.strip() and not err.strip():
            # Wine's reg.exe has exited 1 without a word on a loaded machine (seen in
            # full runs; a key that is not there says so): once more.
            time.sleep(1)
            rc, out, err, _ = self.wine(*argv)
        if rc != 0:
            return None
        values = {}
        for line in out.split("\n"):
            m = re.match(r"^    (.*?)    (REG_\w+)    ?(.*)$", line)
            if m:
                values[m.group(1)] = (m.group(2), m.group(3))
        return values


# --- an Outlook account, and the add-in's saved copy of it (docs/addin.md) -----------------
OL_ACCOUNT = ("HKCU\\Software\\Microsoft\\Office\\16.0\\Outlook\\Profiles\\Outlook\\"
              "9375CFF0413111d3B88A00104B2A6676\\00000001")
OL_SAVED = "HKCU\\Software\\XOAuthBridge\\Outlook\\2016\\Outlook\\00000001"


def utf16z(text):
    return (text + "\0").encode("utf-16-le").hex()


# name -> (type, data for reg add): the account as Outlook wrote it.
OL_ORIGINAL = {
    "clsid": ("REG_SZ", "{ED475411-B0D6-11D2-8C3B-00104B2A6676}"),
    "Account Name": ("REG_BINARY", utf16z("taro@example.ac.jp")),
    "Email": ("REG_BINARY", utf16z("taro@example.ac.jp")),
    "POP3 Server": ("REG_BINARY", utf16z("pop.gmail.com")),
    "POP3 Port": ("REG_DWORD", "995"),
    "POP3 Use SSL": ("REG_DWORD", "1"),
}
# What bridging changed ("SMTP Use Auth" did not exist before: restore deletes it).
OL_BRIDGED = {
    "POP3 Server": ("REG_BINARY", utf16z("127.0.0.1")),
    "POP3 Port": ("REG_DWORD", "40110"),
    "POP3 Use SSL": ("REG_DWORD", "0"),
    "SMTP Use Auth": ("REG_DWORD", "1"),
}


def reg_add(wine, key, name, typ, data):
    rc, out, err, _ = wine.wine("reg", "add", key, "/v", name, "/t", typ, "/d", data, "/f")
    if rc != 0:
        mc.die("reg add %s\\%s failed: %s" % (key, name, err))


def make_outlook_account(wine):
    for name, (typ, data) in OL_ORIGINAL.items():
        reg_add(wine, OL_ACCOUNT, name, typ, data)


def bridge_outlook_account(wine):
    """What the add-in leaves after bridging: the copy first, the state last."""
    for name, (typ, data) in OL_ORIGINAL.items():
        reg_add(wine, OL_SAVED + "\\Original", name, typ, data)
    reg_add(wine, OL_SAVED, "Touched", "REG_MULTI_SZ", "\\0".join(OL_BRIDGED))
    reg_add(wine, OL_SAVED, "Email", "REG_SZ", "taro@example.ac.jp")
    reg_add(wine, OL_SAVED, "Kind", "REG_DWORD", "1")
    reg_add(wine, OL_SAVED, "State", "REG_DWORD", "1")
    for name, (typ, data) in OL_BRIDGED.items():
        reg_add(wine, OL_ACCOUNT, name, typ, data)
    reg_add(wine, OL_SAVED, "State", "REG_DWORD", "2")


# --- another user of the PC, signed in while the package is removed --------------------------
OTHER_SID = "S-1-5-21-1111-2222-3333-1001"
OTHER_DIR = "C:\\users\\mika"
PROFILE_LIST = "HKLM\\Software\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList"
OTHER_ACCOUNT = "HKU\\" + OTHER_SID + OL_ACCOUNT[len("HKCU"):]
OTHER_SAVED = "HKU\\" + OTHER_SID + "\\Software\\XOAuthBridge"


def make_other_user(wine, hivetool):
    """mika's NTUSER.DAT: this prefix's HKCU with the account bridged, saved whole; then
    HKCU as it was (the account as Outlook wrote it, no saved copy)."""
    bridge_outlook_account(wine)
    os.makedirs(os.path.join(wine.prefix, "drive_c", "users", "mika"), exist_ok=True)
    for argv in ((hivetool, "save", OTHER_DIR + "\\NTUSER.DAT"),
                 ("reg", "delete", "HKCU\\Software\\XOAuthBridge", "/f"),
                 ("reg", "delete", OL_ACCOUNT, "/f")):
        rc, out, err, _ = wine.wine(*argv)
        if rc != 0:
            mc.die("%s: exit %d: %s" % (" ".join(argv), rc, err))
    make_outlook_account(wine)
    reg_add(wine, PROFILE_LIST + "\\" + OTHER_SID, "ProfileImagePath", "REG_EXPAND_SZ", OTHER_DIR)


def outlook_server(wine, key=OL_ACCOUNT):
    values = wine.reg_query(key, "64", "POP3 Server") or {}
    typ, data = values.get("POP3 Server", (None, ""))
    try:
        return bytes.fromhex(data).decode("utf-16-le").rstrip("\0")
    except ValueError:
        return None


def winpath(path):
    return "Z:" + os.path.abspath(path).replace("/", "\\")


def read_log(path):
    """An msiexec /l*v log (UTF-16 with a BOM on Windows, plain text from Wine)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    return data.decode("utf-8", "replace")


def stopped_by_launch_condition(log):
    """The installation ended in LaunchConditions, before any file was copied. (Wine's log
    does not carry the condition's message; it ends the action with "Return value 0".)"""
    return (re.search(r"Action ended [0-9:]+: LaunchConditions\. Return value 0\.", log) is not None
            and "InstallFiles" not in log)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def parse_reg_export(path):
    """A regedit export as {key: frozenset(value lines)}."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-16")
    keys = {}
    cur = None
    pending = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if pending or (cur is not None and line.startswith(("\"", "@"))):
            pending += line.strip()
            if pending.endswith("\\"):
                pending = pending[:-1]
                continue
            keys[cur].add(pending)
            pending = ""
        elif line.startswith("[") and line.endswith("]"):
            cur = line[1:-1]
            keys[cur] = set()
    return {k: frozenset(v) for k, v in keys.items()}


class Snapshot:
    def __init__(self, wine, label):
        d = os.path.join(wine.work, "snapshot-" + label)
        os.makedirs(d, exist_ok=True)
        self.reg = {}
        for name, key, view in SNAPSHOT_KEYS:
            out = os.path.join(d, name + ".reg")
            rc, _, err, _ = wine.wine("reg", "export", key, winpath(out), "/reg:" + view, "/y")
            if rc != 0 or not os.path.isfile(out):
                mc.die("wine reg export %s /reg:%s failed: %s" % (key, view, err))
            self.reg[name] = parse_reg_export(out)
        drive = os.path.join(wine.prefix, "drive_c")
        self.files = set()
        for root, dirs, files in os.walk(drive):
            for n in dirs + files:
                rel = os.path.relpath(os.path.join(root, n), drive)
                if not is_temp(rel):
                    self.files.add(rel)


def is_temp(rel):
    low = rel.lower()
    return low.startswith("windows/temp/") or re.match(r"users/[^/]+/appdata/local/temp/", low)


def compare(c, before, after, during):
    """Everything the install added is gone after the uninstall, and nothing else changed."""
    for name, _, view in SNAPSHOT_KEYS:
        b, a, d = before.reg[name], after.reg[name], during.reg[name]
        touched = [k for k in d if d[k] != b.get(k)]  # keys the install added or wrote to
        problems = []
        for k in sorted(set(a) - set(b)):
            if k.startswith(WINE_OWN):
                # winemenubuilder runs on its own schedule: whether its record exists before
                # the snapshot depends on timing, and it is Wine's, not the package's.
                c.note("Wine's own records appeared: [%s] (menu entries for the shortcut)" % k)
            elif not (not a[k] and k.startswith(MSI_BOOKKEEPING)):
                problems.append("left behind: [%s] %s" % (k, sorted(a[k])))
        for k in sorted(set(b) - set(a)):
            low = k.lower()
            if not b[k] and any(t.lower() == low or t.lower().startswith(low + "\\")
                                for t in touched):
                c.note("Wine quirk: msiexec /x also deleted the key [%s] (%s-bit view), empty "
                       "before the install, that the install had written into" % (k, view))
            else:
                problems.append("lost: [%s]" % k)
        for k in sorted(set(a) & set(b)):
            if a[k] != b[k] and k.startswith(WINE_OWN):
                c.note("Wine's own records changed: [%s] (menu entries for the shortcut)" % k)
            elif a[k] != b[k]:
                problems.append("changed: [%s] before %s, after %s"
                                % (k, sorted(b[k] - a[k]), sorted(a[k] - b[k])))
        c.check(not problems, "registry %s (%s-bit view) after uninstall is as before install%s"
                % (name, view, "".join("\n#   " + p for p in problems)))
    # The add-in, loaded by test_addin_host, logged as it does in Outlook: that is the
    # person's data (uninstall leaves it, docs/deployment.md), not the package's.
    runtime = re.compile(r"^users/[^/]+/AppData/Local/XOAuthBridge(/logs(/addin\.log)?)?$")
    ran = sorted(f for f in after.files - before.files if runtime.match(f))
    if ran:
        c.note("per-user data of the add-in's run, left as uninstall leaves it: %s" % ran)
    added = sorted(f for f in after.files - before.files
                   if f != "windows/Installer" and not runtime.match(f))
    lost = sorted(before.files - after.files)
    c.check(not added and not lost, "files under C:\\ after uninstall are as before install%s%s"
            % ("".join("\n#   left behind: C:/" + f for f in added),
               "".join("\n#   lost: C:/" + f for f in lost)))
    installed = sorted(f for f in during.files - before.files
                       if not f.startswith(("Program Files/XOAuth Bridge", "windows/Installer"))
                       and not runtime.match(f)
                       and not f.endswith("/Start Menu/Programs/XOAuth Bridge.lnk"))
    c.check(not installed, "the install wrote files only to Program Files\\XOAuth Bridge, "
            "the Start menu and the Installer cache%s" % "".join("\n#   C:/" + f for f in installed))


def products(wine):
    """{ProductCode: DisplayVersion} of every installed product named XOAuth Bridge."""
    rc, out, _, _ = wine.wine("reg", "query", UNINSTALL_KEY, "/s", "/reg:64")
    found, cur = {}, None
    for line in out.split("\n"):
        if line.startswith("HKEY_"):
            cur = line.rsplit("\\", 1)[-1]
            continue
        m = re.match(r"^    (DisplayName|DisplayVersion)    REG_SZ    (.*)$", line)
        if m and cur:
            found.setdefault(cur, {})[m.group(1)] = m.group(2)
    return {k: v.get("DisplayVersion") for k, v in found.items()
            if v.get("DisplayName") == "XOAuth Bridge"}


def packed_guid(guid):
    """How Windows Installer writes a GUID as a registry key name."""
    h = guid.strip("{}").replace("-", "")
    return (h[0:8][::-1] + h[8:12][::-1] + h[12:16][::-1]
            + "".join(h[i:i + 2][::-1] for i in range(16, 32, 2))).upper()


def related_products(wine, arch):
    key = "HKLM\\Software\\Classes\\Installer\\UpgradeCodes\\" + packed_guid(mc.UPGRADE_CODES[arch])
    values = wine.reg_query(key, "64")
    return set(values or {})


def check_installed(c, wine, args, defs, version, label):
    """Files, registry in both views, no HKCU, one product of this version."""
    drive = os.path.join(wine.prefix, "drive_c")
    inst = os.path.join(drive, "Program Files", "XOAuth Bridge")
    for name, tree in (("xoauthbridge.exe", "win64"), ("xoauthbridge-addin64.dll", "win64"),
                       ("xoauthbridge-addin32.dll", "win32")):
        path = os.path.join(inst, name)
        c.check(os.path.isfile(path) and sha256(path) == sha256(os.path.join(args.dist, tree, name)),
                "%s: %s\\%s is dist/%s/%s (if it differs, the MSI is older than dist/: "
                "run scripts/build-msi.sh)" % (label, INSTALL_DIR, name, tree, name))
    c.check(not os.path.exists(os.path.join(drive, "Program Files (x86)", "XOAuth Bridge")),
            "%s: nothing in Program Files (x86): both DLLs share one folder" % label)
    lnk_common = os.path.join(drive, "ProgramData", "Microsoft", "Windows", "Start Menu",
                              "Programs", "XOAuth Bridge.lnk")
    lnk_user = [os.path.join(drive, "users", u, "AppData", "Roaming", "Microsoft", "Windows",
                             "Start Menu", "Programs", "XOAuth Bridge.lnk")
                for u in os.listdir(os.path.join(drive, "users"))]
    lnk = [p for p in [lnk_common] + lnk_user if os.path.isfile(p)]
    c.check(len(lnk) == 1, "%s: one Start menu shortcut (%s)" % (label, lnk))
    if lnk and lnk[0] != lnk_common:
        c.note("Wine quirk: the shortcut is in the per-user Start menu (%s): Wine resolves "
               "ProgramMenuFolder per user even with ALLUSERS=1" % os.path.relpath(lnk[0], drive))

    clsid = defs["XB_ADDIN_CLSID_STR"]
    progid = defs["XB_ADDIN_PROGID"]
    for view, dll in (("64", "xoauthbridge-addin64.dll"), ("32", "xoauthbridge-addin32.dll")):
        base = "HKLM\\Software\\Classes\\CLSID\\" + clsid
        ips = wine.reg_query(base + "\\InprocServer32", view) or {}
        c.check(ips.get("(Default)") == ("REG_SZ", INSTALL_DIR + "\\" + dll),
                "%s: %s-bit view: InprocServer32 is %s (got %s)" % (label, view, dll, ips.get("(Default)")))
        c.check(ips.get("ThreadingModel") == ("REG_SZ", "Apartment"),
                "%s: %s-bit view: ThreadingModel Apartment" % (label, view))
        pid = wine.reg_query(base + "\\ProgID", view) or {}
        c.check(pid.get("(Default)") == ("REG_SZ", progid), "%s: %s-bit view: ProgID" % (label, view))
        pc = wine.reg_query("HKLM\\Software\\Classes\\%s\\CLSID" % progid, view) or {}
        c.check(pc.get("(Default)") == ("REG_SZ", clsid), "%s: %s-bit view: ProgID -> CLSID" % (label, view))
        addin = wine.reg_query("HKLM\\Software\\Microsoft\\Office\\Outlook\\Addins\\" + progid, view) or {}
        c.check(addin.get("LoadBehavior") == ("REG_DWORD", "0x3")
                and addin.get("FriendlyName") == ("REG_SZ", defs["XB_ADDIN_FRIENDLY"])
                and addin.get("Description") == ("REG_SZ", defs["XB_ADDIN_DESCRIPTION"]),
                "%s: %s-bit view: Outlook Addins\\%s (got %s)" % (label, view, progid, addin))
    run64 = wine.reg_query(RUN_KEY, "64", "XOAuthBridge") or {}
    c.check(run64.get("XOAuthBridge") ==
            ("REG_SZ", '"%s\\xoauthbridge.exe" tray --autostart' % INSTALL_DIR),
            "%s: Run\\XOAuthBridge starts the companion at logon (got %s)" % (label, run64))
    c.check(wine.reg_query(RUN_KEY, "32", "XOAuthBridge") is None,
            "%s: no second Run value in the 32-bit view" % label)
    ev = wine.reg_query(EVENT_KEY, "64") or {}
    c.check(ev.get("EventMessageFile") == ("REG_EXPAND_SZ", INSTALL_DIR + "\\xoauthbridge.exe")
            and ev.get("TypesSupported") == ("REG_DWORD", "0x7"),
            "%s: Event Log source (got %s)" % (label, ev))
    for key in ("HKCU\\Software\\Classes\\CLSID\\" + clsid,
                "HKCU\\Software\\Microsoft\\Office\\Outlook\\Addins\\" + progid):
        c.check(wine.reg_query(key, "64") is None, "%s: nothing per user: %s absent" % (label, key))

    prods = products(wine)
    c.check(len(prods) == 1 and list(prods.values()) == [version],
            "%s: one product XOAuth Bridge %s registered (got %s)" % (label, version, prods))
    return prods


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--dist", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--hivetool", required=True)
    args = ap.parse_args()
    for tool in ("wine", "wineboot", "wineserver", "msiinfo", "wixl"):
        mc.need_tool(tool)
    msi64 = mc.msi_path(args.dist, args.version, "x64")
    msi86 = mc.msi_path(args.dist, args.version, "x86")
    for exe in (args.host, args.hivetool):
        if not os.path.isfile(exe):
            mc.die("%s is missing: build the win64 preset (cmake --build build/win64)" % exe)
    c = mc.Checks("msi.wine")
    wine = Wine(os.path.abspath(args.work))
    t0 = time.monotonic()
    try:
        scenario(c, wine, args, msi64, msi86)
    finally:
        wine.stop()  # the persistent wineserver of this prefix, also after a failure
    if not c.failures:
        # The prefix is some 700 MB; logs and registry snapshots stay for a look.
        shutil.rmtree(wine.prefix, ignore_errors=True)
    c.note("msi.wine took %.1f s" % (time.monotonic() - t0))
    return c.done()


def scenario(c, wine, args, msi64, msi86):
    defs = mc.names(args.source)

    c.note("fresh prefix %s: wineboot -i took %.1f s" % (wine.prefix, wine.fresh()))
    make_outlook_account(wine)
    make_other_user(wine, args.hivetool)
    before = Snapshot(wine, "before")

    rc, log, secs = wine.msiexec("/i", winpath(msi86))
    c.check(rc != 0 and not products(wine) and stopped_by_launch_condition(read_log(log)),
            "the x86 MSI refuses 64-bit Windows by its launch condition (exit %d, 1603 mod 256 "
            "= 67 expected): log %s" % (rc, log))

    rc, log, secs = wine.msiexec("/i", winpath(msi64))
    c.note("install %s: exit %d in %.1f s" % (os.path.basename(msi64), rc, secs))
    if not c.check(rc == 0, "msiexec /i %s succeeds (log %s)" % (msi64, log)):
        return
    prods = check_installed(c, wine, args, defs, args.version, "installed")
    first_code = mc.properties(msi64)["ProductCode"]
    c.check(set(prods) == {first_code}, "the installed product is the package's ProductCode")
    c.check(related_products(wine, "x64") == {packed_guid(first_code)},
            "Windows Installer relates the UpgradeCode to this product only")

    rc, out, err, secs = wine.wine(args.host, "--installed", INSTALL_DIR + "\\xoauthbridge-addin64.dll")
    sys.stdout.write(out)
    c.check(rc == 0, "test_addin_host --installed: the add-in is created by CLSID (exit %d) %s"
            % (rc, err.strip()))
    rc, out, err, secs = wine.wine(INSTALL_DIR + "\\xoauthbridge.exe", "--version")
    c.check(rc == 0 and out.startswith("xoauthbridge %s (windows x64)" % args.version),
            "the installed companion runs: %r" % out.split("\n")[0])
    during = Snapshot(wine, "installed")
    # The add-in, at work for this user (after the snapshot: compare() expects only the
    # package's own keys in it).
    bridge_outlook_account(wine)
    c.check(outlook_server(wine) == "127.0.0.1", "the Outlook account is bridged (set-up)")

    # --- upgrade in place, by a newer package built for this test ---
    major, minor, patch = args.version.split(".")
    newer = "%s.%s.%d" % (major, minor, int(patch) + 1)
    for n in (1, 2):
        out_dir = os.path.join(wine.work, "next-%d" % n)
        p = subprocess.run([os.path.join(args.source, "scripts", "build-msi.sh"), "--version",
                            newer, "--out", out_dir, "--arch", "x64"], capture_output=True)
        if not c.check(p.returncode == 0, "build-msi.sh --version %s: %s"
                       % (newer, p.stderr.decode()[-2000:])):
            return
        msi_next = os.path.join(out_dir, "XOAuthBridge-%s-x64.msi" % newer)
        code = mc.properties(msi_next)["ProductCode"]
        rc, log, secs = wine.msiexec("/i", winpath(msi_next))
        what = "upgrade to %s" % newer if n == 1 else "same-version rebuild of %s" % newer
        c.note("%s: exit %d in %.1f s" % (what, rc, secs))
        c.check(rc == 0, "%s installs (log %s)" % (what, log))
        prods = check_installed(c, wine, args, defs, newer, what)
        c.check(set(prods) == {code}, "%s replaced the product: %s is now %s" % (what, code, prods))
        c.check(related_products(wine, "x64") == {packed_guid(code)},
                "%s: one product for the UpgradeCode" % what)
    if outlook_server(wine) != "127.0.0.1":
        # Windows runs the old package's removal with UPGRADINGPRODUCTCODE set, and the
        # action's condition (checked by msi.tables) skips it; Wine's RemoveExistingProducts
        # runs `msiexec /i {old} REMOVE=ALL` without it, so the old package restored.
        c.note("Wine quirk: the upgrade's removal of the old package ran without "
               "UPGRADINGPRODUCTCODE, so its restore ran (on Windows the condition "
               "REMOVE=\"ALL\" AND NOT UPGRADINGPRODUCTCODE skips it); bridging again")
        c.check(outlook_server(wine) == "pop.gmail.com" and wine.reg_query(OL_SAVED, "64") is None,
                "that restore put the account back whole and dropped the saved copy")
        bridge_outlook_account(wine)
    rc, log, secs = wine.msiexec("/i", winpath(msi64))
    text = read_log(log)
    c.check(rc != 0 and set(products(wine)) == {code} and stopped_by_launch_condition(text)
            and re.search(r"Property\(S\): WIX_DOWNGRADE_DETECTED = \{", text),
            "the older %s refuses to replace %s (exit %d, log %s)" % (args.version, newer, rc, log))

    # --- uninstall removes everything ---
    rc, out, err, _ = wine.wine(args.hivetool, "load", OTHER_SID, OTHER_DIR + "\\NTUSER.DAT")
    c.check(rc == 0 and outlook_server(wine, OTHER_ACCOUNT) == "127.0.0.1",
            "mika signs in: her hive is loaded, her Outlook account bridged (%s)" % err.strip())
    rc, log, secs = wine.msiexec("/x", code)
    c.note("uninstall: exit %d in %.1f s" % (rc, secs))
    c.check(rc == 0, "msiexec /x %s succeeds (log %s)" % (code, log))
    c.check(not products(wine), "no product left")
    c.check(outlook_server(wine) == "pop.gmail.com",
            "the uninstall put the Outlook account back (POP3 Server %r)" % outlook_server(wine))
    c.check(wine.reg_query(OL_SAVED, "64") is None, "the saved copy is gone")
    mine = wine.reg_query(OL_ACCOUNT, "64")
    hers = wine.reg_query(OTHER_ACCOUNT, "64")
    her_saved = wine.reg_query(OTHER_SAVED, "64")
    differ = sorted(k for k in set(mine or {}) | set(hers or {})
                    if (mine or {}).get(k) != (hers or {}).get(k))
    c.check(mine and hers == mine and her_saved is None,
            "RestoreAllUsersOutlookAccounts (restore --all-users) put mika's account back as it "
            "was, in place in her signed-in hive, and dropped her saved copy (POP3 Server %r; "
            "mine read: %s, hers read: %s, values that differ: %s, her saved copy: %s)"
            % (outlook_server(wine, OTHER_ACCOUNT), mine is not None, hers is not None, differ,
               "gone" if her_saved is None else sorted(her_saved)))
    wine.wine(args.hivetool, "unload", OTHER_SID)
    after = Snapshot(wine, "after")
    compare(c, before, after, during)



if __name__ == "__main__":
    sys.exit(main())
