"""Early upstream connections (docs/proxy.md "Early upstream connection"): once a login
to a server has worked, a new client's upstream TCP + TLS connection starts at accept, in
parallel with the greeting and the client's login, and the login takes it. Nothing is
written on it before the local login succeeds; a client that never logs in costs one
connection closed at once; after a refused local login, none for that address.

Spare connections (docs/proxy.md "Spare connection"): while clients of a protocol come
in a row, one more connection is kept ready for the next client, who takes it at accept;
an unused spare is closed after 10 s, and a lone client gets none."""
import re
import time

from bridge import Bridge

from test_proxy import Raw


def session_lines(xb, raw):
    """The log lines of the proxy's session for this client (its address and port)."""
    if not hasattr(raw, "port"):
        raw.port = raw.s.getsockname()[1]
    tag = " 127.0.0.1:%d" % raw.port
    return [ln for ln in xb.log_text().splitlines() if tag in ln]


def wait_for(xb, raw, words, limit=5):
    """words: a string, or a tuple of strings any of which will do."""
    words = (words,) if isinstance(words, str) else words
    deadline = time.monotonic() + limit
    while not any(w in ln for ln in session_lines(xb, raw) for w in words):
        assert time.monotonic() < deadline, "no %r in the session's log" % (words,)
        time.sleep(0.02)


# What a session logs when it has an early connection: one of its own, or a spare.
EARLY = ("early, before the login", "took the spare connection")


def has_early(lines):
    return any(w in ln for ln in lines for w in EARLY)


def imap_login(xb, c):
    c.send("a LOGIN %s %s\r\n" % (xb.email, xb.secret))
    return c.until("a ")[-1]


def no_login_attempts(log):
    """Dovecot's login lines say "no auth attempts" for a connection that never tried."""
    lines = [ln for ln in log.splitlines() if "-login:" in ln]
    return bool(lines) and all("no auth attempts" in ln for ln in lines)


def dovecot_log(rig):
    return (rig.dir / "logs" / "dovecot.log").read_text()


def test_first_login_connects_after_the_login(xb):
    c = Raw(xb.imap_port)
    c.line()
    time.sleep(0.3)
    assert not has_early(session_lines(xb, c))
    assert imap_login(xb, c).startswith("a OK")
    c.send("z LOGOUT\r\n")
    c.close()


def test_early_connection_is_taken_by_the_login(xb):
    for _ in range(3):
        c = Raw(xb.imap_port)
        c.line()
        wait_for(xb, c, EARLY)
        time.sleep(0.2)  # connected and greeted by now
        assert imap_login(xb, c).startswith("a OK")
        c.send("n NOOP\r\n")
        assert c.until("n ")[-1].startswith("n OK")
        assert any("taking the early connection" in ln for ln in session_lines(xb, c))
        c.send("z LOGOUT\r\n")
        c.close()


def test_login_while_the_early_connection_is_still_connecting(xb):
    c = Raw(xb.imap_port)
    c.line()
    assert imap_login(xb, c).startswith("a OK")  # at once
    c.send("n NOOP\r\n")
    assert c.until("n ")[-1].startswith("n OK")
    c.send("z LOGOUT\r\n")
    c.close()


def test_pop3_and_smtp_take_theirs_too(rig, xb):
    import base64
    for _ in range(2):
        p = Raw(xb.pop3_port)
        p.line()
        if has_early(session_lines(xb, p)) or _ == 1:
            wait_for(xb, p, EARLY)
        p.send("USER %s\r\nPASS %s\r\n" % (xb.email, xb.secret))
        p.line()
        assert p.line().startswith("+OK")
        p.send("STAT\r\n")
        assert p.line().startswith("+OK")
        p.send("QUIT\r\n")
        p.close()
    for _ in range(2):
        m = Raw(xb.smtp_port)
        m.line()
        m.send("EHLO early\r\n")
        m.until("250 ")
        if _ == 1:
            wait_for(xb, m, EARLY)
        pl = base64.b64encode(b"\0" + xb.email.encode() + b"\0" + xb.secret.encode()).decode()
        m.send("AUTH PLAIN %s\r\n" % pl)
        assert m.line().startswith("235")
        m.send("QUIT\r\n")
        m.close()


def test_client_that_never_logs_in_costs_one_connection_closed_at_once(rig, xb):
    c = Raw(xb.imap_port)
    c.line()
    wait_for(xb, c, EARLY)
    time.sleep(0.2)
    session_lines(xb, c)  # notes the port before the socket closes
    c.send("q LOGOUT\r\n")
    c.until("q ")
    c.close()
    wait_for(xb, c, "closed")
    assert not any("taking the early connection" in ln for ln in session_lines(xb, c))


def login_logout(xb):
    c = Raw(xb.imap_port)
    c.line()
    session_lines(xb, c)  # notes the port
    time.sleep(0.3)  # a spare, if there is one, is up and greeted by now
    assert imap_login(xb, c).startswith("a OK")
    c.send("n NOOP\r\n")
    assert c.until("n ")[-1].startswith("n OK")
    c.send("z LOGOUT\r\n")
    c.until("z ")
    c.close()
    return c


def test_clients_in_a_row_take_a_ready_spare(xb):
    conns = [login_logout(xb) for _ in range(4)]
    # The second client came in a row (after a login that worked): a spare was made for
    # the next. Each client from the third on found one that was up, and its login took
    # it (no connection of its own was opened).
    for c in conns[2:]:
        lines = session_lines(xb, c)
        took = [ln for ln in lines if "took the spare connection" in ln]
        assert took and "still connecting" not in took[0], lines
        assert any("taking the early connection" in ln for ln in lines), lines
        assert not any("connecting to" in ln for ln in lines), lines


def test_unused_spare_is_closed_then_a_lone_client_gets_none(rig, xb):
    seen = len(xb.log_text())
    login_logout(xb)  # in a row with the last test's: a spare is made for the next
    assert re.search(r"spare imap connection to \S+ opening", xb.log_text()[seen:])
    seen_dovecot = len(dovecot_log(rig))
    deadline = time.monotonic() + 15
    while not re.search(r"spare imap connection to \S+ unused for 10 s: closed",
                        xb.log_text()[seen:]):
        assert time.monotonic() < deadline, "the unused spare was not closed"
        time.sleep(0.2)
    # Nothing was written on it: Dovecot saw a connection that never tried to log in.
    time.sleep(0.3)
    assert no_login_attempts(dovecot_log(rig)[seen_dovecot:])
    # A client more than 10 s after the last one is alone: no spare is made for it (the
    # spare closed 10 s after that client came; a second more keeps clear of the rounding
    # of the log's and the proxy's whole seconds).
    time.sleep(1)
    seen = len(xb.log_text())
    login_logout(xb)
    time.sleep(0.3)
    assert "spare imap connection" not in xb.log_text()[seen:]


def test_early_connections_off_means_none_and_no_spare(rig, tmp_path):
    """[proxy] early_connections = no: every login connects after the local check."""
    from conftest import bridge_exe
    with Bridge(bridge_exe(), rig, tmp_path / "xb-off",
                extra_config="early_connections = no") as off:
        conns = [login_logout(off) for _ in range(4)]
        for c in conns:
            lines = session_lines(off, c)
            assert not has_early(lines), lines
            assert any("connecting to" in ln for ln in lines), lines
        assert "spare" not in off.log_text()


def test_refused_local_login_sends_nothing_and_stops_early_connections(rig, xb):
    seen = len(dovecot_log(rig))
    c = Raw(xb.imap_port)
    c.line()
    session_lines(xb, c)
    wait_for(xb, c, EARLY)
    time.sleep(0.2)
    c.send("a LOGIN %s not-the-secret\r\n" % xb.email)
    assert "AUTHENTICATIONFAILED" in c.until("a ")[-1]
    c.close()
    # Dovecot saw a TLS connection, closed with no login attempt of any kind.
    wait_for(xb, c, "closed")
    time.sleep(0.3)
    assert no_login_attempts(dovecot_log(rig)[seen:])
    # The next client from this address gets no early connection (for a minute).
    d = Raw(xb.imap_port)
    d.line()
    time.sleep(0.3)
    assert not has_early(session_lines(xb, d))
    assert imap_login(xb, d).startswith("a OK")
    d.close()
