#!/usr/bin/python3
"""README command 1, the Windows part: the whole fix as an admin and a user meet it, against
the loopback stand-in for Gmail (real Dovecot checking XOAUTH2 at a real OAuth server, an
SMTP sink), with a real browser for the consent. Every step is checked; the exit status
is 0 only if every one worked (CTest runs it as msi.demo_outlook).

  the admin   installs dist/XOAuthBridge-<version>-x64.msi with msiexec /qn in a fresh
              Wine prefix, sets Group Policy (AutoFix = automatic, the Google OAuth client)
              with `reg add`, and points the per-user configuration file at the stand-in
  the user    has Outlook with a Gmail account that Google now refuses; Outlook (the
              add-in host, test_addin_host --outlook-installed: COM loads the add-in by
              the CLSID the MSI registered) raises OnError with Google's answer; the
              add-in starts the companion if it is not running (`xoauthbridge.exe tray
              --autostart`, on an Xvfb display), asks it for the sign-in, the person
              consents in the browser (headless Chromium, opened on the URL the
              companion's `browser` recorded), and the add-in rewrites the account to the
              companion; mail is then read and sent with the rewritten settings (password
              decrypted from the profile)

Scenarios: pop2016 (Outlook 2016, Gmail POP3 + a non-Gmail account), imap2010 (Outlook
2010's Windows Messaging Subsystem profile, Gmail IMAP + a non-Gmail account); default:
both, in one installation. The first one run meets no companion (right after the
installation nothing started it): the add-in starts it. Before the second, the user
signs out and in again: the companion quits, and the sign-in to Windows starts it from
the MSI's HKLM Run value (under Wine `wineboot` runs the Run values, as Windows' logon).

    tests/demo/demo_outlook.py [--scenario all|pop2016|imap2010] [--msi MSI]
        [--win64 BUILD/WIN64] [--keep]
"""
import argparse
import email.header
import email.parser
import email.policy
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in tests/ from the imports below
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "tests" / "rig"))
sys.path.insert(0, str(ROOT / "tests" / "windows"))

from rig import Rig, free_ports  # noqa: E402
from olprof import OlProf  # noqa: E402
from outlookrig import (IMAP_ALERT, VERSIONS, WEB_LOGIN, WINE_DLL_OVERRIDES, Browser,  # noqa: E402
                        Xvfb, dword, gmail_imap, gmail_pop3, local_appdata, of, other_pop3,
                        read_imap, read_pop3, rig_provider_conf, send_smtp, text, wait_sink,
                        wine)

TARO = "taro@example.ac.jp"      # Gmail (Google Workspace for Education) over POP3
HANAKO = "hanako@example.ac.jp"  # Gmail over IMAP
OTHER = "jiro@example.org"       # not Gmail: must stay as it is
INSTALL_DIR = r"C:\Program Files\XOAuth Bridge"
POLICY_KEY = r"HKLM\Software\Policies\XOAuthBridge"
ADDIN_KEY = r"HKLM\Software\Microsoft\Office\Outlook\Addins\XOAuthBridge.Addin"
RUN_KEY = r"HKLM\Software\Microsoft\Windows\CurrentVersion\Run"
HOST_TIMEOUT = 240  # seconds Outlook (the host) waits for the account to be bridged

SCENARIOS = {
    "pop2016": dict(
        title="Outlook 2016, a Gmail account over POP3",
        layout="2016", profile="Outlook", proto="POP3", address=TARO,
        accounts=[gmail_pop3("00000001", TARO, "Taro Yamada", "taro-old-password"),
                  other_pop3("00000002", OTHER, "jiro", "jiro-password")],
        error=("0x800CCC92", WEB_LOGIN.format(name=TARO)),
        said="-ERR [AUTH] Web login required"),
    "imap2010": dict(
        title="Outlook 2010 (Windows Messaging Subsystem profile), a Gmail account over IMAP",
        layout="2010", profile="Outlook", proto="IMAP", address=HANAKO,
        accounts=[gmail_imap("00000001", "Hanako (Gmail)", HANAKO, "hanako-old-password"),
                  other_pop3("00000002", OTHER, "jiro", "jiro-password")],
        error=("0x800CCCD1", IMAP_ALERT.format(name="Hanako (Gmail)")),
        said="NO [ALERT] Please log in via your web browser"),
}


def ROW_KEYS(proto):  # noqa: N802 -- a table, in the summary's order
    return ("accounts found", "companion", "signed in, bridged", "bridged",
            "messages read (%s)" % proto, "message sent (SMTP)", "add-in timings")


class Failed(Exception):
    """A step that the rest cannot go on without."""


def winpath(path):
    """The Windows form of a Unix path (Wine maps / to Z:)."""
    return "Z:" + str(Path(path).resolve()).replace("/", "\\")


def subjects(messages):
    out = []
    for raw in messages:
        head = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
        s = head.get("Subject", "")
        out.append(str(email.header.make_header(email.header.decode_header(s))))
    return out


class Demo:
    def __init__(self, args, work, rig):
        self.a = args
        self.work = work
        self.rig = rig
        self.prefix = work / "prefix"
        self.home = work / "home"
        self.n = 0
        self.failures = []
        self.summary = []
        self.bridged = 0          # saved copies in state "bridged", over all scenarios
        self.log_offset = 0       # of the add-in's log, per Outlook run
        self.clog_offset = 0      # of the companion's log
        self.xvfb = None
        self.browser = None
        self.url_file = work / "signin-url.txt"
        self.exe = INSTALL_DIR + r"\xoauthbridge.exe"

    # --- saying and checking -------------------------------------------------------------

    def step(self, text):
        self.n += 1
        print("\n[%d] %s" % (self.n, text), flush=True)

    @staticmethod
    def say(text):
        print("    " + text, flush=True)

    def check(self, cond, what):
        if not cond:
            self.failures.append(what)
            self.say("FAILED: " + what)
        return bool(cond)

    def must(self, cond, what):
        if not self.check(cond, what):
            raise Failed(what)

    # --- Windows -----------------------------------------------------------------------

    def w(self, *args, timeout=120, check=True, env=None):
        return wine(args, env or self.env, timeout=timeout, check=check)

    def reg_query(self, key, value):
        rc, out, _ = self.w("reg", "query", key, "/v", value, check=False)
        m = re.search(r"^\s+%s\s+(REG_\w+)\s+(.*)$" % re.escape(value), out, re.M)
        return (m.group(1), m.group(2).strip()) if rc == 0 and m else None

    @property
    def appdata(self):
        return local_appdata(self.prefix)

    def new_log_lines(self, name, attr):
        p = self.appdata / "logs" / name
        data = p.read_bytes() if p.exists() else b""
        start = getattr(self, attr)
        setattr(self, attr, len(data))
        return data[start:].decode("utf-8", "replace").splitlines()

    def log_tail(self, name, n=40):
        p = self.appdata / "logs" / name
        lines = p.read_text(encoding="utf-8", errors="replace").splitlines() if p.exists() else []
        return "\n".join("      " + ln for ln in lines[-n:]) or "      (no log)"

    # --- the admin -----------------------------------------------------------------------

    def windows(self):
        self.step("A fresh Windows for the demo: a new 64-bit Wine prefix on a virtual X "
                  "display (Xvfb), with its own home and XDG folders")
        self.xvfb = Xvfb(self.work / "xvfb.log")
        display = self.xvfb.start()
        self.home.mkdir()
        self.env = dict(os.environ)
        self.env.update({
            "WINEPREFIX": str(self.prefix), "WINEDEBUG": "-all",
            "WINEDLLOVERRIDES": WINE_DLL_OVERRIDES + ",winemenubuilder.exe=d",
            "HOME": str(self.home), "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "DISPLAY": display,
            # Read by test_tray.exe, the companion's `browser` (it inherits this from
            # Outlook, which started it): where to write the sign-in URL.
            "XB_TEST_URL_FILE": winpath(self.url_file),
        })
        self.env.pop("XB_CONFIG", None)
        t = time.monotonic()
        self.w("wineboot", "-i", timeout=300, check=False)
        wine(["-w"], self.env, timeout=300, program="wineserver")
        self.must((self.prefix / "system.reg").is_file(), "wineboot made a prefix")
        # One server from here to the end (as msi_wine.py): each wine command would
        # otherwise start one, and Wine's services, again. It lingers 30 s at most after
        # the last Windows program, should the demo be killed before its cleanup.
        wine(["-p30"], self.env, timeout=60, program="wineserver")
        self.say("Wine %s, display %s, prefix ready in %.1f s"
                 % (self.w("--version", check=False)[1].strip(), display, time.monotonic() - t))
        self.prof = OlProf(self.a.olprof, self.prefix, env=self.env)

    def install(self):
        msi = Path(self.a.msi)
        self.step("The admin installs %s for all users: msiexec /i ... /qn (no questions)"
                  % msi.name)
        log = self.work / "msiexec.log"
        t = time.monotonic()
        rc, _, _ = self.w("msiexec", "/i", winpath(msi), "/qn", "/l*v", winpath(log), timeout=300,
                          check=False)
        secs = time.monotonic() - t
        self.must(rc == 0, "msiexec installs the package (exit %d, log %s)" % (rc, log))
        files = sorted(os.listdir(self.prefix / "drive_c" / "Program Files" / "XOAuth Bridge"))
        self.say("installed in %.1f s into %s: %s" % (secs, INSTALL_DIR, ", ".join(files)))
        lb = self.reg_query(ADDIN_KEY, "LoadBehavior")
        self.must(lb is not None and int(lb[1], 0) == 3,
                  "the MSI registered the Outlook add-in (LoadBehavior 3): %s" % (lb,))
        self.say("Outlook add-in registered: %s, LoadBehavior = 3 (load at start)" % ADDIN_KEY)
        run = self.reg_query(RUN_KEY, "XOAuthBridge")
        self.check(run is not None and "tray --autostart" in run[1],
                   "the companion starts at every sign-in (HKLM Run): %s" % (run,))
        if run:
            self.say("the companion starts at sign-in: %s\\XOAuthBridge = %s" % (RUN_KEY, run[1]))
        self.summary.append(("installed", "%s in %.1f s (msiexec /qn, fresh prefix)"
                             % (msi.name, secs)))

    def policy(self):
        o = self.rig.oauth
        self.step("The admin sets Group Policy (%s): AutoFix = 2 (fix automatically), "
                  "GoogleClientId and GoogleClientSecret = the organisation's OAuth client"
                  % POLICY_KEY)
        for name, typ, value in (("AutoFix", "REG_DWORD", "2"),
                                 ("GoogleClientId", "REG_SZ", o["client_id"]),
                                 ("GoogleClientSecret", "REG_SZ", o["client_secret"])):
            self.w("reg", "add", POLICY_KEY, "/v", name, "/t", typ, "/d", value, "/f")
        self.say("(a domain does this with the ADMX templates in dist/policy/; the values "
                 "land in the same key)")

        self.step("The per-user configuration file %LOCALAPPDATA%\\XOAuthBridge\\"
                  "xoauthbridge.conf points Google's addresses at the stand-in on 127.0.0.1 "
                  "(a real installation needs no file); its `browser` records the sign-in URL "
                  "for the demo's browser")
        self.ports = dict(zip(("imap", "pop3", "smtp"), free_ports(3)))
        conf = self.appdata / "xoauthbridge.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(f"""# written by tests/demo/demo_outlook.py: Google is the loopback stand-in
[general]
browser = {winpath(self.a.helper)}
signin_timeout = 120

[proxy]
imap_listen = 127.0.0.1:{self.ports['imap']}
pop3_listen = 127.0.0.1:{self.ports['pop3']}
smtp_listen = 127.0.0.1:{self.ports['smtp']}
# The tests' mail clients are Linux programs: Wine's connection table does not list them,
# and Windows' peer check refuses what it cannot prove (test_addin_e2e checks that rule).
same_user_only = no

""" + rig_provider_conf(self.rig, winpath(self.rig.ca_file), client=False), encoding="utf-8")
        rc, out, err = self.w(self.exe, "config", check=False)
        self.must(rc == 0, "`xoauthbridge config` runs: %s" % err.strip()[-500:])
        lines = out.splitlines()
        shown = [(lines[i][len("# set by policy "):], lines[i + 1])
                 for i in range(len(lines) - 1) if lines[i].startswith("# set by policy ")]
        for origin, line in shown:
            self.say("`xoauthbridge config`: %-40s (policy %s)"
                     % (line if "secret" not in line else "client_secret = (set; not shown)",
                        origin.rsplit("\\", 1)[-1]))
        self.must(("client_id = %s" % o["client_id"]) in out,
                  "the companion takes the OAuth client from the policy")
        self.summary.append(("policy (HKLM)", "AutoFix = 2 (automatic); Google OAuth client "
                             "from GoogleClientId/GoogleClientSecret"))

    # --- the user ------------------------------------------------------------------------

    def scenario(self, name, by):
        """by: who starts the companion, "add-in" (it is not running when Outlook
        starts) or "logon" (it was started at the user's sign-in to Windows)."""
        sc = SCENARIOS[name]
        layout, profile, proto = sc["layout"], sc["profile"], sc["proto"]
        row = dict.fromkeys(ROW_KEYS(proto))
        self.summary.append(("Outlook %s, %s" % (layout, proto), row))
        marker = "%s-%d" % (name, time.time_ns())
        subject = "Welcome back to Gmail (%s)" % marker
        self.rig.add_message(sc["address"], (
            "From: Registrar <registrar@example.ac.jp>\r\nTo: %s\r\nSubject: %s\r\n"
            "Date: Mon, 01 Apr 2024 09:00:00 +0900\r\n\r\nThe term starts on Monday.\r\n"
            % (sc["address"], subject)).encode())

        self.step("%s: the user's Outlook profile '%s' (Application.Version %s)"
                  % (sc["title"], profile, VERSIONS[layout]))
        self.prof.make(layout, profile, sc["accounts"])
        before = self.prof.dump(layout, profile)
        gid, oid = sc["accounts"][0][0], sc["accounts"][1][0]
        key = "%s Server" % proto
        self.say("account %s: %s %s on %s:%d (SSL), SMTP %s:%d, the old Google password"
                 % (gid, proto, sc["address"], text(before, gid, key),
                    dword(before, gid, "%s Port" % proto), text(before, gid, "SMTP Server"),
                    dword(before, gid, "SMTP Port")))
        self.say("account %s: POP3 %s on %s:%d (not Gmail)"
                 % (oid, OTHER, text(before, oid, "POP3 Server"), dword(before, oid, "POP3 Port")))

        self.step("Outlook starts and loads the add-in from the MSI's registration (COM, by "
                  "CLSID); the send/receive fails: Google answers `%s`, and Outlook raises "
                  "OnError with it" % sc["said"])
        self.bridged += 1
        self.new_log_lines("xoauthbridge.log", "clog_offset")
        seen_before, pages_before = len(self.browser.seen), len(self.browser.pages)
        code, text_ = sc["error"]
        t = time.monotonic()
        rc, out, err = self.w(self.a.host, "--outlook-installed", VERSIONS[layout], profile,
                              "bridged:%d" % self.bridged, str(HOST_TIMEOUT), code, text_,
                              timeout=HOST_TIMEOUT + 60, check=False)
        secs = time.monotonic() - t
        for line in out.splitlines():
            if line.startswith("# "):
                self.say("Outlook: " + line[2:])
        m = re.search(r"OnConnection took ([0-9.]+) ms, OnStartupComplete ([0-9.]+) ms", out)
        m2 = re.search(r"OnBeginShutdown \+ OnDisconnection took ([0-9.]+) ms", out)
        if m:
            row["add-in timings"] = ("OnConnection %s ms, OnStartupComplete %s ms, shutdown %s ms"
                                     % (m.group(1), m.group(2), m2.group(1) if m2 else "?"))
        self.say("the add-in's log (%LOCALAPPDATA%\\XOAuthBridge\\logs\\addin.log), this run:")
        addin_lines = self.new_log_lines("addin.log", "log_offset")
        for line in addin_lines:
            self.say("  " + re.sub(r"^\S+ \S+ ", "", line))
        self.say("the companion's log, this run:")
        for line in self.new_log_lines("xoauthbridge.log", "clog_offset"):
            if re.search(r"starting \(tray|listening on|sign-in|signed in|reports|now goes "
                         r"through|notification shown|restart", line):
                self.say("  " + re.sub(r"^\S+ \S+ ", "", line))
        if not self.check(rc == 0, "Outlook ran with the add-in and the account was bridged "
                                   "within %d s (exit %d)" % (HOST_TIMEOUT, rc)):
            self.say("--- host output:\n" + out + err)
            self.say("--- companion log:\n" + self.log_tail("xoauthbridge.log"))
            raise Failed("not bridged")
        log = "\n".join(addin_lines)
        m = re.search(r"\): (\d+) POP3/IMAP accounts, (\d+) to bridge", log)
        if self.check(m and m.groups() == ("2", "1"), "the add-in found the 2 accounts, 1 of "
                                                      "them Gmail"):
            row["accounts found"] = "%s (%s of them Gmail), by the add-in's scan" % m.groups()
        self.check("automatic fix: automatic" in log, "the add-in follows the policy AutoFix = 2")
        started = "started the companion" in log
        if by == "add-in":
            self.check(started, "the add-in started the companion itself (tray --autostart)")
            row["companion"] = "started by the add-in (\"%s\" tray --autostart)" % self.exe
        else:
            self.check(not started, "the add-in found the companion running")
            row["companion"] = ("started at the user's sign-in to Windows (the MSI's HKLM "
                                "Run value); the add-in found it running")
        signins = self.browser.seen[seen_before:]
        self.check(len(signins) == 1 and ("login_hint=" + sc["address"].replace("@", "%40"))
                   in signins[0], "one browser sign-in for %s" % sc["address"])
        # The account may be bridged before the browser has ended and saved its page.
        deadline = time.monotonic() + 60
        while len(self.browser.pages) <= pages_before and time.monotonic() < deadline:
            time.sleep(0.1)
        page = self.browser.pages[-1] if len(self.browser.pages) > pages_before else ""
        self.check("You are signed in" in page, "the browser landed on the companion's "
                                                "\"You are signed in\" page")
        self.say("the person consented in the browser (headless Chromium): %s"
                 % ("\"You are signed in\"" if "You are signed in" in page else "?"))
        row["signed in, bridged"] = "%s, in %.1f s from Outlook's start" % (sc["address"], secs)

        self.step("The account as Outlook will read it at its next start (olprof reads the "
                  "profile and decrypts the password with DPAPI, as Outlook does)")
        after = self.prof.dump(layout, profile)
        server = text(after, gid, key)
        port = dword(after, gid, "%s Port" % proto)
        user = text(after, gid, "%s User" % proto)
        smtp_port = dword(after, gid, "SMTP Port")
        smtp_user = text(after, gid, "SMTP User")
        password = self.prof.password(layout, profile, gid, "%s Password" % proto)
        smtp_password = self.prof.password(layout, profile, gid, "SMTP Password")
        self.say("%s %s:%d user %s, SSL %d; SMTP %s:%d user %s; password: %d characters, "
                 "new (not the old Google one)"
                 % (proto, server, port, user, dword(after, gid, "%s Use SSL" % proto),
                    text(after, gid, "SMTP Server"), smtp_port, smtp_user, len(password or "")))
        self.must(server == "127.0.0.1" and port == self.ports[proto.lower()]
                  and smtp_port == self.ports["smtp"] and user == sc["address"]
                  and smtp_user == sc["address"], "the account points at the companion")
        self.must(password and password == smtp_password and "old" not in password,
                  "a new local password for both sides")
        self.check(of(after, oid) == of(before, oid), "the non-Gmail account is byte for byte "
                                                      "as it was")
        self.say("account %s (%s) is byte for byte as it was" % (oid, OTHER))
        saved = self.prof.dumpkey(r"Software\XOAuthBridge\Outlook\%s\%s\%s"
                                  % (layout, profile, gid))
        self.check(saved and any(k[1] == "State" and v == (4, (2).to_bytes(4, "little"))
                                 for k, v in saved.items()),
                   "the original values are saved for restore (State 2: bridged)")
        self.say("the original values are saved under HKCU\\Software\\XOAuthBridge\\Outlook\\%s\\"
                 "%s\\%s (for restore and uninstall)" % (layout, profile, gid))
        row["bridged"] = ("%s %s:%d, SMTP %s:%d (the other account untouched)"
                          % (proto, server, port, server, smtp_port))

        self.step("Mail with these settings, through the companion (XOAUTH2 over TLS to the "
                  "stand-in): read with Python's %s, send with smtplib"
                  % ("poplib" if proto == "POP3" else "imaplib"))
        reader = read_pop3 if proto == "POP3" else read_imap
        msgs = reader(port, user, password)
        subs = subjects(msgs)
        for s in subs:
            self.say("- " + s)
        got = any(marker.encode() in m for m in msgs)
        self.check(got, "the new message is read over %s" % proto)
        row["messages read (%s)" % proto] = "%d, the new one among them: %s" % (
            len(msgs), "yes" if got else "NO")
        before_sent = len(self.rig.sink_messages())
        sent_subject = "Report from Outlook %s (%s)" % (layout, marker)
        send_smtp(smtp_port, smtp_user, smtp_password, sc["address"], sent_subject,
                  to="office@example.ac.jp")
        sent = wait_sink(self.rig, before_sent + 1)
        arrived = len(sent) > before_sent and sent_subject.encode() in sent[-1][1]
        self.check(arrived, "the message sent arrived at the mail server's relay")
        self.say("sent \"%s\": arrived at the mail server's relay: %s"
                 % (sent_subject, "yes" if arrived else "NO"))
        row["message sent (SMTP)"] = "arrived at the relay: %s" % ("yes" if arrived else "NO")

        secrets = [p for p in (password, "taro-old-password", "hanako-old-password") if p]
        logs = [(self.appdata / "logs" / n).read_text(encoding="utf-8", errors="replace")
                for n in ("addin.log", "xoauthbridge.log")]
        self.check(not any(s in lg for s in secrets for lg in logs), "no password in any log")

    def companion_log(self):
        log = self.appdata / "logs" / "xoauthbridge.log"
        return log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""

    def wait_companion_log(self, cond, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if cond(self.companion_log()):
                return True
            time.sleep(0.2)
        return False

    def next_day(self):
        """The companion quits (the user's sign-out), and starts again at the next sign-in
        to Windows from the Run value the MSI wrote. Under Wine, `wineboot` (without -i)
        is what runs the Run values, as Windows does at logon."""
        self.step("The next day: the user signs out (the companion quits: `xoauthbridge tray "
                  "--quit`) and signs in to Windows again, which starts what %s names "
                  "(under Wine: `wineboot`)" % RUN_KEY)
        self.w(self.exe, "tray", "--quit", check=False)
        self.must(self.wait_companion_log(
            lambda t: t.count("tray: exiting") >= t.count("starting (tray")),
            "the companion quit")
        time.sleep(0.5)  # the process ends after its last line
        self.new_log_lines("xoauthbridge.log", "clog_offset")
        self.w("wineboot", timeout=120, check=False)
        ready = self.wait_companion_log(
            lambda t: t.count(" ready\n") >= t.count("starting (tray") >= 2)
        for line in self.new_log_lines("xoauthbridge.log", "clog_offset"):
            if re.search(r"starting \(tray|listening on|icon added|ready$", line):
                self.say("  " + re.sub(r"^\S+ \S+ ", "", line))
        self.must(ready, "the companion started at the sign-in to Windows")

    # --- the whole thing ------------------------------------------------------------------

    def run(self, scenarios):
        self.windows()
        self.install()
        self.policy()
        self.browser = Browser(self.url_file, self.work)
        self.browser.start()
        for i, name in enumerate(scenarios):
            try:
                if i:
                    self.next_day()
                self.scenario(name, "logon" if i else "add-in")
            except Failed as e:
                self.say("this scenario stops here: %s" % e)
                self.say("--- add-in log:\n" + self.log_tail("addin.log"))

    def stop(self):
        if self.browser:
            self.browser.stop.set()
        if getattr(self, "env", None):
            try:
                wine(["-k"], self.env, timeout=60, check=False, program="wineserver")
            except Exception as e:  # noqa: BLE001 -- cleanup goes on
                print("    cleanup: wineserver -k: %s" % e)
        if self.xvfb:
            self.xvfb.stop()


def default_msi():
    version_h = ROOT / "build" / "win64" / "generated" / "xoauthbridge" / "version.h"
    m = re.search(r'#define XB_VERSION\s+"([^"]+)"',
                  version_h.read_text() if version_h.exists() else "")
    if m:
        return ROOT / "dist" / ("XOAuthBridge-%s-x64.msi" % m.group(1))
    found = sorted((ROOT / "dist").glob("XOAuthBridge-*-x64.msi"))
    return found[-1] if found else ROOT / "dist" / "XOAuthBridge-x64.msi"


def print_summary(demo, secs):
    print("\n== Summary (Outlook under Wine, the x64 MSI, Gmail's stand-in on 127.0.0.1)")
    for label, value in demo.summary:
        if isinstance(value, dict):
            print("   %s" % label)
            for k, v in value.items():
                print("      %-22s %s" % (k, "(not reached)" if v is None else v))
        else:
            print("   %-25s %s" % (label, value))
    print("   %-25s %.0f s" % ("total time", secs))
    if demo.failures:
        print("   FAILED (%d):" % len(demo.failures))
        for f in demo.failures:
            print("      - " + f)
    else:
        print("   every step worked")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", choices=("all", *SCENARIOS), default="all")
    ap.add_argument("--msi", default=None, help="the x64 MSI (default: dist/ of this version)")
    ap.add_argument("--win64", default=str(ROOT / "build" / "win64"),
                    help="the win64 build tree with the test programs")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folders")
    a = ap.parse_args()
    a.msi = str(Path(a.msi).resolve()) if a.msi else str(default_msi())
    tests = Path(a.win64).resolve() / "tests" / "windows"
    a.host, a.olprof, a.helper = (str(tests / f) for f in
                                  ("test_addin_host.exe", "olprof.exe", "test_tray.exe"))
    missing = [p for p in (a.msi, a.host, a.olprof, a.helper) if not Path(p).is_file()]
    if missing:
        print("demo_outlook: missing %s (./build.sh builds them)" % ", ".join(missing),
              file=sys.stderr)
        return 1
    names = list(SCENARIOS) if a.scenario == "all" else [a.scenario]

    # SIGTERM and ^C end the demo through its cleanup.
    def terminated(*_):
        print("\ndemo_outlook: terminated; cleaning up", file=sys.stderr, flush=True)
        sys.exit(143)
    signal.signal(signal.SIGTERM, terminated)
    start = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="xb-demo-outlook-"))
    rigdir = Path(tempfile.mkdtemp(prefix="xb-demo-outlook-rig-"))
    os.chmod(work, 0o755)
    demo = None
    try:
        print("[1] Starting the stand-in for Gmail on 127.0.0.1: Dovecot (IMAP, POP3, "
              "submission over TLS, checking XOAUTH2 tokens), an OAuth 2.0 server, an SMTP sink",
              flush=True)
        with Rig(rigdir, users=(TARO, HANAKO)) as rig:
            print("    up in %.2f s; users %s and %s" % (rig.startup_seconds, TARO, HANAKO))
            demo = Demo(a, work, rig)
            demo.n = 1
            try:
                demo.run(names)
            except Failed as e:
                demo.say("the demo stops here: %s" % e)
            except Exception as e:  # noqa: BLE001 -- reported, then cleaned up
                demo.check(False, "unexpected %s: %s" % (type(e).__name__, e))
                import traceback
                traceback.print_exc()
            finally:
                demo.stop()
    finally:
        shutil.rmtree(rigdir, ignore_errors=True)
        if a.keep:
            print("\n(kept %s)" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if demo is None:
        return 1
    print_summary(demo, time.monotonic() - start)
    done = [v for lbl, v in demo.summary if lbl.startswith("Outlook")]
    ok = (not demo.failures and len(done) == len(names)
          and all((v["message sent (SMTP)"] or "").endswith("yes") for v in done))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
