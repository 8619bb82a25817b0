"""The control channel (docs/pipe-protocol.md) of the real daemon, on its Unix socket, with a
client written here from the specification: every op, broken and hostile input, several
clients at once, a second daemon, another user, a browser sign-in through the rig's OAuth
server (ENROL) and then real mail with the endpoint and secret GET_ENDPOINT hands out."""
import imaplib
import os
import pwd
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import Bridge, bridge_exe

TOOLS = Path(__file__).resolve().parent.parent / "tools"
EMAIL = "user@example.com"

MAGIC = 0x4258
HDR = struct.Struct("<HBBHHII")          # magic version kind op status id length
REQUEST, REPLY, EVENT = 1, 2, 3
HELLO, LIST, ENROL, ENDPOINT, REPORT, RESTORE, FORGET, SUBSCRIBE = range(1, 9)
ACCOUNT_BRIDGED, ACCOUNT_ADD, SET_TOKENS, CHECK_SECRET, GET_PORTS = range(9, 14)
STATE_CHANGED, FAILURE_REPORTED = 0x8001, 0x8002
OK, BAD_REQUEST, UNKNOWN_OP, VERSION, NOT_FOUND, AUTH_NEEDED, TEMP, INTERNAL = range(8)
ST_NEW, ST_OK, ST_NEEDS_SIGNIN, ST_TEMP_ERROR, ST_REMOVED = range(5)
FRAME_MAX = 131072


# --- the wire format, from the specification ---------------------------------------------
def u32(v):
    return struct.pack("<I", v)


def s(text):
    b = text.encode() if isinstance(text, str) else text
    return u32(len(b)) + b


def frame(op, rid, payload=b"", version=1, kind=REQUEST, status=0, length=None):
    return HDR.pack(MAGIC, version, kind, op, status, rid,
                    len(payload) if length is None else length) + payload


class Reader:
    def __init__(self, data):
        self.d, self.at = data, 0

    def take(self, n):
        assert self.at + n <= len(self.d), "field past the end of the payload"
        b = self.d[self.at:self.at + n]
        self.at += n
        return b

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def s(self):
        return self.take(self.u32()).decode()

    def done(self):
        return self.at == len(self.d)


class Frame:
    def __init__(self, hdr, payload):
        magic, self.version, self.kind, self.op, self.status, self.id, length = hdr
        assert magic == MAGIC and length == len(payload)
        self.payload = payload

    def r(self):
        return Reader(self.payload)

    def message(self):
        return self.r().s()

    def __repr__(self):
        return f"Frame(kind={self.kind} op={self.op:#x} status={self.status} id={self.id})"


class Ctl:
    """A client of the control socket, written from docs/pipe-protocol.md."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.next_id = 100
        self.events = []

    def close(self):
        self.sock.close()

    def send(self, op, payload=b"", **kw):
        self.next_id += 1
        self.sock.sendall(frame(op, kw.pop("rid", self.next_id), payload, **kw))
        return self.next_id

    def recv_exact(self, n):
        b = b""
        while len(b) < n:
            chunk = self.sock.recv(n - len(b))
            if not chunk:
                return None
            b += chunk
        return b

    def recv(self):
        """The next frame, or None when the companion closed the connection."""
        h = self.recv_exact(HDR.size)
        if h is None:
            return None
        hdr = HDR.unpack(h)
        payload = self.recv_exact(hdr[6]) if hdr[6] else b""
        assert payload is not None, "connection closed inside a frame"
        return Frame(hdr, payload)

    def reply(self, rid):
        while True:
            f = self.recv()
            assert f is not None, "closed before the reply"
            if f.kind == EVENT:
                self.events.append(f)
                continue
            assert f.kind == REPLY and f.id == rid, f
            return f

    def call(self, op, payload=b"", **kw):
        return self.reply(self.send(op, payload, **kw))

    def event(self, op, pred=lambda f: True, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            for f in self.events:
                if f.op == op and pred(f):
                    self.events.remove(f)
                    return f
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            f = self.recv()
            assert f is not None, "closed while waiting for an event"
            assert f.kind == EVENT, f
            self.events.append(f)
            assert time.monotonic() < deadline, f"no event {op:#x} in {timeout} s"

    def expect_closed(self):
        self.sock.settimeout(5)
        assert self.recv() is None


def hello(c):
    f = c.call(HELLO, u32(1) + u32(1) + s("test_control.py"))
    assert f.status == OK
    r = f.r()
    return r.u32(), r.u32(), r.u32(), r.s()


def accounts(c):
    f = c.call(LIST)
    assert f.status == OK, f.message()
    r = f.r()
    out = {}
    for _ in range(r.u32()):
        email, provider, state, err = r.s(), r.s(), r.u32(), r.s()
        out[email] = dict(provider=provider, state=state, error=err, ok=r.u64(), fail=r.u64())
    assert r.done()
    return out


def endpoint(c, email):
    f = c.call(ENDPOINT, s(email))
    assert f.status == OK, f.message()
    r = f.r()
    e = dict(host=r.s(), imap=r.u32(), pop3=r.u32(), smtp=r.u32(), user=r.s(), secret=r.s())
    assert r.done()
    return e


def state_event(f):
    r = f.r()
    return r.s(), r.u32(), r.s()


def imap_select(host, port, user, secret):
    m = imaplib.IMAP4(host, port, timeout=30)
    try:
        m.login(user, secret)
        typ, data = m.select("INBOX")
        assert typ == "OK"
        return int(data[0])
    finally:
        try:
            m.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


def imap_login_error(port, user, secret):
    m = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    try:
        m.login(user, secret)
        return None
    except imaplib.IMAP4.error as e:
        return str(e)
    finally:
        try:
            m.shutdown()
        except OSError:
            pass


def make_bridge(rig, directory, token=True, email=EMAIL, timeout=60):
    general = f"browser = {TOOLS / 'headless-browser.sh'}\nsignin_timeout = {timeout}"
    return Bridge(bridge_exe(), rig, directory, token=token, email=email,
                  general_extra=general, extra_config="connect_timeout = 5")


@pytest.fixture(scope="module")
def xb(rig, tmp_path_factory):
    with make_bridge(rig, tmp_path_factory.mktemp("xb")) as b:
        yield b


@pytest.fixture
def ctl(xb):
    c = Ctl(xb.control_path)
    yield c
    c.close()


# --- every op --------------------------------------------------------------------------------
def test_ready_file_names_the_socket_and_it_is_private(xb):
    st = os.stat(xb.control_path)
    assert oct(st.st_mode & 0o777) == "0o600"
    assert oct(os.stat(xb.runtime_dir).st_mode & 0o777) == "0o700"
    assert '"control":"%s"' % xb.control_path in (xb.dir / "ready.json").read_text()


def test_hello_list_endpoint_and_mail(xb, ctl, rig):
    version, lo, hi, server = hello(ctl)
    assert (version, lo, hi) == (1, 1, 1) and server.startswith("xoauthbridge ")
    acc = accounts(ctl)
    assert acc[EMAIL]["provider"] == "rig" and acc[EMAIL]["state"] == ST_OK
    e = endpoint(ctl, EMAIL)
    assert e["host"] == "127.0.0.1" and e["user"] == EMAIL and len(e["secret"]) == 32
    assert (e["imap"], e["pop3"], e["smtp"]) == (xb.imap_port, xb.pop3_port, xb.smtp_port)
    # The new secret works against the real Dovecot; the one before it no longer does.
    assert imap_select(e["host"], e["imap"], e["user"], e["secret"]) >= 1
    assert imap_login_error(xb.imap_port, EMAIL, xb.secret) is not None
    xb.secret = e["secret"]
    assert e["secret"] not in xb.log_text()
    again = endpoint(ctl, EMAIL.upper())                     # addresses in any case
    assert again["user"] == EMAIL
    xb.secret = again["secret"]
    f = ctl.call(ENDPOINT, s("nobody@example.com"))
    assert f.status == NOT_FOUND and "no account" in f.message()


def test_ports_and_the_password_outlook_holds(xb, ctl):
    """GET_PORTS answers the listeners without making a new secret; CHECK_SECRET says
    whether a password is the account's local secret, and never more than that."""
    f = ctl.call(GET_PORTS)
    assert f.status == OK, f.message()
    r = f.r()
    assert (r.s(), r.u32(), r.u32(), r.u32()) == ("127.0.0.1", xb.imap_port, xb.pop3_port,
                                                  xb.smtp_port)
    assert r.done()
    # The secret in force still logs in: GET_PORTS changed nothing.
    assert imap_select("127.0.0.1", xb.imap_port, EMAIL, xb.secret) >= 1

    def check(email, secret):
        f = ctl.call(CHECK_SECRET, s(email) + s(secret))
        if f.status != OK:
            return f.status
        r = f.r()
        current = r.u32()
        assert r.done()
        return current

    assert check(EMAIL, xb.secret) == 1
    assert check(EMAIL.upper(), xb.secret) == 1
    assert check(EMAIL, "my-google-password") == 0
    assert check(EMAIL, "") == 0
    assert check(EMAIL, xb.secret[:-1]) == 0
    assert check("nobody@example.com", xb.secret) == NOT_FOUND
    assert ctl.call(CHECK_SECRET, s(EMAIL)).status == BAD_REQUEST      # no secret field
    log = xb.log_text()
    assert "is the current local secret" in log and "is not the local secret" in log
    assert xb.secret not in log and "my-google-password" not in log


def test_report_failure_is_logged_and_told_to_subscribers(xb, ctl):
    sub = Ctl(xb.control_path)
    assert sub.call(SUBSCRIBE).status == OK
    f = ctl.call(REPORT, s("stranger@gmail.com") + u32(2) + u32(0x800CCC90) +
                 s("ログオンに失敗しました\r\nretry"))
    assert f.status == OK and f.payload == b""
    ev = sub.event(FAILURE_REPORTED)
    r = ev.r()
    assert (r.s(), r.u32(), r.u32(), r.s()) == ("stranger@gmail.com", 2, 0x800CCC90,
                                                "ログオンに失敗しました\r\nretry")
    log = xb.log_text()
    assert "reports a POP3 failure for stranger@gmail.com (not bridged): code 0x800ccc90" in log
    assert "\\x0d\\x0aretry" in log            # control characters escaped in the log
    sub.close()


def test_restore_and_forget(xb, ctl, rig):
    other = "other@example.com"
    rig.add_user(other)
    secret = xb.add_account(other)
    sub = Ctl(xb.control_path)
    assert sub.call(SUBSCRIBE).status == OK
    assert accounts(ctl)[other]["state"] == ST_OK and rig.live_grants(other) >= 1
    f = ctl.call(RESTORE, s(other))
    assert f.status == OK and f.r().s() == "", f.message()
    assert rig.live_grants(other) == 0, "RESTORE revokes the grant at the provider"
    assert accounts(ctl)[other]["state"] == ST_NEW
    assert state_event(sub.event(STATE_CHANGED, lambda e: state_event(e)[0] == other))[1] == ST_NEW
    f = ctl.call(FORGET, s(other))
    assert f.status == OK
    assert other not in accounts(ctl)
    assert state_event(sub.event(STATE_CHANGED, lambda e: state_event(e)[0] == other))[1] == \
        ST_REMOVED
    assert ctl.call(FORGET, s(other)).status == NOT_FOUND
    assert ctl.call(RESTORE, s(other)).status == NOT_FOUND
    # The sign-out is an event that names the account, never its tokens or secret.
    log = xb.log_text()
    assert other + " signed out: its tokens are removed here" in log
    for value in xb.tokens_seen + [secret]:
        assert value not in log
    sub.close()


# --- broken and hostile input ------------------------------------------------------------------
def test_malformed_requests_get_errors_on_the_same_connection(ctl):
    cases = [
        (frame(0x63, 1), UNKNOWN_OP),
        (frame(0x8001, 2), UNKNOWN_OP),
        (frame(LIST, 3, version=2), VERSION),
        (frame(LIST, 4, version=0), VERSION),
        (frame(LIST, 5, b"\0"), BAD_REQUEST),                           # stray byte
        (frame(ENDPOINT, 6, u32(10) + b"a@b"), BAD_REQUEST),              # string cut short
        (frame(ENDPOINT, 7, u32(0xFFFFFFFF)), BAD_REQUEST),
        (frame(ENDPOINT, 8, s(b"a@b\0c")), BAD_REQUEST),
        (frame(ENDPOINT, 9, s(b"\xc0\xafa@b")), BAD_REQUEST),            # not UTF-8
        (frame(ENROL, 10, s("not an address") + s("")), BAD_REQUEST),
        (frame(ENROL, 11, s("user@example.com")), BAD_REQUEST),          # provider missing
        (frame(REPORT, 12, s("a@b") + u32(9) + u32(0) + s("")), BAD_REQUEST),
        (frame(LIST, 13, kind=REPLY), BAD_REQUEST),
        (frame(LIST, 14, status=3), BAD_REQUEST),
        (frame(HELLO, 15, u32(2) + u32(3) + s("future")), VERSION),
    ]
    for raw, want in cases:
        ctl.sock.sendall(raw)
        f = ctl.recv()
        assert f is not None and f.kind == REPLY, raw
        assert f.id == HDR.unpack(raw[:16])[5] and f.status == want, (raw, f, f.payload)
        assert f.message()
        if want == VERSION:
            r = f.r()
            r.s()
            assert (r.u32(), r.u32()) == (1, 1) and r.done()
    # ... and the connection still works.
    assert EMAIL in accounts(ctl)


@pytest.mark.parametrize("raw,why", [
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "wrong magic"),
    (struct.pack("<HBBHHII", 0x4358, 1, 1, 2, 0, 7, 0), "wrong magic"),
    (frame(LIST, 77, length=FRAME_MAX), "longer than"),
    (frame(LIST, 78, length=0xFFFFFFFF), "longer than"),
])
def test_lost_framing_gets_an_error_then_close(xb, raw, why):
    c = Ctl(xb.control_path)
    c.sock.sendall(raw)
    f = c.recv()
    assert f.kind == REPLY and f.status == BAD_REQUEST and why in f.message()
    if why == "longer than":
        assert f.id == HDR.unpack(raw[:16])[5]
    c.expect_closed()
    c.close()
    assert EMAIL in accounts(Ctl(xb.control_path))     # the companion serves on


def test_truncated_frame_then_end_of_input(xb):
    for raw in (frame(ENDPOINT, 5, s(EMAIL))[:-3], frame(LIST, 6)[:9]):
        c = Ctl(xb.control_path)
        c.sock.sendall(raw)
        c.sock.shutdown(socket.SHUT_WR)
        f = c.recv()
        assert f.status == BAD_REQUEST and "truncated" in f.message()
        c.expect_closed()
        c.close()
    # A request and then the end: it is still answered.
    c = Ctl(xb.control_path)
    c.sock.sendall(frame(LIST, 9))
    c.sock.shutdown(socket.SHUT_WR)
    f = c.recv()
    assert f.status == OK and f.id == 9
    c.expect_closed()
    c.close()
    assert EMAIL in accounts(Ctl(xb.control_path))


def test_byte_by_byte_and_pipelined(xb):
    c = Ctl(xb.control_path)
    for b in frame(LIST, 41):
        c.sock.send(bytes([b]))
        time.sleep(0.005)
    assert c.reply(41).status == OK
    c.sock.sendall(b"".join(frame(LIST, 500 + i) for i in range(50)) + frame(0x99, 550))
    for i in range(50):
        assert c.reply(500 + i).status == OK
    assert c.reply(550).status == UNKNOWN_OP
    c.close()


def test_two_clients_and_silent_ones_do_not_block_each_other(xb):
    silent = Ctl(xb.control_path)                       # connects, sends nothing
    half = Ctl(xb.control_path)
    half.sock.sendall(frame(LIST, 61)[:5])              # starts a frame, never ends it
    t0 = time.monotonic()
    a, b = Ctl(xb.control_path), Ctl(xb.control_path)
    done = []

    def work(c, n):
        for i in range(n):
            assert c.call(LIST).status == OK
        done.append(c)

    threads = [threading.Thread(target=work, args=(c, 100)) for c in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(done) == 2 and time.monotonic() - t0 < 10
    # The half frame is given up on after its time (10 s): an error, then the end.
    half.sock.settimeout(30)
    f = half.recv()
    assert f.status == BAD_REQUEST and "truncated" in f.message()
    assert time.monotonic() - t0 >= 9
    half.expect_closed()
    # The silent one was never bothered and still works.
    assert silent.call(LIST).status == OK
    for c in (silent, half, a, b):
        c.close()


# --- one companion per user ---------------------------------------------------------------------
def test_a_second_daemon_on_the_same_socket_is_refused(xb):
    p = subprocess.run([xb.exe, "serve", "--config", str(xb.config_path)], env=xb.env(),
                       capture_output=True, timeout=20)
    assert p.returncode == 1
    assert "another XOAuth Bridge companion of this user is running" in xb.log_text()
    assert xb.proc.poll() is None
    assert EMAIL in accounts(Ctl(xb.control_path))     # the first one is untouched


def test_a_socket_left_by_a_killed_daemon_is_replaced(rig, tmp_path):
    with make_bridge(rig, tmp_path / "xb") as b:
        b.proc.kill()
        b.proc.wait()
        assert b.control_path.exists()
        with pytest.raises(ConnectionRefusedError):
            Ctl(b.control_path)
        b.start()
        assert EMAIL in accounts(Ctl(b.control_path))
        assert "left by a companion that ended" in b.log_text()
    assert not b.control_path.exists(), "a clean stop removes the socket"


# --- another user -------------------------------------------------------------------------------
NOBODY_CLIENT = r"""
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect", e.errno); sys.exit(0)
try:
    # The companion may have closed already: then even this send fails.
    s.sendall(struct.pack("<HBBHHII", 0x4258, 1, 1, 2, 0, 1, 0))
    print("reply", len(s.recv(100)))
except OSError as e:
    print("recv-error", e.errno)
"""


def run_as_nobody(args, env=None):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to act as another user")
    nobody = pwd.getpwnam("nobody")
    return subprocess.run(["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
                           "--clear-groups", *args], capture_output=True, timeout=30,
                          env=env or os.environ)


def test_another_user_is_refused(rig, tmp_path):
    # Not under pytest's tmp_path (0700 root): nobody must be able to reach the socket
    # once the test opens it up, to show the daemon's own check.
    run = Path(tempfile.mkdtemp(prefix="xb-ctl-"))
    os.chmod(run, 0o700)

    class B(Bridge):
        runtime_dir = run

    general = f"browser = {TOOLS / 'headless-browser.sh'}"
    try:
        with B(bridge_exe(), rig, tmp_path / "xb", general_extra=general) as b:
            sock = str(b.control_path)
            # 1. The file system: the directory is 0700, the socket 0600.
            p = run_as_nobody([sys.executable, "-c", NOBODY_CLIENT, sock])
            assert p.stdout.decode().split()[0] == "connect", p.stdout + p.stderr
            # 2. The daemon itself (SO_PEERCRED), with the file system opened up.
            os.chmod(run, 0o711)
            os.chmod(sock, 0o666)
            p = run_as_nobody([sys.executable, "-c", NOBODY_CLIENT, sock])
            out = p.stdout.decode().split()
            assert out, p.stderr
            assert out[0] in ("reply", "recv-error") and (out[0] != "reply" or out[1] == "0"), out
            assert "refused a connection from uid %d" % pwd.getpwnam("nobody").pw_uid \
                in b.log_text()
            assert EMAIL in accounts(Ctl(sock))
            # 3. The client's check: nobody's CLI refuses a socket served by root.
            state = Path(tempfile.mkdtemp(prefix="xb-nobody-"))
            os.chown(state, pwd.getpwnam("nobody").pw_uid, -1)
            env = dict(os.environ, XDG_RUNTIME_DIR=str(run), XDG_STATE_HOME=str(state),
                       HOME=str(state))
            env.pop("XB_CONFIG", None)
            p = run_as_nobody([b.exe, "status"], env=env)
            assert p.returncode == 1 and b"refusing to talk to it" in p.stderr, p.stderr
            shutil.rmtree(state, ignore_errors=True)
    finally:
        shutil.rmtree(run, ignore_errors=True)


# --- sign-in, state changes, the CLI ----------------------------------------------------------------
def test_enrol_through_the_browser_then_mail(rig, tmp_path):
    new = "fresh@example.com"
    rig.add_user(new)
    with make_bridge(rig, tmp_path / "xb", token=False) as b:
        sub = Ctl(b.control_path)
        assert sub.call(SUBSCRIBE).status == OK
        c1, c2 = Ctl(b.control_path, timeout=120), Ctl(b.control_path, timeout=120)
        hello(c1)
        # Two ENROLs for the same account: one sign-in, both get its result.
        r1 = c1.send(ENROL, s(new) + s("rig"))
        time.sleep(0.3)
        r2 = c2.send(ENROL, s(new.upper()) + s(""))
        f1, f2 = c1.reply(r1), c2.reply(r2)
        assert f1.status == OK, f1.message()
        assert f2.status == OK, f2.message()
        for f in (f1, f2):
            r = f.r()
            assert (r.s(), r.u32()) == (new, 1) and r.done()
        assert b.log_text().count(f"sign-in of {new} started") == 1
        assert "waits for the sign-in of " + new in b.log_text()
        assert rig.live_grants(new) == 1
        ev = sub.event(STATE_CHANGED, lambda e: state_event(e)[0] == new)
        assert state_event(ev)[1] == ST_OK
        assert accounts(c1)[new]["state"] == ST_OK
        # The endpoint and secret the add-in would write into Outlook: real mail.
        e = endpoint(c1, new)
        assert imap_select(e["host"], e["imap"], e["user"], e["secret"]) >= 1
        for secret in [e["secret"]] + b.tokens_seen:
            assert secret not in b.log_text()
        # ENROL of an account the provider refuses to sign in: AUTH_NEEDED, nothing enrolled.
        rig.set_mode(interaction="deny")
        try:
            f = c1.call(ENROL, s("declines@example.com") + s("rig"))
        finally:
            rig.set_mode(interaction="auto")
        assert f.status == AUTH_NEEDED and "not granted" in f.message()
        assert "declines@example.com" not in accounts(c1)
        # ENROL where the person picks another Google account: refused, nothing enrolled,
        # the grant revoked at the provider.
        rig.set_mode(interaction="other-account")
        try:
            f = c1.call(ENROL, s("picky@example.com") + s("rig"))
        finally:
            rig.set_mode(interaction="auto")
        assert f.status == AUTH_NEEDED, f.message()
        assert ("You signed in as intruder@example.net, but this account is picky@example.com"
                in f.message())
        assert "picky@example.com" not in accounts(c1)
        deadline = time.monotonic() + 10
        while rig.live_grants("intruder@example.net") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert rig.live_grants("intruder@example.net") == 0
        assert c1.call(ENROL, s(new) + s("nosuch")).status == BAD_REQUEST
        assert c1.call(ENROL, s("x@example.com") + s("nosuch")).status == NOT_FOUND


def test_subscriber_sees_the_revocation(rig, tmp_path):
    with make_bridge(rig, tmp_path / "xb") as b:
        sub = Ctl(b.control_path)
        assert sub.call(SUBSCRIBE).status == OK
        b.set_token(rig.mint_token(EMAIL), expires_in=1)
        rig.revoke(EMAIL)
        err = imap_login_error(b.imap_port, EMAIL, b.secret)
        assert err and "expired or was revoked" in err
        ev = sub.event(STATE_CHANGED, lambda e: state_event(e)[1] == ST_NEEDS_SIGNIN)
        email, state, why = state_event(ev)
        assert email == EMAIL and "expired or was revoked" in why
        assert accounts(sub)[EMAIL]["state"] == ST_NEEDS_SIGNIN


def test_cli_verbs_go_through_the_running_daemon(rig, tmp_path):
    other = "cli@example.com"
    rig.add_user(other)
    with make_bridge(rig, tmp_path / "xb") as b:
        before = b.log_text().count("control client")
        assert "signed in; last success" in b.status()
        assert "cli, protocol version 1" in b.log_text()
        # secret reset: the daemon makes it; it works at once.
        secret = b.cli("secret", "reset", EMAIL).stdout.decode().strip()
        assert len(secret) == 32 and imap_select("127.0.0.1", b.imap_port, EMAIL, secret) >= 1
        assert "made a new local secret for " + EMAIL in b.log_text()
        assert b.cli("secret", "reset", "none@example.com", check=False).returncode == 1
        # login of a new account: the daemon's browser sign-in, the password printed once.
        p = b.cli("login", other, "--provider", "rig", timeout=120)
        assert b"Signed in: " + other.encode() in p.stderr
        pw = p.stdout.decode().strip()
        assert len(pw) == 32 and imap_select("127.0.0.1", b.imap_port, other, pw) >= 1
        # logout: revoked at the provider by the daemon.
        p = b.cli("logout", other)
        assert b"Signed out: " + other.encode() in p.stderr
        assert rig.live_grants(other) == 0
        assert "cli@example.com (rig): not signed in yet" in b.status()
        assert b.log_text().count("control client") > before
        for t in b.tokens_seen + [secret, pw]:
            assert t not in b.log_text()


# --- one writer of the account store ---------------------------------------------------------

def imap_ok(port, email, secret):
    m = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    try:
        return m.login(email, secret)[0] == "OK"
    except imaplib.IMAP4.error:
        return False
    finally:
        try:
            m.shutdown()
        except OSError:
            pass


def test_cli_changes_race_refreshes_and_none_is_lost(rig, tmp_path):
    """While the companion refreshes tokens and saves (accounts whose access tokens expire
    at once, logged in to over and over), the CLI adds accounts, resets secrets and sets
    tokens: every change goes through the companion, the one writer, and none is lost,
    neither in the running companion nor in the store a new companion reads from disk."""
    refreshing = [f"busy{i}@example.com" for i in range(4)]
    added = [f"new{i}@example.com" for i in range(6)]
    for e in refreshing + added:
        rig.add_user(e)
    with make_bridge(rig, tmp_path / "xb") as b:
        secrets = {e: b.add_account(e, token=False) for e in refreshing}
        for e in refreshing:
            b.cli("token", "set", e, "--expires-in", "1",
                  stdin=(rig.mint_token(e)["refresh_token"] + "\n" +
                         rig.mint_token(e)["refresh_token"] + "\n").encode())
        stop = threading.Event()
        failures = []

        def refresher(e):
            # Each login with an expired access token makes the companion refresh and
            # save; a new short-lived token keeps it expiring.
            while not stop.is_set():
                if not imap_ok(b.imap_port, e, secrets[e]):
                    failures.append(e)
                tok = rig.mint_token(e)
                p = b.cli("token", "set", e, "--expires-in", "1", check=False,
                          stdin=(tok["access_token"] + "\n" + tok["refresh_token"] + "\n").encode())
                if p.returncode != 0:
                    failures.append(p.stderr.decode())

        threads = [threading.Thread(target=refresher, args=(e,)) for e in refreshing]
        for t in threads:
            t.start()
        new_secrets = {}
        try:
            for e in added:
                new_secrets[e] = b.cli("account", "add", e, "--provider", "rig").stdout.decode().strip()
                tok = rig.mint_token(e)
                b.cli("token", "set", e, stdin=(tok["access_token"] + "\n" +
                                                tok["refresh_token"] + "\n").encode())
                new_secrets[e] = b.cli("secret", "reset", e).stdout.decode().strip()
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        assert not failures, failures[:3]
        assert b.log_text().count("refreshed the access token") >= len(refreshing)
        for e in added:
            assert imap_ok(b.imap_port, e, new_secrets[e]), e
        status = b.cli("status").stdout.decode()
        for e in refreshing + added:
            assert e in status
        assert "changed by another process" not in b.log_text()
        # The store on disk has every change: a new companion reads it.
        assert b.stop() == 0
        b.start()
        for e in added:
            assert imap_ok(b.imap_port, e, new_secrets[e]), e
        for e in refreshing:
            assert imap_ok(b.imap_port, e, secrets[e]), e


def test_cli_that_misses_the_companion_finds_the_store_locked(rig, tmp_path):
    """A CLI that cannot reach the running companion (here: another runtime directory, so
    another socket name) must not write behind its back: the store is locked."""
    with make_bridge(rig, tmp_path / "xb") as b:
        before = (b.dir / "state" / "accounts.store").read_bytes()
        lost = tmp_path / "elsewhere"
        lost.mkdir(mode=0o700)
        for args in (["account", "add", "late@example.com", "--provider", "rig"],
                     ["secret", "reset", EMAIL], ["logout", EMAIL],
                     ["account", "remove", EMAIL]):
            p = subprocess.run([b.exe, *args, "--config", str(b.config_path)],
                               capture_output=True, timeout=30,
                               env=dict(os.environ, XDG_RUNTIME_DIR=str(lost)))
            assert p.returncode == 1, (args, p.stderr)
            assert b"is changing the account store" in p.stderr and b"nothing was changed" in \
                p.stderr, p.stderr
        assert (b.dir / "state" / "accounts.store").read_bytes() == before
        assert imap_ok(b.imap_port, EMAIL, b.secret)
    # Without a companion, the CLI is the writer (and takes the lock itself).
    p = subprocess.run([b.exe, "account", "add", "late@example.com", "--provider", "rig",
                        "--config", str(b.config_path)], capture_output=True, timeout=30,
                       env=dict(os.environ, XDG_RUNTIME_DIR=str(lost)))
    assert p.returncode == 0, p.stderr
