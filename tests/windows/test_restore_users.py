"""`xoauthbridge restore --all-users` under Wine: every local profile put back (issue 17,
part 4: undo at scale; docs/deployment.md, "Roll back or uninstall").

The world, in a Wine prefix of its own:
  - three users besides the prefix's own, each with a made-up SID in ProfileList and a
    profile folder C:\\users\\<name> holding NTUSER.DAT. Each hive is made in this
    prefix's HKCU: Outlook profiles written by olprof (Gmail POP3, Gmail IMAP and a
    non-Gmail account; hana in the 2016 and the 2010 layout, ken 2016, aki 2013),
    bridged by the add-in's own code (hivetool bridge: olbridge.c, saved copy first),
    then HKCU saved whole into the user's NTUSER.DAT (RegSaveKey) and cleared again;
  - hana and ken are not signed in: their hives are loaded from NTUSER.DAT; aki is
    "signed in": her hive is loaded as HKEY_USERS\\<SID> before the run, as Windows does
    at sign-in, and is restored in place (docs/decisions.md says why not at her next
    sign-in);
  - ProfileList also holds LocalSystem (never counted), a profile whose folder has no
    NTUSER.DAT and a ".bak" entry (both skipped).

Wine 8 has RegLoadKey, RegUnLoadKey and RegSaveKey (its own text format of hives), but
its RegUnLoadKey drops what was written to a loaded hive instead of writing it to the
file. So the program's own run is checked by what it says (exit code, summary, log and
Event Log lines, the pending list in HKLM) and by aki's hive, which stays loaded; the
hives that were loaded and unloaded are looked into by `hivetool restore-all-users`,
which runs the very same restore (restore_users.c) and saves each hive (RegSaveKey)
before it is unloaded. Every Outlook profile is compared, value by value and byte for
byte, with what it was before bridging, and the saved copies must be gone.

Then: a damaged hive (garbage in ken's NTUSER.DAT) is logged with its folder and
Windows' words, the other profiles are still restored, the exit code is 1 and the
profile is listed as pending; once the file is good again the next run restores it and
the list is gone. A hive an earlier run left loaded is unloaded first. The prefix's own
user, signed in with an OUTLOOK.EXE running, is restored in place and told to restart it.
Registry links a user plants in her own hive, pointing into HKLM, are refused.

Environment (tests/windows/CMakeLists.txt): XB_EXE, XB_OLPROF, XB_HIVETOOL, XB_WORK.
"""
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from olprof import OlProf, parse_dump  # noqa: E402
from outlookrig import (WINE_DLL_OVERRIDES, gmail_imap, gmail_pop3, need,  # noqa: E402
                        other_pop3)
from outlookrig import wine as run_wine  # noqa: E402

PROFILE_LIST = r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList"
PENDING = r"HKLM\SOFTWARE\XOAuthBridge\RestorePending"
PRODUCT_KEY = r"HKLM\SOFTWARE\XOAuthBridge"
SAVED = r"Software\XOAuthBridge"
PROFILE = "Outlook"
PROFILES = {
    "2016": r"Software\Microsoft\Office\16.0\Outlook\Profiles\Outlook",
    "2013": r"Software\Microsoft\Office\15.0\Outlook\Profiles\Outlook",
    "2010": r"Software\Microsoft\Windows NT\CurrentVersion\Windows Messaging Subsystem"
            r"\Profiles\Outlook",
}
ACCOUNTS = "9375CFF0413111d3B88A00104B2A6676"
SID_BASE = "S-1-5-21-1111-2222-3333-"
USERS = {
    "hana": (SID_BASE + "1001", "hana@example.ac.jp", ("2016", "2010")),
    "ken": (SID_BASE + "1002", "ken@example.ac.jp", ("2016",)),
    "aki": (SID_BASE + "1003", "aki@example.ac.jp", ("2013",)),
}
# Made when its test runs: a user who plants registry links in her own hive.
EVE = (SID_BASE + "1005", "eve@example.ac.jp", ("2016",))
GONE_SID = SID_BASE + "1004"           # a profile folder without NTUSER.DAT
OWN_SID = "S-1-5-21-0-0-0-1000"         # the prefix's own user: signed in, nothing bridged
ACCOUNTS_BRIDGED = 2 * 2 + 2 + 2       # Gmail POP3 + IMAP per layout


class World:
    def __init__(self):
        self.work = Path(os.environ.get("XB_WORK") or pytest.fail("XB_WORK must be set"))
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        self.prefix = self.work / "wine"
        self.exe = need("XB_EXE")
        self.tool = need("XB_HIVETOOL")
        self.prof = OlProf(need("XB_OLPROF"), self.prefix)
        self.env = dict(os.environ, WINEPREFIX=str(self.prefix), WINEDEBUG="-all",
                        WINEDLLOVERRIDES=WINE_DLL_OVERRIDES)
        self.before = {}        # user -> layout -> dump of the Outlook profile
        self.loaded = []        # names under HKEY_USERS this test loaded

    # --- running ----------------------------------------------------------------------

    def wine(self, *args, check=True, env=None, timeout=180):
        return run_wine(args, env or self.env, timeout=timeout, check=check)

    def tool_run(self, *args, check=True):
        return self.wine(self.tool, *args, check=check)

    def restore_all_users(self):
        """The program, as the uninstaller runs it, with the Event Log traced."""
        env = dict(self.env, WINEDEBUG="-all,+eventlog")
        code, out, err = self.wine(self.exe, "restore", "--all-users", check=False, env=env)
        # Wine traces each event's string (errors on its err channel), escaped, and cuts
        # long ones short ("..."): the tests look for beginnings.
        events = [e.replace("\\\\", "\\").replace('\\"', '"') for e in
                  re.findall(r':eventlog:ReportEventW L"(.*?)"(?:\.\.\.)?$', err, re.M)]
        log = "\n".join(line for line in err.split("\n") if ":eventlog:" not in line)
        return code, out, log, events

    def peek_run(self):
        """restore_users.c's restore through hivetool, each hive saved before unloading."""
        peek = self.work / "peek"
        shutil.rmtree(peek, ignore_errors=True)
        peek.mkdir()
        code, out, err = self.tool_run("restore-all-users", self.prof.winepath(peek),
                                       check=False)
        return code, out, err, peek

    # --- the registry -------------------------------------------------------------------

    def dump(self, key):
        """{(subkey, name): (type, bytes)} under HKCU\\... or HKU\\...; None if absent."""
        code, out, err = self.tool_run("dump", key, check=False)
        if code == 2:
            return None
        assert code == 0, f"hivetool dump {key}: {err}"
        return parse_dump(out)

    def reg(self, *args, check=True):
        return self.wine("reg", *args, check=check)

    def key_exists(self, key):
        return self.reg("query", key, check=False)[0] == 0

    def hku_names(self):
        _, out, _ = self.reg("query", "HKU")
        return [line.split("\\", 1)[1] for line in out.split("\n")
                if line.startswith("HKEY_USERS\\")]

    def load(self, name, file):
        self.tool_run("load", name, file)
        self.loaded.append(name)

    def unload(self, name):
        self.tool_run("unload", name)
        self.loaded.remove(name)

    # --- users ------------------------------------------------------------------------------

    def folder(self, user):
        return self.prefix / "drive_c" / "users" / user

    def hive_file(self, user):
        return "C:\\users\\%s\\NTUSER.DAT" % user

    def make_user(self, user):
        """Outlook profiles bridged in HKCU, saved as the user's NTUSER.DAT, HKCU cleared."""
        sid, email, layouts = USERS[user] if user in USERS else EVE
        self.before[user] = {}
        for layout in layouts:
            self.prof.make(layout, PROFILE, [
                gmail_pop3("00000001", email, user.capitalize(), "pop-password-" + user),
                gmail_imap("00000002", "Gmail IMAP", email, "imap-password-" + user,
                           s="sz" if layout == "2016" else "str"),
                other_pop3("00000003", "jiro@example.org", "jiro", "not-gmail"),
            ])
            self.before[user][layout] = self.dump("HKCU\\" + PROFILES[layout])
            assert self.before[user][layout], f"{user}: the {layout} profile was made"
            _, out, _ = self.tool_run("bridge", layout, PROFILE, email, "local-" + user)
            assert out.strip() == "bridged 2, failed 0", out
            bridged = self.dump("HKCU\\" + PROFILES[layout])
            assert bridged != self.before[user][layout], f"{user} {layout}: bridged"
            server = bridged[(ACCOUNTS + "\\00000001", "POP3 Server")][1]
            assert server.decode("utf-16-le").rstrip("\0") == "127.0.0.1"
        assert self.dump("HKCU\\" + SAVED), f"{user}: the add-in's saved copies are there"
        self.folder(user).mkdir(parents=True, exist_ok=True)
        self.tool_run("save", self.hive_file(user))
        shutil.copy(self.folder(user) / "NTUSER.DAT", self.work / f"{user}-good.dat")
        for layout in layouts:
            self.prof.delete(layout, PROFILE)
            self.prof.set_default(layout, None)
        self.reg("delete", "HKCU\\" + SAVED, "/f")
        self.register(sid, "%SystemDrive%\\users\\" + user)

    def register(self, sid, folder):
        self.reg("add", PROFILE_LIST + "\\" + sid, "/v", "ProfileImagePath", "/t",
                 "REG_EXPAND_SZ", "/d", folder, "/f")

    def check_hive(self, user, root, what):
        """Every Outlook profile of the user under root (HKU\\NAME) is as before bridging,
        byte for byte, and the saved copies are gone."""
        for layout, before in self.before[user].items():
            after = self.dump(root + "\\" + PROFILES[layout])
            assert after == before, (
                f"{what}: {user}'s {layout} profile differs from before bridging:\n"
                + "\n".join(f"  {k}: before {before.get(k)} after {after.get(k)}"
                            for k in sorted(set(before) | set(after or {}))
                            if before.get(k) != (after or {}).get(k)))
        assert self.dump(root + "\\" + SAVED) in (None, {}), f"{what}: {user}'s saved copies gone"

    def check_peeked(self, peek, user, what):
        sid = USERS[user][0]
        hive = peek / f"{sid}.hive"
        assert hive.exists(), f"{what}: {user}'s hive was opened and restored"
        name = "check-" + user
        self.load(name, self.prof.winepath(hive))
        try:
            self.check_hive(user, "HKU\\" + name, what)
        finally:
            self.unload(name)


@pytest.fixture(scope="module")
def world():
    w = World()
    w.wine("wineboot", "-i", timeout=300)
    for user in USERS:
        w.make_user(user)
    w.register("S-1-5-18", "%systemroot%\\system32\\config\\systemprofile")
    w.register(GONE_SID, "C:\\users\\gone")
    (w.prefix / "drive_c" / "users" / "gone").mkdir(exist_ok=True)
    w.register(USERS["hana"][0] + ".bak", "C:\\users\\hana")
    yield w
    for name in list(w.loaded):
        w.tool_run("unload", name, check=False)
    subprocess.run(["wineserver", "-k"], env=w.env, check=False)


def test_every_profile_is_put_back(world):
    """Two users not signed in (hives loaded from NTUSER.DAT) and one signed in (restored
    in place): every Outlook profile is back as it was, and the counts say so."""
    w = world
    aki_sid = USERS["aki"][0]
    w.load(aki_sid, w.hive_file("aki"))   # aki signs in: Windows loads her hive

    code, out, log, events = w.restore_all_users()
    summary = ("restore --all-users: 6 profile(s): 3 restored, 1 with nothing to restore, "
               "2 skipped, 0 failed; %d Outlook account(s) put back, 0 not" % ACCOUNTS_BRIDGED)
    assert code == 0, log
    assert out.strip() == summary, out
    for user, n in (("hana", 4), ("ken", 2)):
        assert ("profile C:\\users\\%s (%s): %d Outlook account(s) put back\n"
                % (user, USERS[user][0], n)) in log + "\n", log
    assert ("profile C:\\users\\aki (%s): 2 Outlook account(s) put back (signed in: in place)"
            % aki_sid) in log, log
    assert re.search(r"profile C:\\users\\hana \(S-1-5-21-1111-2222-3333-1001\): Outlook 2010 "
                     r'profile "Outlook", account 00000001 \(hana@example.ac.jp\): put back '
                     r"as it was", log), log
    assert "(%s): skipped: no NTUSER.DAT" % GONE_SID in log, log
    assert "profile C:\\users\\hana (%s.bak): skipped: not a SID" % USERS["hana"][0] in log, log
    assert "S-1-5-18" not in log, "LocalSystem's profile is not one to restore"
    # The administrator's view: each profile and the summary in the Event Log.
    # (With their stable Event IDs: 1005 the summary, 1003 a profile put back.)
    assert any(e.endswith("info [event 1005] " + summary) for e in events), events
    assert any("[event 1003]" in e and "(signed in: in place)" in e for e in events), events
    # aki's hive is still loaded (she is signed in): what was written is there.
    w.check_hive("aki", "HKU\\" + aki_sid, "in place")
    w.unload(aki_sid)
    # Nothing of ours left loaded, nothing pending.
    assert not [n for n in w.hku_names() if n.lower().startswith("xoauthbridge")], w.hku_names()
    assert not w.key_exists(PRODUCT_KEY), "no pending list when every profile was restored"

    # The same restore, looked into before each hive is unloaded (Wine drops what was
    # written to a hive when it unloads it, so the run above left the files as they were).
    code, out, err, peek = w.peek_run()
    assert code == 0, err
    # aki's hive file was not written by the in-place restore under Wine either.
    assert out.strip() == "restored 3 unchanged 1 skipped 2 failed 0 accounts %d notback 0" \
        % ACCOUNTS_BRIDGED, out + err
    for user in ("hana", "ken", "aki"):
        w.check_peeked(peek, user, "loaded from NTUSER.DAT")


def test_damaged_hive_is_logged_kept_and_retried(world):
    """Garbage in ken's NTUSER.DAT: logged with his folder and Windows' words, hana still
    restored, exit code 1, ken listed as pending; with the file good again, the next run
    restores him and the list goes."""
    w = world
    ken_sid, hana_sid = USERS["ken"][0], USERS["hana"][0]
    (w.folder("ken") / "NTUSER.DAT").write_bytes(b"this is not a registry hive\r\n" * 50)

    code, out, log, events = w.restore_all_users()
    assert code == 1, log
    assert out.strip() == ("restore --all-users: 6 profile(s): 2 restored, 1 with nothing to "
                           "restore, 2 skipped, 1 failed; 6 Outlook account(s) put back, 0 not")
    m = re.search(r"error \[event 3002\] profile C:\\users\\ken \((\S+)\): cannot load the hive "
                  r"C:\\users\\ken\\NTUSER\.DAT: (.+) \(error (\d+)\); its Outlook accounts are "
                  r"not put back \(their saved settings stay in the hive\): the next "
                  r"`xoauthbridge restore --all-users` tries again", log)
    assert m and m.group(1) == ken_sid and m.group(2).strip() and m.group(3) != "0", log
    assert "profile C:\\users\\hana (%s): 4 Outlook account(s) put back" % hana_sid in log
    assert any("cannot load the hive C:\\users\\ken\\NTUSER.DAT" in e for e in events), events
    assert any("1 failed" in e and "RestorePending" in e for e in events), events
    _, q, _ = w.reg("query", PENDING, "/v", ken_sid)
    assert "C:\\users\\ken: cannot load the hive C:\\users\\ken\\NTUSER.DAT" in q, q
    assert w.reg("query", PENDING, "/v", hana_sid, check=False)[0] != 0, "only ken is pending"
    assert not [n for n in w.hku_names() if n.lower().startswith("xoauthbridge")], w.hku_names()

    # The file is good again (restored from a backup, repaired): the next run retries.
    shutil.copy(w.work / "ken-good.dat", w.folder("ken") / "NTUSER.DAT")
    code, out, err, peek = w.peek_run()
    assert code == 0, err
    assert re.search(r"profile C:\\users\\ken \(%s\): not restored by an earlier run "
                     r"\(C:\\users\\ken: cannot load the hive .*\): trying again" % ken_sid, err)
    w.check_peeked(peek, "ken", "retried")
    assert not w.key_exists(PRODUCT_KEY), "the pending list is gone once ken is restored"


def test_hive_left_loaded_by_an_earlier_run_is_unloaded(world):
    """A run that died leaves a hive loaded under our temporary name (its user could not
    sign in): the next run unloads it before anything else."""
    w = world
    shutil.copy(w.work / "ken-good.dat", w.folder("ken") / "NTUSER.DAT")
    stale = "XOAuthBridge.restore.99999.0"
    w.load(stale, w.hive_file("hana"))
    code, out, log, _ = w.restore_all_users()
    w.loaded.remove(stale)
    assert code == 0, log
    assert "unloaded HKEY_USERS\\%s, a user's hive an earlier run left loaded" % stale in log
    assert stale not in w.hku_names()
    assert "3 restored" in out, out


def test_signed_in_user_with_outlook_running(world):
    """The prefix's own user, signed in, with an OUTLOOK.EXE of theirs running: restored in
    place in their live hive (what Wine keeps), and the log says Outlook must restart."""
    w = world
    email = "own@example.ac.jp"
    w.prof.make("2016", PROFILE, [gmail_pop3("00000001", email, "Own", "own-password")])
    before = w.dump("HKCU\\" + PROFILES["2016"])
    w.tool_run("bridge", "2016", PROFILE, email, "local-own")
    assert w.dump("HKCU\\" + PROFILES["2016"]) != before
    outlook = w.work / "OUTLOOK.EXE"
    shutil.copy(w.tool, outlook)
    ready = w.work / "outlook-ready"
    ready.unlink(missing_ok=True)
    proc = subprocess.Popen(["wine", str(outlook), "sleep", "60", w.prof.winepath(ready)],
                            env=w.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ready.exists(), "the stand-in OUTLOOK.EXE runs"
        code, out, log, events = w.restore_all_users()
    finally:
        proc.kill()
        proc.wait()
    assert code == 0, log
    assert re.search(r"profile \S+ \(%s\): 1 Outlook account\(s\) put back \(signed in: in "
                     r"place\)" % OWN_SID, log), log
    assert re.search(r"warn profile \S+ \(%s\): Outlook is running for this user \(process "
                     r"\d+\): it uses the accounts put back from its next start; ask the person "
                     r"to restart Outlook" % OWN_SID, log), log
    assert any("Outlook is running for this user" in e for e in events), events
    assert w.dump("HKCU\\" + PROFILES["2016"]) == before
    assert w.dump("HKCU\\" + SAVED) in (None, {})
    w.prof.delete("2016", PROFILE)
    w.prof.set_default("2016", None)


def test_links_out_of_the_hive_are_refused(world):
    """A user shapes her own hive: registry links planted where the restore writes (an
    account key) or reads and deletes (a saved copy's Original), pointing into HKLM, are
    refused (SYSTEM must not write or delete there for her), logged, kept for a later run;
    what they point at is untouched."""
    w = world
    sid = EVE[0]
    w.make_user("eve")
    victim, target = r"HKLM\SOFTWARE\XBVictim", r"\Registry\Machine\Software\XBVictim"
    w.reg("add", victim, "/v", "Marker", "/t", "REG_SZ", "/d", "untouched", "/f")
    _, victim_before, _ = w.reg("query", victim)
    w.load(sid, w.hive_file("eve"))    # signed in: what she planted is what the run meets
    base = "HKU\\" + sid + "\\"
    account = base + PROFILES["2016"] + "\\" + ACCOUNTS + "\\00000001"
    original = base + SAVED + "\\Outlook\\2016\\" + PROFILE + "\\00000002\\Original"
    for key in (account, original):
        w.reg("delete", key, "/f")
        w.tool_run("link", key, target)
        assert "untouched" in w.reg("query", key)[1], "Wine follows the planted link"
    try:
        code, out, log, _ = w.restore_all_users()
        assert code == 1, log
        assert re.search(r"error profile C:\\users\\eve \(%s\): Outlook 2016 profile \"Outlook\", "
                         r"account 00000001 \(eve@example\.ac\.jp\): not put back: cannot open "
                         r"the Outlook account: .*\(error 161\)" % sid, log), log
        assert re.search(r"account 00000002 \(eve@example\.ac\.jp\): not put back: cannot open "
                         r"the saved copy's Original: .*\(error 161\)", log), log
        assert "profile C:\\users\\eve (%s): 0 Outlook account(s) put back, 2 not" % sid in log
        assert w.reg("query", victim)[1] == victim_before, "HKLM untouched"
        assert w.dump(base + SAVED), "her saved copies are kept"
    finally:
        w.unload(sid)
        w.reg("delete", PROFILE_LIST + "\\" + sid, "/f")
        w.reg("delete", victim, "/f")
        w.reg("delete", PRODUCT_KEY, "/f", check=False)


def test_usage(world):
    code, _, err = world.wine(world.exe, "restore", "--all-users", "extra", check=False)
    assert code == 2 and "usage: xoauthbridge restore EMAIL | --all | --all-users" in err
