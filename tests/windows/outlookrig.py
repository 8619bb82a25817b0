"""What the add-in's end-to-end test (test_addin_e2e.py) and the Outlook demo
(tests/demo/demo_outlook.py) share: Outlook's words and registry layouts, the person at
the browser, running Windows programs under Wine, an X display, the companion's
provider settings for the rig, and mail through a rewritten account.

    from outlookrig import Browser, wine, read_pop3, send_smtp, WEB_LOGIN
"""
import email.message
import imaplib
import os
import poplib
import smtplib
import subprocess
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TOOLS = ROOT / "tests" / "tools"

POP3_CLSID = "{ED475411-B0D6-11D2-8C3B-00104B2A6676}"
IMAP_CLSID = "{ED475412-B0D6-11D2-8C3B-00104B2A6676}"
# Application.Version of each registry layout (olprof.py's layout names).
VERSIONS = {"2010": "14.0.7268.5000", "2013": "15.0.5603.1000", "2016": "16.0.17928.20114"}

# What Outlook's OnError says when Google refuses the password (docs/addin.md).
WEB_LOGIN = ("Task '{name} - Receiving' reported error (0x800CCC92) : 'Your e-mail server "
             "rejected your login. Verify your user name and password for this account in "
             "Account Settings.  The server responded: -ERR [AUTH] Web login required: "
             "https://support.google.com/mail/answer/78754'")
IMAP_ALERT = ("Task '{name} - Receiving' reported error (0x800CCCD1) : 'The server responded: "
              "NO [ALERT] Please log in via your web browser: "
              "https://support.google.com/mail/accounts/answer/78754 (Failure)'")

# As tests/tools/wine-run.sh: no Mono or Gecko prompts in a new prefix.
WINE_DLL_OVERRIDES = "mscoree,mshtml="


# --- Windows programs ----------------------------------------------------------------------

def wine(args, env, timeout=120, check=True, program="wine"):
    """Runs `wine ARGS` (or another program of Wine's); returns (exit code, stdout, stderr)
    with CRLFs made LF.

    Output goes through files, not pipes: the wineserver and Wine's services (and a
    companion started by the program) inherit them and outlive it, so a pipe would not
    close."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.run([program, *map(str, args)], env=env, stdin=subprocess.DEVNULL,
                           stdout=out, stderr=err, timeout=timeout)
        out.seek(0)
        err.seek(0)
        res = (p.returncode, out.read().decode("utf-8", "replace").replace("\r\n", "\n"),
               err.read().decode("utf-8", "replace").replace("\r\n", "\n"))
    if check and res[0] != 0:
        raise AssertionError(f"{program} {' '.join(map(str, args))}: exit {res[0]}\n"
                             f"{res[1]}\n{res[2]}")
    return res


def fresh_prefix(prefix):
    """A fresh 64-bit Wine prefix (tests/tools/wine-prefix.sh); on failure, the error
    carries what the script and wineboot said."""
    wine([prefix], dict(os.environ), timeout=300, program=TOOLS / "wine-prefix.sh")


def need(var):
    """The built file an environment variable names (CTest sets them)."""
    value = os.environ.get(var)
    if not value or not Path(value).exists():
        import pytest
        pytest.fail(f"{var} must name a built file (CTest sets it)")
    return value


def local_appdata(prefix):
    """%LOCALAPPDATA%\\XOAuthBridge of the prefix's user, as a Unix path."""
    users = Path(prefix) / "drive_c" / "users"
    user = sorted(u for u in os.listdir(users) if u not in ("Public", "Default"))[0]
    return users / user / "AppData" / "Local" / "XOAuthBridge"


# --- the person at the browser --------------------------------------------------------------

class Browser(threading.Thread):
    """The person at the browser: every sign-in URL the companion opens (test_tray.exe,
    its `browser`, writes it to url_file) goes to real headless Chromium, which completes
    the consent at the rig's OAuth server and lands on the companion's loopback page."""

    def __init__(self, url_file, out_dir, env=None):
        super().__init__(daemon=True)
        self.url_file = Path(url_file)
        self.out_dir = Path(out_dir)
        self.env = dict(os.environ if env is None else env)
        self.seen = []
        self.pages = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            # Taken away before the browser runs: the next sign-in may write it again
            # while this one is still in the browser.
            taken = self.url_file.with_suffix(".taken")
            try:
                os.replace(self.url_file, taken)
                text = taken.read_text(encoding="utf-8", errors="replace").strip()
            except FileNotFoundError:
                text = ""
            if text:
                self.seen.append(text)
                dump = self.out_dir / f"browser-{len(self.seen)}.html"
                try:
                    subprocess.run([str(TOOLS / "headless-browser.sh"), text],
                                   env=dict(self.env, XB_BROWSER_DUMP=str(dump)),
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, timeout=120)
                except subprocess.TimeoutExpired:
                    pass
                self.pages.append(dump.read_text(encoding="utf-8", errors="replace")
                                  if dump.exists() else "")
            time.sleep(0.2)


# --- an X display -----------------------------------------------------------------------------

class Xvfb:
    """A virtual X display on a free number (Xvfb picks it: -displayfd)."""

    def __init__(self, log_path):
        self.log_path = Path(log_path)
        self.proc = None
        self.display = None

    def start(self, timeout=15):
        r, w = os.pipe()
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(
                ["Xvfb", "-displayfd", str(w), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(w,))
        finally:
            os.close(w)
            log.close()
        number = b""
        deadline = time.monotonic() + timeout
        try:
            while not number.endswith(b"\n") and time.monotonic() < deadline:
                chunk = os.read(r, 16)
                if not chunk:
                    break
                number += chunk
        finally:
            os.close(r)
        if not number.strip().isdigit():
            self.stop()
            raise RuntimeError("Xvfb did not start: " + self.log_path.read_text(errors="replace"))
        self.display = ":" + number.strip().decode()
        return self.display

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


# --- the companion's settings for the rig ------------------------------------------------------

def rig_provider_conf(rig, ca_file, client=True):
    """[tls] and [provider.google] pointing the companion at the rig (ca_file: its CA as
    the companion sees it). client=False leaves the OAuth client to Group Policy."""
    o = rig.oauth
    client_lines = (f"client_id = {o['client_id']}\nclient_secret = {o['client_secret']}\n"
                    if client else "")
    return f"""[tls]
ca_file = {ca_file}

[provider.google]
auth_url = {o['authorization_endpoint']}
token_url = {o['token_endpoint']}
revoke_url = {o['revocation_endpoint']}
issuer = {o['issuer']}
scope = {o['scope']}
{client_lines}imap = 127.0.0.1:{rig.ports['imaps']}
pop3 = 127.0.0.1:{rig.ports['pop3s']}
smtp = 127.0.0.1:{rig.ports['submissions']}
"""


# --- accounts as Outlook keeps them (olprof.py's spec) ------------------------------------------

def gmail_pop3(aid, address, display, password):
    """A Gmail POP3 account as Outlook sets it up: pop.gmail.com:995 and smtp.gmail.com:465,
    both SSL, mail left on the server."""
    return (aid, [
        ("sz", "clsid", POP3_CLSID),
        ("str", "Account Name", address),
        ("str", "Display Name", display),
        ("str", "Email", address),
        ("str", "POP3 Server", "pop.gmail.com"),
        ("dword", "POP3 Port", 995),
        ("str", "POP3 User", address),
        ("password", "POP3 Password", password),
        ("dword", "POP3 Use SSL", 1),
        ("dword", "POP3 Use SPA", 0),
        ("dword", "Leave on Server", 0x00020001),
        ("str", "SMTP Server", "smtp.gmail.com"),
        ("dword", "SMTP Port", 465),
        ("dword", "SMTP Use Auth", 1),
        ("dword", "SMTP Use SSL", 1),
        ("hex", "Mini UID", (3, bytes(range(16)))),
    ])


def gmail_imap(aid, name, address, password, s="str"):
    """A Gmail IMAP account: imap.gmail.com:993 SSL, smtp.gmail.com:587 with STARTTLS and
    its own SMTP user. s: "str" (REG_BINARY, as Outlook writes) or "sz" (REG_SZ, as newer
    builds write)."""
    return (aid, [
        ("sz", "clsid", IMAP_CLSID),
        (s, "Account Name", name),
        (s, "Email", address),
        (s, "IMAP Server", "imap.gmail.com"),
        ("dword", "IMAP Port", 993),
        (s, "IMAP User", address),
        ("password", "IMAP Password", password),
        ("dword", "IMAP Use SSL", 1),
        (s, "SMTP Server", "smtp.gmail.com"),
        ("dword", "SMTP Port", 587),
        ("dword", "SMTP Use Auth", 1),
        (s, "SMTP User", address),
        ("password", "SMTP Password", password),
        ("dword", "SMTP Secure Connection", 2),
    ])


def other_pop3(aid, address, user, password):
    """A POP3 account that is not Gmail (mail.example.org): never to be touched."""
    return (aid, [
        ("sz", "clsid", POP3_CLSID),
        ("str", "Account Name", address),
        ("str", "Email", address),
        ("str", "POP3 Server", "mail.example.org"),
        ("dword", "POP3 Port", 110),
        ("str", "POP3 User", user),
        ("password", "POP3 Password", password),
        ("str", "SMTP Server", "mail.example.org"),
        ("dword", "SMTP Port", 25),
    ])


# --- profile dumps (olprof.py) -----------------------------------------------------------------

def of(dump, acct):
    """The values of one account of a dump."""
    return {name: value for (aid, name), value in dump.items() if aid == acct}


def text(dump, acct, name):
    """A string value (REG_SZ or UTF-16LE REG_BINARY) of a dump."""
    typ, data = dump[(acct, name)]
    assert typ in (1, 3), f"{name} has type {typ}"
    return data.decode("utf-16-le").rstrip("\0")


def dword(dump, acct, name):
    typ, data = dump[(acct, name)]
    assert typ == 4 and len(data) == 4, f"{name} is not a DWORD"
    return int.from_bytes(data, "little")


# --- mail through a rewritten account -----------------------------------------------------------

def read_pop3(port, user, password):
    """Every message of the mailbox, as a POP3 client logs in with USER/PASS."""
    c = poplib.POP3("127.0.0.1", port, timeout=30)
    try:
        c.user(user)
        c.pass_(password)
        count, _ = c.stat()
        return [b"\r\n".join(c.retr(i + 1)[1]) for i in range(count)]
    finally:
        c.quit()


def read_imap(port, user, password):
    """Every message of INBOX, as an IMAP client logs in with LOGIN."""
    c = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    try:
        c.login(user, password)
        c.select("INBOX", readonly=True)
        _, data = c.search(None, "ALL")
        out = []
        for num in data[0].split():
            _, msg = c.fetch(num, "(BODY.PEEK[])")
            out.append(msg[0][1])
        return out
    finally:
        c.logout()


def send_smtp(port, user, password, sender, subject, to="someone@example.net"):
    msg = email.message.EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content("Sent by Outlook's rewritten account through XOAuth Bridge.\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.ehlo("outlook.test")
        s.login(user, password)
        s.send_message(msg)


def wait_sink(rig, count, timeout=10):
    """The rig's sink messages once there are at least count (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    msgs = rig.sink_messages()
    while len(msgs) < count and time.monotonic() < deadline:
        time.sleep(0.05)
        msgs = rig.sink_messages()
    return msgs
