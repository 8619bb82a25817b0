"""OAuth2 sign-in, refresh and revocation against the real OAuth server of the rig, with a
real headless browser (Debian's Chromium) for the consent, and scripted misbehaving
"browsers" for the negative cases; then mail through the proxy with the tokens."""
import imaplib
import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

from bridge import BridgeError
from conftest import Bridge, bridge_exe

TOOLS = Path(__file__).resolve().parent.parent / "tools"
EMAIL = "user@example.com"


def make_bridge(rig, tmp_path, name, browser="headless-browser.sh", timeout=60, token=False,
                email=EMAIL, browser_env=None):
    """browser_env: the environment of the browser the companion opens (what the fake
    browser does, where the page is dumped, the language of the result page)."""
    general = "browser = %s\nsignin_timeout = %d" % (TOOLS / browser, timeout)
    return Bridge(bridge_exe(), rig, tmp_path / name, token=token, email=email,
                  general_extra=general, extra_config="connect_timeout = 3",
                  env_extra=browser_env)


# The rig's codes and tokens are opaque base64url strings of 43 characters; the local
# secret is 32. Nothing that long and that shaped belongs in a log line.
# (Path components, preceded by "/", are not tokens.)
TOKEN_SHAPED = re.compile(rb"(?<![/\w-])[A-Za-z0-9_-]{32,}(?![\w-])")


def assert_no_token_shaped(*texts):
    for t in texts:
        t = t if isinstance(t, bytes) else t.encode()
        # The authorization URL is printed on purpose (for when no browser opens): its state
        # and PKCE challenge are not secrets. Nothing else may look like a token.
        t = re.sub(rb"http://127\.0\.0\.1:\d+/auth\?\S+", b"<auth-url>", t)
        hits = [m for m in TOKEN_SHAPED.findall(t) if not m.startswith(b"XOAuthBridge")]
        assert not hits, hits[:3]


def written(path, limit=10):
    """What the browser wrote to path. The CLI hears the outcome from the companion,
    which may be before the browser has written down the page it was given."""
    deadline = time.monotonic() + limit
    while not path.exists():
        assert time.monotonic() < deadline, f"the browser wrote nothing to {path}"
        time.sleep(0.05)
    return path.read_bytes()


def login(b, env=None, timeout=90):
    """`xoauthbridge login`: through the running companion (its ENROL: it opens the
    browser) when it runs, else the CLI's own sign-in."""
    return subprocess.run([b.exe, "login", b.email, "--provider", "rig", "--config",
                           str(b.config_path)], capture_output=True, timeout=timeout,
                          env=b.env(**(env or {})))


def imap_login(b):
    m = imaplib.IMAP4("127.0.0.1", b.imap_port, timeout=30)
    try:
        return m.login(b.email, b.secret)[0]
    except imaplib.IMAP4.error as e:
        return str(e)
    finally:
        try:
            m.shutdown()
        except OSError:
            pass


def test_browser_sign_in_then_mail_flows_then_logout_revokes(rig, tmp_path):
    """The CLI's own sign-in and logout (no companion running), then mail through the
    companion with what they stored."""
    with make_bridge(rig, tmp_path, "xb") as b:
        assert imap_login(b).find("not signed in") >= 0  # enrolled, no tokens yet
        dump = tmp_path / "page.html"
        b.stop()
        p = signed = login(b, {"XB_BROWSER_DUMP": str(dump)})
        b.start()
        assert p.returncode == 0, p.stderr.decode()
        assert b"Signed in: user@example.com" in p.stderr
        assert written(dump).decode().find("You are signed in") >= 0
        assert "signed in; last success" in b.status()
        assert rig.live_grants(EMAIL) >= 1
        # The real proxy, the real Dovecot, the tokens from the browser sign-in.
        m = imaplib.IMAP4("127.0.0.1", b.imap_port)
        m.login(b.email, b.secret)
        typ, data = m.select("INBOX")
        assert typ == "OK" and int(data[0]) >= 1
        m.logout()

        b.stop()
        p = subprocess.run([b.exe, "logout", b.email, "--config", str(b.config_path)],
                           capture_output=True, timeout=30, env=b.env())
        b.start()
        assert p.returncode == 0, p.stderr.decode()
        assert rig.live_grants(EMAIL) == 0, "the grant must be revoked at the provider"
        assert "not signed in" in b.status()
        assert "not signed in" in imap_login(b)
        for secret in b.tokens_seen + [b.secret]:
            assert secret not in b.log_text()
        # Neither the code, the verifier nor the tokens of the browser sign-in (which the
        # test never sees) appear anywhere: the login's output and the daemon's log.
        verbose = subprocess.run([b.exe, "status", "--verbose", "--config", str(b.config_path)],
                                 capture_output=True, timeout=30)
        assert_no_token_shaped(signed.stderr, p.stderr, b.log_text(), verbose.stdout,
                               verbose.stderr)


def test_browser_sign_in_then_revocation_at_the_server(rig, tmp_path):
    """Signed in through the browser, mail flows; the user withdraws access at the provider:
    the next login fails cleanly (no stall) and the status says what to do."""
    with make_bridge(rig, tmp_path, "xb") as b:
        assert login(b).returncode == 0
        assert imap_login(b) == "OK"
        rig.revoke(EMAIL)
        t0 = time.monotonic()
        r = imap_login(b)  # the cached access token is refused by the mail server
        assert "AUTHENTICATIONFAILED" in r and time.monotonic() - t0 < 5, r
        r = imap_login(b)  # the refresh token is refused by the token endpoint
        assert "AUTHENTICATIONFAILED" in r and "expired or was revoked" in r, r
        status = b.status()
        assert "needs sign-in" in status and "expired or was revoked" in status, status


def test_japanese_result_page(rig, tmp_path):
    dump = tmp_path / "page.html"
    ja = {"XB_BROWSER_DUMP": str(dump), "LANG": "ja_JP.UTF-8", "LC_ALL": ""}
    with make_bridge(rig, tmp_path, "xb", browser_env=ja) as b:
        p = login(b)
        assert p.returncode == 0, p.stderr.decode()
        # The companion answers once the redirect arrived; the browser it opened may
        # still be writing the page out.
        deadline = time.monotonic() + 20
        while not dump.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)
        page = dump.read_text(encoding="utf-8")
        assert 'lang="ja"' in page and "サインインしました" in page
        assert "サインインしました" in p.stderr.decode("utf-8")


def wait_revoked(rig, email, limit=10, before=0):
    """The account's live grants once they are back to `before` (or the time is up)."""
    deadline = time.monotonic() + limit
    while rig.live_grants(email) > before and time.monotonic() < deadline:
        time.sleep(0.1)
    return rig.live_grants(email)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_signing_in_as_another_account_is_refused(rig, tmp_path, lang):
    """The person picks another of their Google accounts: the ID token says so, nothing
    is stored, the grant is revoked, and the page and the CLI say it in their language."""
    dump = tmp_path / "page.html"
    env = {"XB_BROWSER_DUMP": str(dump)}
    if lang == "ja":
        env.update(LANG="ja_JP.UTF-8", LC_ALL="")
    with make_bridge(rig, tmp_path, "xb", browser_env=env) as b:
        rig.set_mode(interaction="other-account")
        try:
            p = login(b)
        finally:
            rig.set_mode(interaction="auto")
        said = p.stderr.decode("utf-8")
        if lang == "ja":
            want = ("intruder@example.net でサインインしましたが、このアカウントは "
                    f"{EMAIL} です。もう一度サインインし、{EMAIL} を選んでください。")
        else:
            want = (f"You signed in as intruder@example.net, but this account is {EMAIL}. "
                    f"Sign in again and choose {EMAIL}.")
        assert p.returncode == 1 and want in said, said
        assert want in written(dump).decode("utf-8")
        assert "not signed in" in b.status() or "未サインイン" in b.status()
        assert wait_revoked(rig, "intruder@example.net") == 0
        assert "the provider says intruder@example.net signed in" in b.log_text()
        # The right account then signs in, confirmed by its ID token.
        dump.unlink()
        assert login(b).returncode == 0
        assert "the provider confirms who signed in (claim email)" in b.log_text()


def test_an_account_outside_the_workspace_domain_is_refused(rig, tmp_path):
    with Bridge(bridge_exe(), rig, tmp_path / "xb", token=False,
                general_extra="browser = %s" % (TOOLS / "headless-browser.sh"),
                provider_extra="hosted_domain = example.ac.jp\n") as b:
        before = rig.live_grants(EMAIL)
        p = login(b)
        assert p.returncode == 1, p.stderr
        assert (f"You signed in as {EMAIL}, which is not an account of example.ac.jp"
                in p.stderr.decode()), p.stderr
        assert wait_revoked(rig, EMAIL, before=before) == before
        assert "the grant given by mistake is revoked" in b.log_text()
        assert "not signed in" in b.status()


def test_refresh_single_flight_and_ahead_of_login(rig, tmp_path):
    with make_bridge(rig, tmp_path, "xb", token=True) as b:
        # An access token about to expire, with a good refresh token: the first logins
        # wait for one refresh together.
        b.set_token(rig.mint_token(EMAIL), expires_in=1)
        results = []
        threads = [threading.Thread(target=lambda: results.append(imap_login(b)))
                   for _ in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert results.count("OK") == 40, results[:3]
        assert b.log_text().count("refreshed the access token") == 1


def test_revoked_grant_needs_sign_in_and_client_fails_cleanly(rig, tmp_path):
    with make_bridge(rig, tmp_path, "xb", token=True) as b:
        b.set_token(rig.mint_token(EMAIL), expires_in=1)
        rig.revoke(EMAIL)
        t0 = time.monotonic()
        r = imap_login(b)
        assert "AUTHENTICATIONFAILED" in r and "expired or was revoked" in r, r
        assert time.monotonic() - t0 < 5
        assert "needs sign-in" in b.status() and "expired or was revoked" in b.status()


@pytest.mark.parametrize("mode", ["error500", "badjson", "hang"])
def test_token_endpoint_trouble_is_temporary(rig, tmp_path, mode):
    with make_bridge(rig, tmp_path, "xb-" + mode, token=True) as b:
        b.set_token(rig.mint_token(EMAIL), expires_in=1)
        rig.set_mode(token_endpoint=mode)
        try:
            t0 = time.monotonic()
            r = imap_login(b)
            assert "UNAVAILABLE" in r, r
            assert time.monotonic() - t0 < 3 + 3  # connect_timeout is 3 s
        finally:
            rig.set_mode(token_endpoint="normal")
        # After the back-off (5 s) the next login refreshes and works.
        time.sleep(5.5)
        assert imap_login(b) == "OK"


def test_sign_in_rejects_wrong_state_then_times_out(rig, tmp_path):
    dump = tmp_path / "answer"
    with make_bridge(rig, tmp_path, "xb", browser="fake-browser.py", timeout=4,
                     browser_env={"XB_FAKE_BROWSER": "wrong-state",
                                  "XB_BROWSER_DUMP": str(dump)}) as b:
        p = login(b)
        assert p.returncode == 1
        assert b"no sign-in arrived" in p.stderr
        assert written(dump).startswith(b"400")


def test_sign_in_rejects_wrong_issuer(rig, tmp_path):
    dump = tmp_path / "answer"
    with make_bridge(rig, tmp_path, "xb", browser="fake-browser.py",
                     browser_env={"XB_FAKE_BROWSER": "wrong-iss",
                                  "XB_BROWSER_DUMP": str(dump)}) as b:
        p = login(b)
        assert p.returncode == 1 and b"unexpected issuer" in p.stderr, p.stderr
        assert written(dump).startswith(b"400")
        assert "not signed in" in b.status()


def test_sign_in_rejects_a_code_of_another_pkce_challenge(rig, tmp_path):
    dump = tmp_path / "answer"
    with make_bridge(rig, tmp_path, "xb", browser="fake-browser.py",
                     browser_env={"XB_FAKE_BROWSER": "pkce-mismatch",
                                  "XB_BROWSER_DUMP": str(dump)}) as b:
        p = login(b)
        assert p.returncode == 1 and b"expired or was revoked" in p.stderr, p.stderr
        assert written(dump).startswith(b"400")


def test_the_browser_inherits_no_descriptor_and_no_secret(rig, tmp_path):
    """The browser the companion starts gets stdin/out/err only (no socket, store or log
    of ours) and not the store's passphrase; the log file is 0600, and a symbolic link
    planted at its path is refused."""
    dump = tmp_path / "inherited.json"
    with make_bridge(rig, tmp_path, "xb", browser="fake-browser.py", timeout=3,
                     browser_env={"XB_FAKE_BROWSER": "inherited", "XB_BROWSER_DUMP": str(dump),
                                  "XB_STORE_PASSPHRASE": "correct horse battery staple"}) as b:
        login(b)
        got = json.loads(written(dump))
        assert got["passphrase"] is False
        assert sorted(int(fd) for fd in got["fds"]) == [0, 1, 2], got["fds"]
        assert os.stat(b.log_path).st_mode & 0o777 == 0o600
    # A link at the log file's path (another user could plant one in a shared folder).
    target = tmp_path / "someone-elses-file"
    target.write_text("untouched\n")
    b = make_bridge(rig, tmp_path, "xb2")
    b.dir.mkdir(parents=True, exist_ok=True)
    b.log_path.symlink_to(target)
    with pytest.raises(BridgeError):
        b.__enter__()
    b.stop()
    assert target.read_text() == "untouched\n"


def test_user_closes_the_browser(rig, tmp_path):
    with make_bridge(rig, tmp_path, "xb", browser="fake-browser.py", timeout=2,
                     browser_env={"XB_FAKE_BROWSER": "close"}) as b:
        t0 = time.monotonic()
        p = login(b)
        assert p.returncode == 1 and b"no sign-in arrived" in p.stderr
        assert time.monotonic() - t0 < 10


def test_user_declines_consent(rig, tmp_path):
    with make_bridge(rig, tmp_path, "xb") as b:
        rig.set_mode(interaction="deny")
        try:
            p = login(b)
        finally:
            rig.set_mode(interaction="auto")
        assert p.returncode == 1 and b"access was not granted" in p.stderr, p.stderr
