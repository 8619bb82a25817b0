"""[general] web_proxy on Linux: the companion's token requests through a real HTTP CONNECT
proxy (Debian's tinyproxy, tests/rig/webproxy.py), against the real rig: the token
endpoint behind TLS on loopback, Dovecot checking every token. A refresh is caused the
way Gmail causes it: the access token is revoked at the OAuth server, the mail login is
refused, the companion refreshes and logs in again.

What proves a request went through the proxy: tinyproxy's log has the CONNECT to the
token endpoint, and with the proxy stopped the same refresh fails, naming the proxy.
The mail connections never go through it (no CONNECT to a mail port)."""
import imaplib
import time

import pytest

from conftest import Bridge, bridge_exe
from webproxy import TinyProxy, TLSFront

PROXY_VARS = ("https_proxy", "HTTPS_PROXY", "http_proxy", "all_proxy", "ALL_PROXY",
              "no_proxy", "NO_PROXY")
# The environment of every bridge here: no proxy from the machine running the tests
# (an empty https_proxy is "no proxy" to libcurl, which then reads no other variable).
NO_PROXY_ENV = {v: "" for v in PROXY_VARS}


@pytest.fixture(scope="module")
def front(rig):
    with TLSFront(rig) as f:
        yield f


def imap_login(b):
    """None when the login (and so the token behind it) worked, else the refusal."""
    m = imaplib.IMAP4("127.0.0.1", b.imap_port, timeout=30)
    try:
        m.login(b.email, b.secret)
        assert m.select("INBOX")[0] == "OK"
        return None
    except imaplib.IMAP4.error as e:
        return str(e)
    finally:
        m.shutdown()


def refresh_by_login(rig, b):
    """Revokes the access token alone: the next login needs a refresh."""
    assert rig.revoke_access(b.email)["revoked_access_tokens"] >= 1
    return imap_login(b)


def bridge(rig, front, tmp_path, name, general="", env=None):
    return Bridge(bridge_exe(), rig, tmp_path / name, general_extra=general,
                  token_url=front.url("/token"), env_extra=dict(NO_PROXY_ENV, **(env or {})))


def wait_log(b, text, limit=10):
    deadline = time.monotonic() + limit
    while text not in b.log_text():
        if time.monotonic() > deadline:
            raise AssertionError(f"not in the log within {limit} s: {text}\n{b.log_text()[-3000:]}")
        time.sleep(0.05)


def assert_through(px, front, rig):
    tunnels = px.connects()
    assert f"127.0.0.1:{front.port}" in tunnels, px.log()
    mail_ports = {str(rig.ports[k]) for k in ("imaps", "pop3s", "submissions")}
    assert not [t for t in tunnels if t.rsplit(":", 1)[1] in mail_ports], tunnels


def test_web_proxy_url_carries_the_refresh_and_only_it(rig, front, tmp_path):
    with TinyProxy(tmp_path / "px") as px, \
            bridge(rig, front, tmp_path, "xb", f"web_proxy = {px.url}") as b:
        assert imap_login(b) is None              # the stored token: no HTTP at all
        assert px.connects() == []
        assert refresh_by_login(rig, b) is None
        assert "refreshed the access token" in b.log_text()
        assert_through(px, front, rig)
        assert f"web proxy: 127.0.0.1:{px.port} (web_proxy)" in b.log_text()
        # Proxy gone: the same refresh fails, and the failure names the proxy.
        px.stop()
        assert refresh_by_login(rig, b) is not None
        wait_log(b, f"cannot connect to the web proxy 127.0.0.1:{px.port}")
        assert "web proxy 127.0.0.1" in b.status()
        # The route was logged once, not at every request.
        assert b.log_text().count("web proxy: 127.0.0.1") == 1


def test_system_takes_https_proxy_from_the_environment(rig, front, tmp_path):
    with TinyProxy(tmp_path / "px") as px, \
            bridge(rig, front, tmp_path, "xb", "web_proxy = system",
                   env={"https_proxy": px.url}) as b:
        assert refresh_by_login(rig, b) is None
        assert_through(px, front, rig)
        assert f"web proxy: 127.0.0.1:{px.port} (the environment (https_proxy))" in b.log_text()
        out = b.cli("config").stdout.decode()
        assert "web_proxy = system\n" in out
        assert f"127.0.0.1:{px.port} (the environment (https_proxy))" in out
        px.stop()
        assert refresh_by_login(rig, b) is not None
        wait_log(b, f"cannot connect to the web proxy 127.0.0.1:{px.port}")


def test_system_without_a_proxy_in_the_environment_is_direct(rig, front, tmp_path):
    with TinyProxy(tmp_path / "px") as px, bridge(rig, front, tmp_path, "xb") as b:
        assert refresh_by_login(rig, b) is None
        assert px.connects() == []
        assert "web proxy: direct (the environment names no proxy" in b.log_text()


def test_direct_ignores_the_environment(rig, front, tmp_path):
    with TinyProxy(tmp_path / "px") as px, \
            bridge(rig, front, tmp_path, "xb", "web_proxy = direct",
                   env={"https_proxy": px.url, "all_proxy": px.url}) as b:
        assert refresh_by_login(rig, b) is None
        assert px.connects() == []
        assert "web proxy: direct (web_proxy = direct)" in b.log_text()


def test_a_refusing_proxy_is_named_and_the_person_told(rig, front, tmp_path):
    with TinyProxy(tmp_path / "px", refuse=True) as px, \
            bridge(rig, front, tmp_path, "xb", f"web_proxy = {px.url}") as b:
        assert refresh_by_login(rig, b) is not None
        want = (f"the web proxy 127.0.0.1:{px.port} refused the connection to "
                f"127.0.0.1:{front.port} (HTTP 403)")
        wait_log(b, want)
        assert px.connects() == [f"127.0.0.1:{front.port}"]
        # A notification (the console front end logs it) that names the proxy.
        wait_log(b, f"notice (web-proxy) for 127.0.0.1:{px.port}: XOAuth Bridge cannot reach "
                    f"the sign-in server: {want}.")
        # And the event an administrator counts (Event ID 2007 on Windows).
        wait_log(b, f"warn [event 2007] {b.email}: {want}")
        assert "needs sign-in" not in b.status()


def test_proxy_password_is_used_and_never_shown(rig, front, tmp_path):
    password = "Pr0xy-Secret-77"
    with TinyProxy(tmp_path / "px", auth=("campus", password)) as px:
        url = f"http://campus:{password}@127.0.0.1:{px.port}"
        with bridge(rig, front, tmp_path, "xb", f"web_proxy = {url}") as b:
            assert refresh_by_login(rig, b) is None
            assert_through(px, front, rig)
            assert f"web proxy: 127.0.0.1:{px.port} (web_proxy, with a user name and password)" \
                in b.log_text()
            out = b.cli("config").stdout.decode()
            assert f"web_proxy = http://(user:password not shown)@127.0.0.1:{px.port}" in out
            assert password not in out
            assert password not in b.log_text()
        wrong = f"http://campus:wrong@127.0.0.1:{px.port}"
        with bridge(rig, front, tmp_path, "xb2", f"web_proxy = {wrong}") as b:
            assert refresh_by_login(rig, b) is not None
            # tinyproxy answers a wrong password with 401 (the missing one with 407).
            wait_log(b, f"the web proxy 127.0.0.1:{px.port} did not accept the user name and "
                        "password of web_proxy (HTTP 401)")
        with bridge(rig, front, tmp_path, "xb3", f"web_proxy = {px.url}") as b:
            assert refresh_by_login(rig, b) is not None
            wait_log(b, f"the web proxy 127.0.0.1:{px.port} asks for a user name and password "
                        "(HTTP 407)")


def test_a_bad_web_proxy_stops_the_start_with_file_line_and_key(rig, front, tmp_path):
    b = bridge(rig, front, tmp_path, "xb", "web_proxy = https://proxy.example:8080")
    b.write_config()
    p = b.cli("config", check=False)
    err = p.stderr.decode()
    assert p.returncode != 0
    line = b.config_path.read_text().splitlines().index(
        "web_proxy = https://proxy.example:8080") + 1
    assert f"{b.config_path}:{line}: key 'web_proxy' in [general]: " \
           "'https://proxy.example:8080': an HTTPS proxy (https://) is not supported" in err, err
