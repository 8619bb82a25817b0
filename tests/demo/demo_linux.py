#!/usr/bin/python3
"""The main job of README command 1, on Linux: the whole fix against the loopback stand-in
for Gmail (real Dovecot checking XOAUTH2 at a real OAuth server, an SMTP sink), with a
real browser for the sign-in. Prints each step in words and a summary; cleans up.

    tests/demo/demo_linux.py [--exe dist/linux/xoauthbridge]
"""
import argparse
import email.header
import email.message
import email.policy
import poplib
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "rig"))
sys.path.insert(0, str(HERE.parent / "integration"))

from rig import Rig  # noqa: E402
from bridge import Bridge  # noqa: E402

EMAIL = "user@example.com"


def step(n, text):
    print("\n[%d] %s" % (n, text), flush=True)


def demo_fetchmail(b, home):
    """fetchmail with a .fetchmailrc as a user writes it; `keep` leaves the mail on the
    server. Returns how many messages its MDA received, or a reason."""
    if not shutil.which("fetchmail"):
        print("    fetchmail is not installed (scripts/install-packages.sh installs it)")
        return "not installed"
    home.mkdir(mode=0o700)
    out = home / "delivered"
    out.mkdir()
    mda = home / "deliver.sh"
    mda.write_text('#!/bin/sh\nf=$(mktemp "%s/msg.XXXXXX") && exec cat > "$f"\n' % out)
    mda.chmod(0o700)
    rc = home / ".fetchmailrc"
    rc.write_text("set no syslog\nset no bouncemail\n"
                  "poll 127.0.0.1 with protocol POP3 service %d timeout 30:\n"
                  '  user "%s" there with password "%s"\n'
                  "  options keep fetchall sslproto ''\n"
                  '  mda "%s"\n' % (b.pop3_port, EMAIL, b.secret, mda))
    rc.chmod(0o600)
    p = subprocess.run(["fetchmail", "--fetchmailrc", str(rc)], capture_output=True, timeout=60,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(home), "FETCHMAILHOME": str(home),
                            "LC_ALL": "C"})
    n = len(list(out.iterdir()))
    print("    fetchmail exited with %d; its MDA received %d messages" % (p.returncode, n))
    return n if p.returncode == 0 and n else "failed (exit %d)" % p.returncode


def demo_scanner(rig, b, path):
    """curl as a scan-to-mail device: AUTH LOGIN in the clear on loopback, a PDF attached."""
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 1024 + b"\n%%EOF\n"
    m = email.message.EmailMessage()
    m["From"], m["To"], m["Subject"] = EMAIL, "office@example.org", "Scanned document"
    m.set_content("Scanned on MFP-3F-EAST.\n")
    m.add_attachment(pdf, maintype="application", subtype="pdf", filename="scan.pdf")
    data = m.as_bytes(policy=email.policy.SMTP)
    path.write_bytes(data)
    before = len(rig.sink_messages())
    p = subprocess.run(["curl", "-sS", "--max-time", "30", "smtp://127.0.0.1:%d" % b.smtp_port,
                        "--mail-from", EMAIL, "--mail-rcpt", "office@example.org",
                        "--upload-file", str(path), "--user", "%s:%s" % (EMAIL, b.secret),
                        "--login-options", "AUTH=LOGIN"], capture_output=True, timeout=60)
    deadline = time.monotonic() + 10
    while p.returncode == 0 and len(rig.sink_messages()) <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    arrived = len(rig.sink_messages()) > before and rig.sink_messages()[-1][1].endswith(data)
    print("    curl exited with %d; the %d KB scan arrived byte for byte: %s"
          % (p.returncode, len(data) // 1024, "yes" if arrived else "NO"))
    return "yes" if arrived else "no"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", default=str(HERE.parent.parent / "dist/linux/xoauthbridge"))
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="xb-demo-"))
    rigdir = Path(tempfile.mkdtemp(prefix="xb-demo-rig-"))
    summary = {}
    try:
        step(1, "Starting the stand-in for Gmail on 127.0.0.1: Dovecot (IMAP, POP3, submission "
                "over TLS, checking XOAUTH2 tokens), an OAuth 2.0 server, an SMTP sink")
        with Rig(rigdir, users=(EMAIL,)) as rig:
            print("    up in %.2f s; the mailbox of %s holds %d messages"
                  % (rig.startup_seconds, EMAIL, len(list((rig.maildir(EMAIL) / "new").iterdir()))))
            browser = HERE.parent / "tools" / "headless-browser.sh"
            b = Bridge(a.exe, rig, tmp / "xb", token=False, log_level="info",
                       general_extra="browser = %s\nsignin_timeout = 60" % browser)
            b.write_config()

            step(2, "Signing in %s: `xoauthbridge login` opens the consent page in a real "
                    "browser (headless Chromium), PKCE + state, loopback redirect" % EMAIL)
            page = tmp / "page.html"
            p = subprocess.run([a.exe, "login", EMAIL, "--provider", "rig", "--config",
                                str(b.config_path)], capture_output=True, timeout=120,
                               env={"XB_BROWSER_DUMP": str(page), "PATH": "/usr/bin:/bin",
                                    "HOME": str(tmp)})
            for line in p.stderr.decode().splitlines():
                if not line.startswith("If no browser"):
                    print("    " + line)
            if p.returncode != 0:
                raise SystemExit("sign-in failed")
            b.secret = p.stdout.decode().strip()
            print("    the browser showed: %s" % ("\"You are signed in\""
                                                 if "You are signed in" in page.read_text() else "?"))
            summary["signed in"] = EMAIL

            step(3, "Starting the companion: `xoauthbridge serve` with loopback listeners")
            b.start()
            print("    IMAP 127.0.0.1:%d, POP3 127.0.0.1:%d, SMTP 127.0.0.1:%d"
                  % (b.imap_port, b.pop3_port, b.smtp_port))

            step(4, "A legacy client reads mail over POP3 with a plain USER/PASS (the local "
                    "password); the companion logs in to the server with XOAUTH2 over TLS")
            pop = poplib.POP3("127.0.0.1", b.pop3_port)
            pop.user(EMAIL)
            pop.pass_(b.secret)
            count, size = pop.stat()
            subjects = []
            for i in range(1, count + 1):
                for line in pop.top(i, 0)[1]:
                    if line.lower().startswith(b"subject:"):
                        raw = line.decode(errors="replace")[8:].strip()
                        subjects.append(str(email.header.make_header(
                            email.header.decode_header(raw))))
            pop.quit()
            for s in subjects:
                print("    - " + s)
            summary["messages read (POP3)"] = count

            step(5, "The same client sends a message over SMTP with AUTH PLAIN")
            before = len(rig.sink_messages())
            msg = (b"From: user@example.com\r\nTo: friend@example.org\r\nSubject: Hello from the "
                   b"bridge\r\n\r\nSent by a client that only knows passwords.\r\n")
            s = smtplib.SMTP("127.0.0.1", b.smtp_port)
            s.ehlo("scanner.local")
            s.login(EMAIL, b.secret)
            s.sendmail(EMAIL, ["friend@example.org"], msg)
            s.quit()
            deadline = time.monotonic() + 10
            while len(rig.sink_messages()) <= before and time.monotonic() < deadline:
                time.sleep(0.05)
            arrived = len(rig.sink_messages()) > before and rig.sink_messages()[-1][1].endswith(msg)
            print("    arrived at the mail server's relay, byte for byte: %s" % ("yes" if arrived else "NO"))
            summary["message sent (SMTP)"] = "yes" if arrived else "no"

            step(6, "Other legacy clients: fetchmail reads the mailbox over POP3, and a "
                    "scanner-style sender (curl, AUTH LOGIN, no TLS) mails a scan.pdf")
            summary["fetchmail (POP3)"] = demo_fetchmail(b, tmp / "fetchmail")
            summary["scanner (SMTP LOGIN)"] = demo_scanner(rig, b, tmp / "scan.eml")

            step(7, "What `xoauthbridge status` says")
            print("    " + b.status().strip())
            b.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(rigdir, ignore_errors=True)

    print("\n== Summary")
    for k, v in summary.items():
        print("   %-22s %s" % (k, v))
    if (summary.get("message sent (SMTP)") != "yes" or not summary.get("messages read (POP3)")
            or not isinstance(summary.get("fetchmail (POP3)"), int)
            or summary.get("scanner (SMTP LOGIN)") != "yes"):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
