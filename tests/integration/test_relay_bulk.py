"""The relay under bulk answers: many small messages and large ones, fetched again and again
by a client that reads as fast as it can, and by one that reads slowly (back-pressure).
Every answer must arrive whole and byte-identical to what Dovecot sends a direct client;
a relay that leaves bytes inside OpenSSL (read ahead, never announced by a socket event)
shows up here as an answer that never ends.

Its own rig: the INBOX of a thousand messages would slow the other modules' tests."""
import base64
import hashlib
import socket
import threading
import time

import pytest

from conftest import Bridge, bridge_exe
from rig import message_of_size, xoauth2

ROUNDS = 40
SMALL = 1000
BIG = (1 << 20, 3 << 20)
STALL = 30  # seconds without a byte: the relay is wedged


@pytest.fixture(scope="module")
def mailbox(rig):
    for i in range(SMALL):
        rig.add_message("user@example.com",
                        message_of_size(1500 + (i * 131) % 4000, to="user@example.com"))
    for size in BIG:
        rig.add_message("user@example.com", message_of_size(size, to="user@example.com"))
    return SMALL + len(BIG)


class Conn:
    def __init__(self, port, ctx=None, rcvbuf=None):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(STALL)
        s.connect(("127.0.0.1", port))
        self.s = ctx.wrap_socket(s, server_hostname="127.0.0.1") if ctx else s
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            self._more()
        ln, self.buf = self.buf.split(b"\n", 1)
        return ln

    def _more(self, size=1 << 20):
        try:
            chunk = self.s.recv(size)
        except socket.timeout:
            raise AssertionError("no byte for %d s (%d bytes pending): the relay stalled"
                                 % (STALL, len(self.buf))) from None
        if not chunk:
            raise EOFError(self.buf[-200:])
        self.buf += chunk

    def answer(self, end, size=1 << 20):
        """Everything up to and including `end`: (length, sha256)."""
        h, n, keep = hashlib.sha256(), 0, len(end)
        while True:
            i = self.buf.find(end)
            if i >= 0:
                part, self.buf = self.buf[:i + keep], self.buf[i + keep:]
                h.update(part)
                return n + len(part), h.hexdigest()
            if len(self.buf) > keep:
                part, self.buf = self.buf[:-keep], self.buf[-keep:]
                h.update(part)
                n += len(part)
            self._more(size)

    def close(self):
        self.s.close()


def imap_session(rig, xb, direct, **kw):
    if direct:
        c = Conn(rig.ports["imaps"], rig.ssl_context(), **kw)
        c.line()
        tok = rig.mint_token(xb.email)["access_token"]
        c.send(b"a AUTHENTICATE XOAUTH2 " + xoauth2(xb.email, tok).encode() + b"\r\n")
    else:
        c = Conn(xb.imap_port, **kw)
        c.line()
        c.send(b"a LOGIN " + xb.email.encode() + b" " + xb.secret.encode() + b"\r\n")
    while not (ln := c.line()).startswith(b"a "):
        pass
    assert ln.startswith(b"a OK"), ln
    c.send(b"s EXAMINE INBOX\r\n")
    while not (ln := c.line()).startswith(b"s "):
        pass
    assert ln.startswith(b"s OK"), ln
    return c


def pop3_session(rig, xb, direct, **kw):
    if direct:
        c = Conn(rig.ports["pop3s"], rig.ssl_context(), **kw)
        c.line()
        tok = rig.mint_token(xb.email)["access_token"]
        c.send(b"AUTH XOAUTH2 " + xoauth2(xb.email, tok).encode() + b"\r\n")
    else:
        c = Conn(xb.pop3_port, **kw)
        c.line()
        c.send(b"USER " + xb.email.encode() + b"\r\nPASS " + xb.secret.encode() + b"\r\n")
        assert c.line().startswith(b"+OK")
    ln = c.line()
    assert ln.startswith(b"+OK"), ln
    return c


def imap_fetch_all(c):
    c.send(b"f FETCH 1:* BODY.PEEK[]\r\n")
    got = c.answer(b"\r\nf OK")
    c.line()  # the rest of the tagged line carries Dovecot's timings
    return got


def pop3_retr_all(c, count):
    """Every RETR sent at once (pipelined): one long stream of answers."""
    c.send(b"".join(b"RETR %d\r\n" % i for i in range(1, count + 1)))
    h, total = hashlib.sha256(), 0
    for _ in range(count):
        n, digest = c.answer(b"\r\n.\r\n")
        h.update(digest.encode())
        total += n
    return total, h.hexdigest()


def test_imap_bulk_fetches_arrive_whole(rig, xb, mailbox):
    d = imap_session(rig, xb, True)
    want = imap_fetch_all(d)
    d.close()
    assert want[0] > SMALL * 1500 + sum(BIG)
    c = imap_session(rig, xb, False)
    for _ in range(ROUNDS):
        assert imap_fetch_all(c) == want
    c.close()


def test_pop3_pipelined_retr_arrive_whole(rig, xb, mailbox):
    d = pop3_session(rig, xb, True)
    want = pop3_retr_all(d, mailbox)
    d.close()
    for _ in range(ROUNDS // 4):
        c = pop3_session(rig, xb, False)
        assert pop3_retr_all(c, mailbox) == want
        c.close()


def test_slow_reader_gets_everything(rig, xb, mailbox):
    """A small receive window and small reads: the relay fills its high-water mark, stops
    reading upstream, and must resume (with what OpenSSL already holds) as it drains."""
    d = imap_session(rig, xb, True)
    want = imap_fetch_all(d)
    d.close()
    for _ in range(3):
        c = imap_session(rig, xb, False, rcvbuf=16384)
        c.send(b"f FETCH 1:* BODY.PEEK[]\r\n")
        assert c.answer(b"\r\nf OK", size=4096) == want
        c.line()
        c.close()


class Valve:
    """A TCP forwarder between the proxy and Dovecot's submissions port (TLS passes through
    untouched, so the proxy still verifies Dovecot's certificate) whose proxy-to-server
    direction can be shut: with a 4 KiB receive window it then fills the proxy's socket in
    a few dozen kilobytes, as a server that has stopped reading would."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.flowing = threading.Event()
        self.flowing.set()
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # inherited by accept
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                down, _ = self.lsock.accept()
            except OSError:
                return
            up = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pump, args=(down, up, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(up, down, False), daemon=True).start()

    def _pump(self, src, dst, gated):
        try:
            while True:
                if gated:
                    self.flowing.wait()
                data = src.recv(4096)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for sk in (src, dst):
            try:
                sk.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.lsock.close()


def test_commands_wait_their_turn_when_the_server_stops_reading(rig, tmp_path):
    """Small pieces go to the server as soon as they arrive (one TLS record each, not
    queued for the loop's next turn). When the server's side is full, OpenSSL keeps the
    record it could not finish and wants the same bytes again: they must come from
    libevent's queue, first in line. The valve stops the server reading in the middle of
    a message sent in 8 KiB pieces; when it opens, the message must reach the sink byte for
    byte, and the log must show that the proxy met the full socket."""
    valve = Valve(rig.ports["submissions"])
    servers = (f"imap = 127.0.0.1:{rig.ports['imaps']}\npop3 = 127.0.0.1:{rig.ports['pop3s']}\n"
               f"smtp = 127.0.0.1:{valve.port}\n")
    try:
        with Bridge(bridge_exe(), rig, tmp_path / "xb-valve", servers=servers) as b:
            # More than the proxy's socket absorbs (its send buffer grows to a few MB here).
            body = message_of_size(8 << 20, subject="through the valve", to="sink@example.org")
            before = len(rig.sink_messages())
            c = smtp_session(b)
            valve.flowing.clear()
            sender = threading.Thread(target=send_body, args=(c, body))
            sender.start()
            deadline = time.monotonic() + 20
            while "upstream not writable now" not in b.log_text():
                assert time.monotonic() < deadline, "the proxy never met the full socket"
                time.sleep(0.05)
            valve.flowing.set()
            sender.join(30)
            assert not sender.is_alive()
            ln = c.line()
            assert ln.startswith(b"250"), ln
            c.send(b"QUIT\r\n")
            c.close()
            got = rig.sink_messages()
            assert len(got) == before + 1 and got[-1][1].endswith(body)
    finally:
        valve.flowing.set()
        valve.close()


def smtp_session(b):
    c = Conn(b.smtp_port)
    c.line()
    c.send(b"EHLO pieces\r\n")
    while not c.line().startswith(b"250 "):
        pass
    pl = base64.b64encode(b"\0" + b.email.encode() + b"\0" + b.secret.encode())
    c.send(b"AUTH PLAIN " + pl + b"\r\n")
    assert c.line().startswith(b"235")
    c.send(b"MAIL FROM:<" + b.email.encode() + b">\r\n")
    assert c.line().startswith(b"250")
    c.send(b"RCPT TO:<sink@example.org>\r\n")
    assert c.line().startswith(b"250")
    c.send(b"DATA\r\n")
    assert c.line().startswith(b"354")
    return c


def send_body(c, body, piece=8192):
    """In pieces, with a breath between them, so that each arrives at the proxy alone."""
    for i in range(0, len(body), piece):
        c.send(body[i:i + piece])
        time.sleep(0.0005)
    c.send(b".\r\n")


def test_message_sent_at_once_arrives_whole(rig, xb):
    """A message body sent in one go: the proxy reads the mail program's socket in large
    pieces beyond libevent's 4 KiB (xb_relay_drain_client); the message must reach the
    sink byte for byte. The second one is followed at once by QUIT and the end of the
    stream, so the end is met by those large reads, behind the data: the server must
    still get everything before the proxy closes."""
    for tail in (b"", b"QUIT\r\n"):
        body = message_of_size(6 << 20, subject="at once %r" % tail, to="sink@example.org")
        before = len(rig.sink_messages())
        c = smtp_session(xb)
        c.send(body + b".\r\n" + tail)
        if tail:
            c.s.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + 20
            while len(rig.sink_messages()) == before:
                assert time.monotonic() < deadline, "the message never reached the sink"
                time.sleep(0.05)
        else:
            ln = c.line()
            assert ln.startswith(b"250"), ln
            c.send(b"QUIT\r\n")
        c.close()
        got = rig.sink_messages()
        assert len(got) == before + 1 and got[-1][1].endswith(body)
