"""The login-upgrading proxy against a real Dovecot that checks XOAUTH2 at a real OAuth
server, with real clients (imaplib, poplib, smtplib, curl). Plain on the local side,
verified TLS upstream."""
import base64
import imaplib
import os
import poplib
import pwd
import smtplib
import socket
import subprocess
import threading
import time

import pytest

from bridge import BridgeError
from conftest import Bridge, bridge_exe
from rig import xoauth2


def plain_b64(user, secret):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + secret.encode()).decode()


def crlf(data):
    """What IMAP and POP3 servers send for a stored message: every line end CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def maildir_messages(rig, email):
    """The stored messages, as the server sends them (Dovecot turns LF into CRLF)."""
    d = rig.maildir(email)
    return {crlf(p.read_bytes()) for sub in ("new", "cur") for p in (d / sub).iterdir()}


class Raw:
    """A raw line-oriented client, for what the library clients cannot send."""

    def __init__(self, port, timeout=10):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("connection closed; pending: %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode(errors="replace")

    def until(self, prefix):
        lines = []
        while True:
            ln = self.line()
            lines.append(ln)
            if ln.startswith(prefix):
                return lines

    def read_eof(self, limit=10):
        deadline = time.monotonic() + limit
        data = self.buf
        while time.monotonic() < deadline:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                return data
            data += chunk
        raise AssertionError("no EOF within %s s" % limit)

    def close(self):
        self.s.close()


# --- IMAP ---------------------------------------------------------------------------------

def test_imap_login_fetch_is_byte_identical(rig, xb):
    m = imaplib.IMAP4("127.0.0.1", xb.imap_port)
    assert "AUTH=PLAIN" in m.capabilities and "IMAP4REV1" in m.capabilities
    typ, _ = m.login(xb.email, xb.secret)
    assert typ == "OK"
    # After login the server's own capabilities arrive, with no AUTH= left in them.
    typ, caps = m.capability()
    assert typ == "OK" and b"IDLE" in caps[0] and b"AUTH=" not in caps[0]
    typ, data = m.select("INBOX")
    count = int(data[0])
    fetched = set()
    for i in range(1, count + 1):
        typ, data = m.fetch(str(i), "(BODY.PEEK[])")
        fetched.add(data[0][1])
    assert fetched == maildir_messages(rig, xb.email)
    m.logout()
    # And exactly what the server itself sends to a direct XOAUTH2 client.
    tok = rig.mint_token(xb.email)["access_token"]
    d = imaplib.IMAP4_SSL("127.0.0.1", rig.ports["imaps"], ssl_context=rig.ssl_context())
    # imaplib base64-encodes what the callback returns: give it the decoded XOAUTH2 string.
    d.authenticate("XOAUTH2", lambda _: base64.b64decode(xoauth2(xb.email, tok)))
    d.select("INBOX")
    direct = {d.fetch(str(i), "(BODY.PEEK[])")[1][0][1] for i in range(1, count + 1)}
    d.logout()
    assert direct == fetched


def test_imap_authenticate_plain_two_step(xb):
    m = imaplib.IMAP4("127.0.0.1", xb.imap_port)
    typ, _ = m.authenticate("PLAIN", lambda _: b"\0" + xb.email.encode() + b"\0" + xb.secret.encode())
    assert typ == "OK"
    assert m.select("INBOX")[0] == "OK"
    m.logout()


def test_imap_authenticate_plain_sasl_ir_and_literals(xb):
    r = Raw(xb.imap_port)
    assert r.line().startswith("* OK")
    r.send("a1 AUTHENTICATE PLAIN %s\r\n" % plain_b64(xb.email, xb.secret))
    last = r.until("a1 ")[-1]
    assert last.startswith("a1 OK"), last
    r.send("a2 LOGOUT\r\n")
    r.until("a2 ")
    r.close()

    # LOGIN with a synchronising literal for the user and LITERAL+ for the password.
    r = Raw(xb.imap_port)
    r.line()
    user = xb.email.encode()
    r.send(b"t LOGIN {%d}\r\n" % len(user))
    assert r.line().startswith("+")
    r.send(user + b" {%d+}\r\n" % len(xb.secret) + xb.secret.encode() + b"\r\n")
    last = r.until("t ")[-1]
    assert last.startswith("t OK"), last
    r.close()


def test_imap_literal_plus_over_the_limit_ends_the_session(xb):
    """A LITERAL+ over literal_max is on its way and cannot be skipped: its bytes must
    never be read as commands (here a LOGIN with the right secret hidden in it)."""
    r = Raw(xb.imap_port)
    r.line()
    hidden = b"h1 LOGIN %s %s\r\n" % (xb.email.encode(), xb.secret.encode())
    r.send(b"a1 LOGIN {70000+}\r\n" + hidden)
    assert r.line().startswith("a1 BAD literal too big")
    assert r.line().startswith("* BYE The literal is too big")
    rest = r.read_eof()
    assert b"h1 OK" not in rest
    r.close()
    # A line over line_max whose end arrives later: dropped as it comes, and the
    # session goes on; unless that end announces a LITERAL+ (then its bytes would be
    # read as commands): the session ends.
    for end, goes_on in ((b"\r\n", True), (b" {%d+}\r\n" % len(hidden), False)):
        r = Raw(xb.imap_port)
        r.line()
        r.send(b"a2 LOGIN " + b"x" * 9000)
        assert r.line().startswith("a2 BAD line too long")
        time.sleep(0.2)
        r.send(b"x" * 3000 + end + hidden)
        if goes_on:
            assert r.line().startswith("h1 OK"), "the line was skipped, the next one read"
        else:
            assert r.line().startswith("* BYE The command is too long")
            assert b"h1 OK" not in r.read_eof()
        r.close()


def test_imap_quoted_login_with_escapes_is_checked(xb):
    r = Raw(xb.imap_port)
    r.line()
    r.send('q1 LOGIN "%s" "wrong\\"pass\\\\word"\r\n' % xb.email)
    assert r.line().startswith("q1 NO [AUTHENTICATIONFAILED]")
    r.send('q2 LOGIN "%s" "%s"\r\n' % (xb.email, xb.secret))
    assert r.until("q2 ")[-1].startswith("q2 OK")
    r.close()


def test_imap_before_login_commands(xb):
    r = Raw(xb.imap_port)
    r.line()
    r.send("c1 CAPABILITY\r\n")
    lines = r.until("c1 ")
    assert lines[0].startswith("* CAPABILITY") and "AUTH=PLAIN" in lines[0] and lines[-1].startswith("c1 OK")
    r.send('c2 ID ("name" "Microsoft Outlook" "version" "16.0")\r\n')
    lines = r.until("c2 ")
    assert lines[0].startswith("* ID") and lines[-1].startswith("c2 OK")
    r.send("c3 NOOP\r\n")
    assert r.line().startswith("c3 OK")
    r.send("c4 SELECT INBOX\r\n")
    assert r.line().startswith("c4 BAD")
    r.send("c5 AUTHENTICATE XOAUTH2 abc\r\n")
    assert r.line().startswith("c5 NO")
    r.send("c6 LOGOUT\r\n")
    lines = r.until("c6 ")
    assert lines[0].startswith("* BYE") and lines[-1].startswith("c6 OK")
    r.read_eof()


def test_imap_malformed_and_oversized_commands_keep_the_session(xb):
    r = Raw(xb.imap_port)
    r.line()
    r.send("m1 LOGIN\r\n")
    assert r.line().startswith("m1 BAD")
    r.send('m2 LOGIN "unterminated\r\n')
    assert r.line().startswith("m2 BAD")
    r.send("\r\n")
    assert "BAD" in r.line()
    r.send("m3 NOOP " + "x" * 20000 + "\r\n")
    assert "BAD" in r.line()
    r.send("m4 LOGIN a {99999999}\r\n")
    assert "BAD" in r.line()
    r.send("m5 NOOP\r\n")
    assert r.line().startswith("m5 OK")
    r.close()


def test_imap_byte_by_byte(xb):
    r = Raw(xb.imap_port)
    r.line()
    for b in b"b1 LOGIN %s {%d}\r\n" % (xb.email.encode(), len(xb.secret)):
        r.send(bytes([b]))
    assert r.line().startswith("+")
    for b in xb.secret.encode() + b"\r\n":
        r.send(bytes([b]))
    assert r.until("b1 ")[-1].startswith("b1 OK")
    for b in b"b2 SELECT INBOX\r\n":
        r.send(bytes([b]))
    assert r.until("b2 ")[-1].startswith("b2 OK")
    r.close()


def test_imap_idle_passes_through(rig, xb):
    m = imaplib.IMAP4("127.0.0.1", xb.imap_port)
    m.login(xb.email, xb.secret)
    m.select("INBOX")
    tag = m._new_tag().decode()
    m.send(("%s IDLE\r\n" % tag).encode())
    assert m.readline().startswith(b"+")
    rig.add_message(xb.email, b"Subject: idle\r\n\r\nwake up\r\n")
    line = m.readline()
    assert b"EXISTS" in line or b"RECENT" in line, line
    m.send(b"DONE\r\n")
    while not m.readline().startswith(tag.encode()):
        pass
    m.logout()


def test_imap_wrong_secret_sends_nothing_upstream(rig, xb):
    # An early upstream connection may have been opened (TLS only, test_early.py): what
    # Dovecot logs of it must be a connection closed with no login attempt.
    seen = len((rig.dir / "logs" / "dovecot.log").read_text())
    m = imaplib.IMAP4("127.0.0.1", xb.imap_port)
    with pytest.raises(imaplib.IMAP4.error) as e:
        m.login(xb.email, "not-the-secret")
    assert "AUTHENTICATIONFAILED" in str(e.value)
    with pytest.raises(imaplib.IMAP4.error):
        m.login("nobody@example.com", xb.secret)
    m.shutdown()
    time.sleep(0.3)
    after = (rig.dir / "logs" / "dovecot.log").read_text()[seen:]
    assert all("no auth attempts" in ln for ln in after.splitlines() if "imap-login" in ln)
    assert "local login refused" in xb.log_text()


# --- POP3 ---------------------------------------------------------------------------------

def test_pop3_user_pass_retr_is_byte_identical(rig, xb):
    p = poplib.POP3("127.0.0.1", xb.pop3_port)
    caps = p.capa()
    assert "USER" in caps and caps.get("SASL") == ["PLAIN"]
    p.user(xb.email)
    assert p.pass_(xb.secret).startswith(b"+OK")
    count, _ = p.stat()
    got = set()
    for i in range(1, count + 1):
        resp, lines, _ = p.retr(i)
        got.add(b"\r\n".join(lines) + b"\r\n")
    # poplib has undone the dot-stuffing and split the lines.
    assert got == maildir_messages(rig, xb.email)
    p.quit()


def test_pop3_auth_plain_inline_two_step_apop(xb):
    r = Raw(xb.pop3_port)
    assert r.line().startswith("+OK")
    r.send("APOP %s 0123456789abcdef0123456789abcdef\r\n" % xb.email)
    assert r.line().startswith("-ERR")
    r.send("AUTH PLAIN %s\r\n" % plain_b64(xb.email, xb.secret))
    assert r.line().startswith("+OK")
    r.send("STAT\r\n")
    assert r.line().startswith("+OK")
    r.close()

    r = Raw(xb.pop3_port)
    r.line()
    r.send("AUTH PLAIN\r\n")
    assert r.line().startswith("+")
    r.send(plain_b64(xb.email, xb.secret) + "\r\n")
    assert r.line().startswith("+OK")
    r.send("QUIT\r\n")
    assert r.line().startswith("+OK")
    r.close()


def test_pop3_wrong_secret_and_bad_commands(xb):
    r = Raw(xb.pop3_port)
    r.line()
    r.send("PASS x\r\n")
    assert r.line().startswith("-ERR")
    r.send("STAT\r\n")
    assert r.line().startswith("-ERR")
    r.send("USER %s\r\nPASS wrong\r\n" % xb.email)
    assert r.line().startswith("+OK")
    assert r.line().startswith("-ERR [AUTH]")
    r.send("NOPE " + "y" * 20000 + "\r\n")
    assert r.line().startswith("-ERR")
    r.send("USER %s\r\nPASS %s\r\n" % (xb.email, xb.secret))
    r.line()
    assert r.line().startswith("+OK")
    r.close()


# --- SMTP ---------------------------------------------------------------------------------

MESSAGE = (b"From: user@example.com\r\nTo: friend@example.org\r\nSubject: through the bridge\r\n"
           b"Message-ID: <bridge-1@example.com>\r\n\r\nHello from XOAuth Bridge.\r\n"
           b".leading dot line\r\n" + "日本語の本文です。\r\n".encode() + b"end\r\n")


def sink_bodies(rig):
    return [data for _, data in rig.sink_messages()]


def _wait_sink(rig, n, limit=10):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        got = sink_bodies(rig)
        if len(got) >= n:
            return got
        time.sleep(0.05)
    return sink_bodies(rig)


def test_smtp_auth_plain_send_arrives_byte_identical(rig, xb):
    before = len(sink_bodies(rig))
    s = smtplib.SMTP("127.0.0.1", xb.smtp_port)
    s.ehlo("client.example")
    assert s.has_extn("auth") and "PLAIN" in s.esmtp_features["auth"]
    s.login(xb.email, xb.secret)
    assert s.sendmail(xb.email, ["friend@example.org"], MESSAGE) == {}
    s.quit()
    got = _wait_sink(rig, before + 1)
    assert len(got) == before + 1
    assert got[-1].endswith(MESSAGE), got[-1][-300:]


def test_smtp_auth_login_multi_step(rig, xb):
    s = smtplib.SMTP("127.0.0.1", xb.smtp_port)
    s.ehlo("client.example")
    s.user, s.password = xb.email, xb.secret
    code, _ = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
    assert code == 235
    s.quit()


def test_smtp_before_auth_and_wrong_secret(xb):
    r = Raw(xb.smtp_port)
    assert r.line().startswith("220")
    r.send("MAIL FROM:<a@b>\r\n")
    assert r.line().startswith("530")
    r.send("EHLO x\r\n")
    lines = r.until("250 ")
    assert any("AUTH PLAIN LOGIN" in ln for ln in lines)
    r.send("AUTH PLAIN %s\r\n" % plain_b64(xb.email, "wrong"))
    assert r.line().startswith("535 5.7.8")
    r.send("BOGUS " + "z" * 20000 + "\r\n")
    assert r.line().startswith("500")
    r.send("AUTH PLAIN %s\r\n" % plain_b64(xb.email, xb.secret))
    assert r.line().startswith("235")
    r.send("QUIT\r\n")
    assert r.line().startswith("221")
    r.close()


# --- curl -------------------------------------------------------------------------------

def test_curl_imap_pop3_smtp(rig, xb, tmp_path):
    user = "%s:%s" % (xb.email, xb.secret)
    out = subprocess.run(["curl", "-sS", "--max-time", "20", "-u", user,
                          "imap://127.0.0.1:%d/INBOX;UID=1" % xb.imap_port],
                         capture_output=True, check=True).stdout
    assert out in maildir_messages(rig, xb.email)
    out = subprocess.run(["curl", "-sS", "--max-time", "20", "-u", user,
                          "pop3://127.0.0.1:%d/1" % xb.pop3_port],
                         capture_output=True, check=True).stdout
    assert out in maildir_messages(rig, xb.email)
    msg = tmp_path / "m.eml"
    body = b"Subject: via curl\r\nMessage-ID: <curl-1@example.com>\r\n\r\nsent by curl\r\n"
    msg.write_bytes(body)
    before = len(sink_bodies(rig))
    subprocess.run(["curl", "-sS", "--max-time", "20", "-u", user,
                    "smtp://127.0.0.1:%d" % xb.smtp_port, "--mail-from", xb.email,
                    "--mail-rcpt", "friend@example.org", "-T", str(msg)],
                   capture_output=True, check=True)
    got = _wait_sink(rig, before + 1)
    assert got[-1].endswith(body)


# --- load and timing ------------------------------------------------------------------------

def test_200_sessions_at_once(xb):
    results = []

    def one():
        try:
            m = imaplib.IMAP4("127.0.0.1", xb.imap_port, timeout=60)
            m.login(xb.email, xb.secret)
            ok = m.select("INBOX")[0] == "OK"
            m.logout()
            results.append(ok)
        except Exception as e:  # noqa: BLE001 - counted as a failure below
            results.append(repr(e))

    threads = [threading.Thread(target=one) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert results.count(True) == 200, [r for r in results if r is not True][:5]


def test_silent_client_is_closed_after_preauth_timeout(rig, tmp_path):
    with Bridge(bridge_exe(), rig, tmp_path / "xb2", extra_config="preauth_timeout = 1") as b:
        r = Raw(b.imap_port)
        assert r.line().startswith("* OK")
        t0 = time.monotonic()
        rest = r.read_eof(limit=10)
        assert b"BYE" in rest and time.monotonic() - t0 < 5


# --- upstream TLS variants -------------------------------------------------------------------

def test_starttls_upstream_for_all_three(rig, tmp_path):
    """Servers that start plain and upgrade (587 and the like): STARTTLS/STLS upstream,
    EHLO replayed after it; the local side is unchanged."""
    servers = (f"imap = 127.0.0.1:{rig.ports['imap']}\nimap_tls = starttls\n"
               f"pop3 = 127.0.0.1:{rig.ports['pop3']}\npop3_tls = starttls\n"
               f"smtp = 127.0.0.1:{rig.ports['submission']}\nsmtp_tls = starttls\n")
    with Bridge(bridge_exe(), rig, tmp_path / "xb-starttls", servers=servers) as b:
        m = imaplib.IMAP4("127.0.0.1", b.imap_port)
        assert m.login(b.email, b.secret)[0] == "OK"
        assert m.select("INBOX")[0] == "OK"
        m.logout()
        p = poplib.POP3("127.0.0.1", b.pop3_port)
        p.user(b.email)
        assert p.pass_(b.secret).startswith(b"+OK")
        p.quit()
        before = len(sink_bodies(rig))
        s = smtplib.SMTP("127.0.0.1", b.smtp_port)
        s.ehlo("client.example")
        s.login(b.email, b.secret)
        s.sendmail(b.email, ["friend@example.org"], MESSAGE)
        s.quit()
        assert _wait_sink(rig, before + 1)[-1].endswith(MESSAGE)


def test_oauthbearer_upstream(rig, tmp_path):
    """A provider set to OAUTHBEARER (RFC 7628) instead of XOAUTH2: all three protocols."""
    with Bridge(bridge_exe(), rig, tmp_path / "xb-ob", provider_extra="sasl = oauthbearer\n") as b:
        m = imaplib.IMAP4("127.0.0.1", b.imap_port)
        assert m.login(b.email, b.secret)[0] == "OK"
        m.logout()
        p = poplib.POP3("127.0.0.1", b.pop3_port)
        p.user(b.email)
        assert p.pass_(b.secret).startswith(b"+OK")
        p.quit()
        s = smtplib.SMTP("127.0.0.1", b.smtp_port)
        s.ehlo("x")
        assert s.login(b.email, b.secret)[0] == 235
        s.quit()
        assert "AUTHENTICATE OAUTHBEARER" not in b.log_text()  # never logs what it sends
    assert any("method=OAUTHBEARER" in line
               for line in (rig.dir / "logs" / "dovecot.log").read_text().splitlines())


def test_max_sessions_refuses_cleanly(rig, tmp_path):
    with Bridge(bridge_exe(), rig, tmp_path / "xb-max", extra_config="max_sessions = 2") as b:
        first, second = Raw(b.imap_port), Raw(b.imap_port)
        assert first.line().startswith("* OK") and second.line().startswith("* OK")
        third = Raw(b.imap_port)
        assert third.line() == "* BYE Too many connections; try again later"
        third.read_eof()
        first.close()
        time.sleep(0.3)
        fourth = Raw(b.imap_port)
        assert fourth.line().startswith("* OK")
        for r in (second, fourth):
            r.close()


def test_upstream_certificate_is_verified(rig, tmp_path):
    """A server whose certificate does not chain to a trusted CA is never logged in to."""
    other_ca = tmp_path / "other-ca.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=Not the rig", "-keyout", str(tmp_path / "k.pem"),
                    "-out", str(other_ca)], check=True, capture_output=True)
    with Bridge(bridge_exe(), rig, tmp_path / "xb-badca", ca_file=other_ca) as b:
        m = imaplib.IMAP4("127.0.0.1", b.imap_port, timeout=20)
        with pytest.raises(imaplib.IMAP4.error) as e:
            m.login(b.email, b.secret)
        assert "UNAVAILABLE" in str(e.value)
        assert "certificate verify failed" in b.log_text()
        assert "logged in upstream" not in b.log_text()
        # Not "sign in again": the person is told what to tell IT.
        note = [l for l in b.log_text().splitlines() if "notice (untrusted) for 127.0.0.1" in l]
        assert note and "Tell your IT department" in note[0], b.log_text()
        assert "notice (signin-needed)" not in b.log_text()


# --- failures upstream ------------------------------------------------------------------------

def test_revoked_token_fails_cleanly_and_status_says_why(rig, xb):
    rig.revoke(xb.email)
    m = imaplib.IMAP4("127.0.0.1", xb.imap_port, timeout=15)
    t0 = time.monotonic()
    with pytest.raises(imaplib.IMAP4.error) as e:
        m.login(xb.email, xb.secret)
    assert "AUTHENTICATIONFAILED" in str(e.value)
    assert time.monotonic() - t0 < 5, "the client must not be left waiting"
    m.shutdown()
    assert "needs sign-in" in xb.status()
    # The refused token was dropped: the next login fails at once, without the server.
    p = poplib.POP3("127.0.0.1", xb.pop3_port, timeout=15)
    p.user(xb.email)
    with pytest.raises(poplib.error_proto) as e:
        p.pass_(xb.secret)
    assert b"[AUTH]" in e.value.args[0]
    s = smtplib.SMTP("127.0.0.1", xb.smtp_port, timeout=15)
    s.ehlo("x")
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        s.login(xb.email, xb.secret)
    assert e.value.smtp_code == 535
    # A person signs in again (here: a new token): mail flows again.
    xb.set_token(rig.mint_token(xb.email))
    m = imaplib.IMAP4("127.0.0.1", xb.imap_port)
    assert m.login(xb.email, xb.secret)[0] == "OK"
    m.logout()


def _kill_dovecot_children(rig, name):
    """Kills this rig's Dovecot processes serving `name` sessions (not other rigs')."""
    master = rig._procs["dovecot"].pid
    subprocess.run(["pkill", "-KILL", "-P", str(master), "-f", "/" + name + "$"],
                   check=False)


def test_upstream_closing_mid_fetch_is_an_error_for_the_client(rig, xb):
    rig.add_message_of_size(xb.email, 48 * 1024 * 1024)
    r = Raw(xb.imap_port, timeout=30)
    r.line()
    r.send("f1 LOGIN %s %s\r\nf2 SELECT INBOX\r\n" % (xb.email, xb.secret))
    r.until("f2 ")
    r.send("f3 FETCH * (BODY.PEEK[])\r\n")
    head = r.line()
    assert "FETCH" in head and "{" in head
    size = int(head.rsplit("{", 1)[1].rstrip("}"))
    got = len(r.buf)
    while got < 1024 * 1024:
        got += len(r.s.recv(65536))
    _kill_dovecot_children(rig, "imap")
    rest = r.read_eof(limit=20)
    assert got + len(rest) < size, "the client must see the stream end early"
    assert b"f3 OK" not in rest


def test_upstream_closing_mid_data_never_reports_sent(rig, xb):
    before = len(sink_bodies(rig))
    r = Raw(xb.smtp_port, timeout=20)
    r.line()
    r.send("EHLO x\r\n")
    r.until("250 ")
    r.send("AUTH PLAIN %s\r\n" % plain_b64(xb.email, xb.secret))
    assert r.line().startswith("235")
    r.send("MAIL FROM:<%s>\r\nRCPT TO:<friend@example.org>\r\nDATA\r\n" % xb.email)
    r.line(), r.line()
    assert r.line().startswith("354")
    r.send(b"Subject: cut\r\n\r\n" + b"partial line\r\n" * 1000)
    time.sleep(0.3)
    _kill_dovecot_children(rig, "submission")
    try:
        r.send(b"rest\r\n.\r\n")
        rest = r.read_eof(limit=20)
    except (BrokenPipeError, ConnectionResetError):
        rest = b""
    assert b"250" not in rest
    time.sleep(0.5)
    assert len(sink_bodies(rig)) == before


def _free_run(n):
    """A run of n consecutive ports, none in use now, away from the kernel's ephemeral range."""
    import random
    for _ in range(50):
        lo = random.randrange(20000, 30000)
        socks = []
        try:
            for p in range(lo, lo + n):
                s = socket.socket()
                s.bind(("127.0.0.1", p))
                socks.append(s)
            return lo
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no run of %d free ports" % n)


def test_port_range_gives_each_user_a_slot_kept_across_starts(rig, tmp_path):
    """On a shared machine (Remote Desktop), each user's companion takes a slot of the
    range (IMAP, POP3, SMTP on consecutive ports), keeps it from one start to the next,
    moves when something else holds it, and says clearly when the range is full."""
    lo = _free_run(6)
    extra = f"port_range_start = {lo}\nport_range_end = {lo + 5}\n"

    def slot(b):
        p = b.ports
        assert p["pop3"] == p["imap"] + 1 and p["smtp"] == p["imap"] + 2, p
        assert p["imap"] in (lo, lo + 3), (lo, p)
        return p["imap"]

    a = Bridge(bridge_exe(), rig, tmp_path / "user-a", extra_config=extra)
    b = Bridge(bridge_exe(), rig, tmp_path / "user-b", extra_config=extra)
    with a, b:
        first_a, first_b = slot(a), slot(b)
        assert first_a != first_b
        m = imaplib.IMAP4("127.0.0.1", b.imap_port)
        assert m.login(b.email, b.secret)[0] == "OK"
        m.logout()
        assert (a.dir / "state" / "listen-ports").read_text() == f"{first_a}\n"
        # The same ports again at the next start (Outlook's accounts point to them).
        a.stop()
        a.start()
        assert slot(a) == first_a
        # The range is full: a third user is told so, and which keys to change.
        c = Bridge(bridge_exe(), rig, tmp_path / "user-c", extra_config=extra)
        with pytest.raises(BridgeError) as e:
            c.__enter__()
        assert f"every port of {lo}..{lo + 5} is taken" in str(e.value)
        c.stop()
        # Something else took a's POP3 port while a was stopped, and b has gone: a moves
        # to the free slot, warns, and keeps the new one from then on.
        a.stop()
        b.stop()
        squatter = socket.socket()
        squatter.bind(("127.0.0.1", first_a + 1))
        squatter.listen(1)
        try:
            a.start()
            assert slot(a) == first_b
            assert "the ports used last time (from %d) are taken now" % first_a in a.log_text()
            # Who holds them is said, in the log and to the person (port squatting).
            me = pwd.getpwuid(os.geteuid()).pw_name
            held = "port %d is held by a program of uid %d (%s)" % (first_a + 1, os.geteuid(), me)
            assert held in a.log_text(), a.log_text()
            notes = [l for l in a.log_text().splitlines() if "notice (ports-taken)" in l]
            assert len(notes) == 1 and held in notes[0] and "tell your IT" in notes[0]
            a.stop()
        finally:
            squatter.close()
        a.start()
        assert slot(a) == first_b
        b.start()
        assert slot(b) == first_a


def test_a_program_of_another_user_is_refused(xb):
    """A loopback port does not say who connects: on a shared machine another user's
    program could try this user's local secret. The daemon asks the kernel who owns the
    client's socket and refuses other users, in the protocol's own words."""
    import os
    import pwd
    import shutil
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.fail("needs root and setpriv to act as another user")
    nobody = pwd.getpwnam("nobody")
    client = ("import socket,sys\n"
              "s=socket.create_connection(('127.0.0.1',int(sys.argv[1])),timeout=10)\n"
              "d=b''\n"
              "while True:\n"
              "    c=s.recv(4096)\n"
              "    if not c: break\n"
              "    d+=c\n"
              "sys.stdout.write(d.decode())\n")
    for port, want in ((xb.imap_port, "* BYE This XOAuth Bridge belongs to another user"),
                       (xb.pop3_port, "-ERR"), (xb.smtp_port, "421")):
        p = subprocess.run(["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
                            "--clear-groups", "/usr/bin/python3", "-c", client, str(port)],
                           capture_output=True, timeout=30)
        out = p.stdout.decode()
        assert p.returncode == 0 and out.startswith(want), (p.returncode, out, p.stderr)
        assert "another user" in out
    assert "refused: uid %d is another user" % nobody.pw_uid in xb.log_text()
    # The same user is served as always.
    m = imaplib.IMAP4("127.0.0.1", xb.imap_port)
    assert m.login(xb.email, xb.secret)[0] == "OK"
    m.logout()


# --- Outlook as people set it up (issue 15) --------------------------------------------------

def test_a_wrong_password_says_who_manages_it_and_tells_the_person(rig, tmp_path):
    """A password typed into Outlook's prompt reaches the companion: the refusal says in
    the protocol's own form that XOAuth Bridge manages the password, and the person is
    told once (in their language) not to type the Google password. An address that is
    not enrolled gets the same refusal and no notification."""
    with Bridge(bridge_exe(), rig, tmp_path / "xb-wrong") as b:
        for _ in range(2):
            p = poplib.POP3("127.0.0.1", b.pop3_port, timeout=15)
            p.user(b.email)
            with pytest.raises(poplib.error_proto) as e:
                p.pass_("my-google-password")
            assert e.value.args[0].startswith(b"-ERR [AUTH] Invalid user name or password. "
                                              b"XOAuth Bridge manages this account's password")
            p.quit()
        m = imaplib.IMAP4("127.0.0.1", b.imap_port, timeout=15)
        with pytest.raises(imaplib.IMAP4.error) as e:
            m.login(b.email, "my-google-password")
        assert "[AUTHENTICATIONFAILED] Invalid user name or password" in str(e.value)
        m.shutdown()
        s = smtplib.SMTP("127.0.0.1", b.smtp_port, timeout=15)
        s.ehlo("x")
        code, text = s.docmd("AUTH", "PLAIN " + plain_b64(b.email, "my-google-password"))
        assert code == 535 and b"XOAuth Bridge manages" in text, (code, text)
        s.close()
        notes = [l for l in b.log_text().splitlines() if "notice (wrong-password)" in l]
        assert len(notes) == 1 and b.email in notes[0], notes  # once an hour per account
        assert "do not type your Google password" in notes[0]
        assert "my-google-password" not in b.log_text()
        p = poplib.POP3("127.0.0.1", b.pop3_port, timeout=15)
        p.user("stranger@example.com")
        with pytest.raises(poplib.error_proto):
            p.pass_("whatever")
        p.quit()
        assert "notice (wrong-password) for stranger" not in b.log_text()


def test_pop3_recent_mode_is_carried_or_said_to_be_dropped(rig, tmp_path):
    """recent:ADDRESS (Gmail's POP3 recent mode) logs in as ADDRESS's local account and
    is carried upstream in XOAUTH2's user=. This rig's Dovecot, like a server without
    recent mode, refuses the prefixed name: the same token is tried without it, the
    login works, and the log and one notification say recent mode is off; later logins
    go without the prefix at once."""
    dovecot_log = rig.dir / "logs" / "dovecot.log"
    with Bridge(bridge_exe(), rig, tmp_path / "xb-recent") as b:
        user = "recent:" + b.email.upper()
        for _ in range(2):
            p = poplib.POP3("127.0.0.1", b.pop3_port, timeout=20)
            p.user(user)
            assert p.pass_(b.secret).startswith(b"+OK")
            assert p.stat()[0] >= 1
            p.quit()
        log = b.log_text()
        # Carried: Dovecot saw the prefixed user name (and refused it).
        assert f"recent:{b.email}" in dovecot_log.read_text(errors="replace")
        assert log.count("upstream refused the login in POP3 recent mode") == 1
        assert log.count("did not take POP3 recent mode") == 1
        assert log.count("notice (recent-mode)") == 1
        assert "refreshed the access token" not in log  # the token was fine all along
        assert "not sent: the mail server did not take it before" in log
        # Only POP3 has recent mode; the prefix names the account on the other two.
        m = imaplib.IMAP4("127.0.0.1", b.imap_port, timeout=20)
        assert m.login(user, b.secret)[0] == "OK"
        m.logout()
        assert log.count("recent mode") == b.log_text().count("recent mode")


def test_oauth_server_down_is_a_temporary_failure(rig, xb):
    # Last in this module: the OAuth server keeps its tokens in memory only.
    rig._procs["oauth"].kill()
    time.sleep(0.3)
    m = imaplib.IMAP4("127.0.0.1", xb.imap_port, timeout=30)
    with pytest.raises(imaplib.IMAP4.error) as e:
        m.login(xb.email, xb.secret)
    assert "UNAVAILABLE" in str(e.value)
    p = poplib.POP3("127.0.0.1", xb.pop3_port, timeout=30)
    p.user(xb.email)
    with pytest.raises(poplib.error_proto) as e:
        p.pass_(xb.secret)
    assert b"SYS/TEMP" in e.value.args[0]
    s = smtplib.SMTP("127.0.0.1", xb.smtp_port, timeout=30)
    s.ehlo("x")
    with pytest.raises(smtplib.SMTPException) as e:
        s.login(xb.email, xb.secret)
    assert "454" in str(e.value)


def test_clean_shutdown_and_no_secret_in_logs(rig, xb):
    log = xb.log_text()
    assert "local login accepted" in log  # the log is really there
    for secret in [xb.secret, *xb.tokens_seen]:
        assert secret not in log
    for line in log.splitlines():
        assert "Bearer" not in line and "auth=" not in line
    assert xb.stop() == 0


