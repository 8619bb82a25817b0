#!/usr/bin/python3
"""The main job of README command 1, on Linux: the whole fix against the loopback stand-in
for Gmail (real Dovecot checking XOAUTH2 at a real OAuth server, an SMTP sink), with a
real browser for the sign-in. Prints each step in words and a summary; cleans up.

    tests/demo/demo_linux.py [--exe dist/linux/xoauthbridge]
"""
import argparse
import email.header
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

            step(6, "What `xoauthbridge status` says")
            print("    " + b.status().strip())
            b.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(rigdir, ignore_errors=True)

    print("\n== Summary")
    for k, v in summary.items():
        print("   %-22s %s" % (k, v))
    if summary.get("message sent (SMTP)") != "yes" or not summary.get("messages read (POP3)"):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
