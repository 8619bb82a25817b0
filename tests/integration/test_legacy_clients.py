"""Other legacy mail clients on the Linux daemon, against the rig (real Dovecot checking
XOAUTH2 at a real OAuth server, an SMTP sink behind Dovecot's submission):

- fetchmail (Debian's binary) reads POP3 through the bridge with USER/PASS, the way a
  user's own .fetchmailrc would, delivering to an MDA that writes one file per message;
- a "scanner": a device or program that knows only SMTP AUTH LOGIN or PLAIN, no TLS,
  sending a multi-megabyte scan.pdf (curl with AUTH=LOGIN, smtplib with AUTH PLAIN).

The local side is plain (loopback); upstream is verified TLS with XOAUTH2."""
import base64
import email
import email.policy
import os
import random
import re
import shutil
import smtplib
import subprocess
import time
from email.message import EmailMessage

import pytest

# fetchmail's exit codes (fetchmail(1), "EXIT CODES").
FETCHMAIL_MAIL = 0
FETCHMAIL_NOMAIL = 1
FETCHMAIL_AUTHFAIL = 3
# curl's exit code for "the remote server denied curl to login" (CURLE_LOGIN_DENIED).
CURL_LOGIN_DENIED = 67

RCPT = "office@example.org"


def lf(data):
    """What fetchmail hands an MDA: every line end LF (it strips the CRs)."""
    return data.replace(b"\r\n", b"\n")


def stored_messages(rig, email_addr):
    """The messages now in the user's INBOX on the server, as bytes (new/ and cur/)."""
    d = rig.maildir(email_addr)
    return [p.read_bytes() for sub in ("new", "cur") if (d / sub).is_dir()
            for p in sorted((d / sub).iterdir())]


def message_id(data):
    m = re.search(rb"^Message-ID:\s*(<[^>\r\n]+>)", data, re.I | re.M)
    return m.group(1).decode() if m else None


def wait_for(predicate, limit=15, what="condition"):
    """Polls `predicate` until it returns something true, or fails after `limit` s."""
    deadline = time.monotonic() + limit
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %s s waiting for %s" % (limit, what))
        time.sleep(0.05)


# --- fetchmail --------------------------------------------------------------------------

class Fetchmail:
    """One fetchmail set-up in its own directory: FETCHMAILHOME (lock and UID list), a
    .fetchmailrc of mode 0600 and an MDA that writes each message to its own file."""

    def __init__(self, directory, port, user, password, keep=False):
        self.home = directory
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.out = self.home / "delivered"
        self.out.mkdir(exist_ok=True)
        mda = self.home / "deliver.sh"
        mda.write_text('#!/bin/sh\numask 077\nf=$(mktemp "%s/msg.XXXXXX") && exec cat > "$f"\n'
                       % self.out)
        mda.chmod(0o700)
        self.rc = self.home / ".fetchmailrc"
        # A plain set-up such as a user writes: no "auth" clause (fetchmail looks at CAPA
        # and picks USER/PASS itself); no TLS on loopback: sslproto '' stops fetchmail
        # from trying STLS, and there is no certificate to check.
        self.rc.write_text(
            "set no syslog\n"
            "set no bouncemail\n"
            "poll 127.0.0.1 with protocol POP3 service %d timeout 60:\n"
            "  user %s there with password %s\n"
            "  options %s sslproto '' no sslcertck\n"
            "  mda %s\n"
            % (port, rc_string(user), rc_string(password),
               "keep" if keep else "fetchall no keep", rc_string(str(mda))))
        self.rc.chmod(0o600)  # fetchmail refuses an rc file others can read

    def run(self):
        env = dict(os.environ, HOME=str(self.home), FETCHMAILHOME=str(self.home), LC_ALL="C")
        return subprocess.run(["fetchmail", "--verbose", "--fetchmailrc", str(self.rc)],
                              capture_output=True, timeout=120, env=env)

    def delivered(self):
        """What the MDA received, one bytes per message, fetchmail's Received: removed."""
        return [strip_fetchmail_received(p.read_bytes()) for p in sorted(self.out.iterdir())]


def rc_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def strip_fetchmail_received(data):
    """fetchmail prepends one Received: header (with continuation lines) for the MDA."""
    assert data.startswith(b"Received: from 127.0.0.1"), data[:200]
    lines = data.split(b"\n")
    i = 1
    while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
        i += 1
    return b"\n".join(lines[i:])


def explain(p):
    return "exit %d\n--- stdout\n%s\n--- stderr\n%s" % (
        p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"))


@pytest.fixture(scope="module", autouse=True)
def needs_clients():
    missing = [c for c in ("fetchmail", "curl") if not shutil.which(c)]
    if missing:
        pytest.fail("%s not installed: run scripts/install-packages.sh" % " ".join(missing))


def unique_message(tag, to, extra_body=b""):
    mid = "<%s-%d@legacy.example>" % (tag, time.time_ns())
    body = ("From: Sender <sender@example.net>\r\nTo: %s\r\nSubject: %s\r\n"
            "Message-ID: %s\r\n\r\nunique line %s\r\n"
            ".a line that starts with a dot\r\n" % (to, tag, mid, mid)).encode() + extra_body
    return mid, body


def test_fetchmail_pop3_fetches_every_message_intact_and_deletes(rig, xb, tmp_path):
    mid, data = unique_message("fetchmail-1", xb.email, "日本語の行です。\r\n".encode())
    rig.add_message(xb.email, data)
    rig.add_message_of_size(xb.email, 2 * 1024 * 1024)
    expected = stored_messages(rig, xb.email)
    assert len(expected) >= 5  # the three seeded messages and the two above

    fm = Fetchmail(tmp_path / "fm", xb.pop3_port, xb.email, xb.secret)
    p = fm.run()
    assert p.returncode == FETCHMAIL_MAIL, explain(p)
    assert b"USER " + xb.email.encode() in p.stdout and b"PASS *" in p.stdout, explain(p)

    got = fm.delivered()
    assert sorted(got) == sorted(lf(m) for m in expected)
    assert mid in {message_id(m) for m in got}
    assert any(b"unique line " + mid.encode() + b"\n.a line that starts" in m for m in got)
    # "no keep": fetchmail's DELE and QUIT went through the bridge; the INBOX is empty.
    assert wait_for(lambda: stored_messages(rig, xb.email) == [] or None,
                    what="the INBOX to be emptied")


def test_fetchmail_keep_uses_uidl_and_fetches_only_new_mail(rig, xb, tmp_path):
    mid1, data1 = unique_message("fetchmail-keep-1", xb.email)
    rig.add_message(xb.email, data1)
    before = stored_messages(rig, xb.email)

    fm = Fetchmail(tmp_path / "fm", xb.pop3_port, xb.email, xb.secret, keep=True)
    p = fm.run()
    assert p.returncode == FETCHMAIL_MAIL, explain(p)
    assert sorted(fm.delivered()) == sorted(lf(m) for m in before)
    assert stored_messages(rig, xb.email) != []  # kept on the server

    # Nothing new: fetchmail recognises every message by its UIDL and fetches none.
    p = fm.run()
    assert p.returncode == FETCHMAIL_NOMAIL, explain(p)
    assert len(fm.delivered()) == len(before)

    # One new message: only that one is fetched.
    mid2, data2 = unique_message("fetchmail-keep-2", xb.email)
    rig.add_message(xb.email, data2)
    p = fm.run()
    assert p.returncode == FETCHMAIL_MAIL, explain(p)
    got = fm.delivered()
    assert len(got) == len(before) + 1
    assert [message_id(m) for m in got].count(mid2) == 1
    assert [message_id(m) for m in got].count(mid1) == 1
    assert lf(data2) in got


def test_fetchmail_wrong_password_is_an_auth_failure_and_fetches_nothing(rig, xb, tmp_path):
    mid, data = unique_message("fetchmail-wrong", xb.email)
    rig.add_message(xb.email, data)
    fm = Fetchmail(tmp_path / "fm", xb.pop3_port, xb.email, "not-the-" + xb.secret)
    p = fm.run()
    assert p.returncode == FETCHMAIL_AUTHFAIL, explain(p)
    assert b"Invalid user name or password" in p.stdout + p.stderr, explain(p)
    assert fm.delivered() == []
    # Nothing was fetched, nothing deleted: the message is still on the server.
    assert mid in {message_id(m) for m in stored_messages(rig, xb.email)}


# --- a scanner that sends over SMTP with AUTH LOGIN / PLAIN and no TLS --------------------

def scan_message(sender, tag):
    """A scan-to-mail message as a multifunction printer sends it: a short text part and a
    ~2 MB base64 scan.pdf. Returns (Message-ID, the PDF bytes, the message with CRLF)."""
    rnd = random.Random(tag)
    pdf = b"%PDF-1.4\n" + rnd.randbytes(1_500_000) + b"\n%%EOF\n"
    m = EmailMessage()
    m["From"] = sender
    m["To"] = RCPT
    m["Subject"] = "Scanned document (%s)" % tag
    m["Message-ID"] = "<scan-%s-%d@scanner.local>" % (tag, time.time_ns())
    m.set_content("Scanned on MFP-3F-EAST.\n.Please find the scan attached.\n")
    m.add_attachment(pdf, maintype="application", subtype="pdf", filename="scan.pdf")
    data = m.as_bytes(policy=email.policy.SMTP)
    assert len(data) > 2_000_000
    return m["Message-ID"], pdf, data


def sink_message_with(rig, mid):
    for envelope, data in rig.sink_messages():
        if message_id(data) == mid:
            return envelope, data
    return None


def check_scan_arrived(rig, sender, mid, pdf, data):
    envelope, got = wait_for(lambda: sink_message_with(rig, mid), limit=30,
                             what="the scan to reach the sink")
    assert envelope["mail_from"] == sender and envelope["rcpt_tos"] == [RCPT]
    # Dovecot's submission prepends one Received: header; the rest is byte for byte.
    assert got.endswith(data), (len(got), len(data))
    parsed = email.message_from_bytes(got, policy=email.policy.default)
    parts = [pt for pt in parsed.iter_attachments() if pt.get_filename() == "scan.pdf"]
    assert len(parts) == 1 and parts[0].get_content() == pdf


def test_scanner_curl_auth_login_without_tls(rig, xb, tmp_path):
    mid, pdf, data = scan_message(xb.email, "curl-login")
    msg = tmp_path / "scan.eml"
    msg.write_bytes(data)
    p = subprocess.run(["curl", "--silent", "--show-error", "--verbose", "--max-time", "60",
                        "smtp://127.0.0.1:%d" % xb.smtp_port,
                        "--mail-from", xb.email, "--mail-rcpt", RCPT,
                        "--upload-file", str(msg),
                        "--user", "%s:%s" % (xb.email, xb.secret),
                        "--login-options", "AUTH=LOGIN"],
                       capture_output=True, timeout=90)
    trace = p.stderr.decode(errors="replace")
    assert p.returncode == 0, trace[-3000:]
    assert "> AUTH LOGIN" in trace and "STARTTLS" not in trace
    check_scan_arrived(rig, xb.email, mid, pdf, data)


def test_scanner_smtplib_auth_plain_without_tls(rig, xb):
    mid, pdf, data = scan_message(xb.email, "smtplib-plain")
    s = smtplib.SMTP("127.0.0.1", xb.smtp_port, local_hostname="mfp-3f-east", timeout=60)
    s.ehlo()
    assert "starttls" not in s.esmtp_features
    assert "PLAIN" in s.esmtp_features["auth"].split()
    s.user, s.password = xb.email, xb.secret
    code, _ = s.auth("PLAIN", s.auth_plain)
    assert code == 235
    assert s.sendmail(xb.email, [RCPT], data) == {}
    s.quit()
    check_scan_arrived(rig, xb.email, mid, pdf, data)


def test_scanner_wrong_password_is_refused_and_sends_nothing(rig, xb, tmp_path):
    mid, _, data = scan_message(xb.email, "curl-wrong")
    msg = tmp_path / "scan.eml"
    msg.write_bytes(data)
    before = len(rig.sink_messages())
    p = subprocess.run(["curl", "--silent", "--show-error", "--verbose", "--max-time", "60",
                        "smtp://127.0.0.1:%d" % xb.smtp_port,
                        "--mail-from", xb.email, "--mail-rcpt", RCPT,
                        "--upload-file", str(msg),
                        "--user", "%s:%s" % (xb.email, "wrong-password"),
                        "--login-options", "AUTH=LOGIN"],
                       capture_output=True, timeout=90)
    trace = p.stderr.decode(errors="replace")
    assert p.returncode == CURL_LOGIN_DENIED, trace[-3000:]
    assert "< 535 5.7.8" in trace
    assert "> MAIL FROM" not in trace

    # The same with smtplib and AUTH PLAIN.
    s = smtplib.SMTP("127.0.0.1", xb.smtp_port, local_hostname="mfp-3f-east", timeout=60)
    s.ehlo()
    s.user, s.password = xb.email, "wrong-password"
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        s.auth("PLAIN", s.auth_plain)
    assert e.value.smtp_code == 535
    s.quit()

    # A message that was never sent cannot be waited for; what the sink holds now was
    # all there before, and a correct send afterwards still arrives (the bridge is fine).
    assert sink_message_with(rig, mid) is None
    assert len(rig.sink_messages()) == before
    mid2, pdf2, data2 = scan_message(xb.email, "after-wrong")
    s = smtplib.SMTP("127.0.0.1", xb.smtp_port, local_hostname="mfp-3f-east", timeout=60)
    s.login(xb.email, xb.secret)
    s.sendmail(xb.email, [RCPT], data2)
    s.quit()
    check_scan_arrived(rig, xb.email, mid2, pdf2, data2)
    assert sink_message_with(rig, mid) is None


def test_no_secret_reaches_the_bridge_log(xb):
    log = xb.log_text()
    assert log, "the bridge wrote no log"
    assert xb.secret not in log
    for t in xb.tokens_seen:
        assert t not in log
    assert base64.b64encode(("\0%s\0%s" % (xb.email, xb.secret)).encode()).decode() not in log
    assert base64.b64encode(xb.secret.encode()).decode() not in log  # AUTH LOGIN's password
