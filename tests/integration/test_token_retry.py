"""A refused access token is refreshed and the login retried (issue 19), against the real
rig: Dovecot checks every token by introspection at the oidc-provider, which can revoke
an account's access tokens alone (its grant and refresh token stay good), revoke
everything, or have every token introspect as inactive. Real clients (imaplib, poplib,
smtplib), for IMAP, POP3 and SMTP, upstream XOAUTH2 and OAUTHBEARER."""
import base64
import imaplib
import poplib
import smtplib
import time

import pytest

from conftest import Bridge, bridge_exe

PROTOCOLS = ("imap", "pop3", "smtp")
MECHANISMS = ("xoauth2", "oauthbearer")


def login(b, proto, timeout=20):
    """Logs in with the local secret; returns None on success, else the refusal's text."""
    try:
        if proto == "imap":
            m = imaplib.IMAP4("127.0.0.1", b.imap_port, timeout=timeout)
            try:
                m.login(b.email, b.secret)
                # Logged in for real: the mailbox answers.
                assert m.select("INBOX")[0] == "OK"
            finally:
                m.shutdown()
        elif proto == "pop3":
            p = poplib.POP3("127.0.0.1", b.pop3_port, timeout=timeout)
            try:
                p.user(b.email)
                p.pass_(b.secret)
                p.stat()
            finally:
                p.close()
        else:
            s = smtplib.SMTP("127.0.0.1", b.smtp_port, timeout=timeout)
            try:
                s.ehlo("retry-test")
                # One AUTH PLAIN, as Outlook sends it (smtplib's login() would go on
                # to AUTH LOGIN after a refusal: a second login of its own).
                plain = base64.b64encode(b"\0%s\0%s" % (b.email.encode(), b.secret.encode()))
                code, text = s.docmd("AUTH", "PLAIN " + plain.decode())
                if code != 235:
                    return "%d %s" % (code, text.decode(errors="replace"))
                assert s.noop()[0] == 250
            finally:
                s.close()
    except imaplib.IMAP4.error as e:
        return str(e)
    except poplib.error_proto as e:
        return e.args[0].decode(errors="replace")
    return None


def imap_login_started(b):
    m = imaplib.IMAP4("127.0.0.1", b.imap_port, timeout=20)
    m.send(b"a1 LOGIN %s %s\r\n" % (b.email.encode(), b.secret.encode()))
    return m


def imap_login_answer(m):
    answer = m.readline()
    while answer.startswith(b"*"):
        answer = m.readline()
    m.shutdown()
    return answer


def count(b, text):
    return b.log_text().count(text)


def wait_for(predicate, what, limit=10):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("not within %s s: %s" % (limit, what))


@pytest.fixture(params=MECHANISMS)
def bridge(request, rig, tmp_path):
    extra = "sasl = oauthbearer\n" if request.param == "oauthbearer" else ""
    with Bridge(bridge_exe(), rig, tmp_path / ("xb-" + request.param),
                provider_extra=extra) as b:
        b.mechanism = request.param
        yield b


@pytest.fixture(autouse=True)
def normal_rig(rig):
    yield
    rig.set_mode(token_endpoint="normal", introspection="normal", introspection_delay_ms=0)


def test_access_token_revoked_alone_is_refreshed_and_the_login_works(rig, bridge):
    """The grant is fine, only the access token is dead: each protocol logs in at the
    first try, after exactly one refresh, and nobody is asked to sign in."""
    for proto in PROTOCOLS:
        assert login(bridge, proto) is None, proto  # the stored token works
        before = count(bridge, "refreshed the access token")
        assert rig.revoke_access(bridge.email)["revoked_access_tokens"] >= 1
        assert login(bridge, proto) is None, proto
        assert count(bridge, "refreshed the access token") == before + 1, proto
        assert count(bridge, "upstream refused the access token") == PROTOCOLS.index(proto) + 1
        # The fresh token is kept: the next login needs no refresh.
        assert login(bridge, proto) is None, proto
        assert count(bridge, "refreshed the access token") == before + 1, proto
    assert "needs sign-in" not in bridge.status()
    assert "notice (signin-needed)" not in bridge.log_text()
    assert "refused a fresh access token" not in bridge.log_text()


def test_sessions_refused_together_cause_one_refresh(rig, bridge):
    """Outlook opens several connections at once: all refused with one token, they share
    one refresh, and none drops the fresh token another brought."""
    assert login(bridge, "imap") is None
    before = count(bridge, "refreshed the access token")
    rig.revoke_access(bridge.email)
    conns = [imap_login_started(bridge) for _ in range(4)]
    for m in conns:
        answer = imap_login_answer(m)
        assert answer.startswith(b"a1 OK"), answer
    assert count(bridge, "refreshed the access token") == before + 1


def test_a_late_refusal_keeps_the_fresh_token_another_session_brought(rig, bridge):
    """Session B is refused with the old token after session A's refresh brought a new
    one: B must use A's token, not drop it and refresh again."""
    assert login(bridge, "imap") is None
    before = count(bridge, "refreshed the access token")
    rig.revoke_access(bridge.email)
    rig.set_mode(introspection_delay_ms=1000)  # each upstream login takes 1 s
    a = imap_login_started(bridge)   # refused at ~1 s, refreshed, logged in at ~2 s
    time.sleep(0.5)
    b = imap_login_started(bridge)   # took the old token; refused at ~1.5 s
    assert imap_login_answer(a).startswith(b"a1 OK")
    assert imap_login_answer(b).startswith(b"a1 OK")
    assert count(bridge, "refreshed the access token") == before + 1
    assert count(bridge, "upstream refused the access token") == 2


def test_retry_against_starttls_servers_starts_in_the_clear_again(rig, tmp_path):
    """The retry is a new connection: with STARTTLS/STLS servers it must greet, upgrade
    and authenticate again, not assume the last connection's TLS."""
    servers = (f"imap = 127.0.0.1:{rig.ports['imap']}\nimap_tls = starttls\n"
               f"pop3 = 127.0.0.1:{rig.ports['pop3']}\npop3_tls = starttls\n"
               f"smtp = 127.0.0.1:{rig.ports['submission']}\nsmtp_tls = starttls\n")
    with Bridge(bridge_exe(), rig, tmp_path / "xb-starttls", servers=servers) as b:
        for proto in PROTOCOLS:
            before = count(b, "refreshed the access token")
            rig.revoke_access(b.email)
            assert login(b, proto) is None, proto
            assert count(b, "refreshed the access token") == before + 1, proto
        assert "unexpected" not in b.log_text()


def test_refresh_refused_too_is_one_clean_refusal_and_needs_sign_in(rig, bridge):
    """Grant revoked: the retry's refresh is refused, so the account needs a sign-in,
    the client gets one clean refusal that says so, and one notification names it."""
    for proto in PROTOCOLS:
        rig.revoke(bridge.email)
        notices = count(bridge, "notice (signin-needed)")
        t0 = time.monotonic()
        refusal = login(bridge, proto)
        assert refusal is not None, proto
        assert time.monotonic() - t0 < 10, "one clean refusal, not a hang"
        assert {"imap": "AUTHENTICATIONFAILED", "pop3": "[AUTH]", "smtp": "535"}[proto] \
            in refusal, refusal
        assert "expired or was revoked" in refusal, refusal
        assert "needs sign-in" in bridge.status()
        assert count(bridge, "notice (signin-needed)") <= notices + 1
        # Notifications of one cause are limited per hour: only the first protocol's shows.
        if proto == "imap":
            assert count(bridge, "notice (signin-needed)") == notices + 1
        # Only one refresh was tried for this refusal.
        assert "refused a fresh access token" not in bridge.log_text()
        # A person signs in again (here: a new token): mail flows again.
        bridge.set_token(rig.mint_token(bridge.email))
        assert login(bridge, proto) is None, proto


def test_mail_server_refusing_fresh_tokens_is_not_retried_in_a_loop(rig, bridge):
    """The mail server refuses every token (its words logged): one refresh per refusal,
    never a loop, and the log says the mail server refused the account."""
    rig.set_mode(introspection="inactive")
    for proto in PROTOCOLS:
        refreshes = count(bridge, "refreshed the access token")
        refusals = count(bridge, "upstream refused a fresh access token too")
        refusal = login(bridge, proto)
        assert refusal is not None, proto
        assert count(bridge, "refreshed the access token") == refreshes + 1, proto
        assert count(bridge, "upstream refused a fresh access token too") == refusals + 1
        time.sleep(0.5)  # nothing more happens after the refusal
        assert count(bridge, "refreshed the access token") == refreshes + 1, proto
    line = [l for l in bridge.log_text().splitlines()
            if "upstream refused a fresh access token too:" in l][-1]
    # The server's own words follow the colon (Dovecot: "NO [AUTHENTICATIONFAILED] ..."
    # for IMAP, "-ERR [AUTH] ..." for POP3, "535 ..." for submission).
    assert line.split("too:", 1)[1].strip(), line
    assert "refused the account even with a fresh access token" in bridge.status()
    # Once the server takes tokens again, the next login works.
    rig.set_mode(introspection="normal")
    assert login(bridge, "imap") is None


def test_a_hanging_refresh_during_the_retry_is_bounded_by_login_timeout(rig, tmp_path):
    with Bridge(bridge_exe(), rig, tmp_path / "xb-hang",
                extra_config="login_timeout = 3\n") as b:
        assert login(b, "pop3") is None
        rig.revoke_access(b.email)
        rig.set_mode(token_endpoint="hang")
        t0 = time.monotonic()
        refusal = login(b, "pop3", timeout=30)
        waited = time.monotonic() - t0
        assert refusal is not None and "[SYS/TEMP]" in refusal, refusal
        assert 2 <= waited < 15, waited
        assert "login upstream took longer than 3 s (while in token)" in b.log_text()
        assert "needs sign-in" not in b.status()
