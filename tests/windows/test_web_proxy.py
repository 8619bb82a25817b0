"""[general] web_proxy on Windows, under Wine: the companion's token refresh through a real
HTTP CONNECT proxy (Debian's tinyproxy on Linux, tests/rig/webproxy.py), to the rig's
token endpoint behind TLS, with Dovecot checking the fresh token (the real rig).

  web_proxy = URL                    the proxy named in the file
  web_proxy = system, fixed proxy    the user's Internet Options: a proxy server, with an
                                     https_proxy in the environment that must not count
  web_proxy = system, bypass list    the same proxy, the token host in its exceptions
  web_proxy = system, script (PAC)   an automatic configuration script served on loopback,
                                     run by WinHttpGetProxyForUrl on the companion's
                                     script thread (Wine 8 runs PAC scripts)
  web_proxy = system, nothing set    Wine's default is "detect automatically" (WPAD),
                                     which finds nothing: direct, said once in the log

Internet Options: WinHttpGetIEProxyConfigForCurrentUser reads the binary value
DefaultConnectionSettings under HKCU\\...\\Internet Settings\\Connections, on Windows and in
Wine 8; Wine ignores ProxyEnable/ProxyServer/ProxyOverride/AutoConfigURL, which Windows'
Internet Options writes beside it. The test writes both, as Internet Options would.

A refresh is caused as in Gmail's case: the access token expires (token set --expires-in 1),
or is revoked at the OAuth server; the mail login then needs a new one. What proves the
path: tinyproxy's log has the CONNECT to the token endpoint (and none to a mail port), and
with the proxy stopped the next refresh fails with a message naming the proxy.

Environment (tests/windows/CMakeLists.txt): XB_EXE, XB_WORK.
"""
import imaplib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import http.server
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "tests" / "rig"))
sys.path.insert(0, str(HERE))

from rig import Rig  # noqa: E402
from webproxy import TinyProxy, TLSFront  # noqa: E402
from outlookrig import WINE_DLL_OVERRIDES, fresh_prefix, rig_provider_conf, wine  # noqa: E402

EXE = Path(os.environ["XB_EXE"])
WORK = Path(os.environ["XB_WORK"])
TARO = "taro@example.ac.jp"
INET = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings"
PROXY_VARS = ("https_proxy", "HTTPS_PROXY", "http_proxy", "all_proxy", "ALL_PROXY",
              "no_proxy", "NO_PROXY")


def winpath(p):
    """A Unix path as the Windows programs see it (Wine's Z: is /)."""
    return "Z:" + str(p).replace("/", "\\")


# --- fixtures -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def env():
    WORK.mkdir(parents=True, exist_ok=True)
    prefix = WORK / "prefix"
    fresh_prefix(prefix)
    e = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    e.update(WINEPREFIX=str(prefix), WINEDEBUG="-all", WINEDLLOVERRIDES=WINE_DLL_OVERRIDES)
    yield e
    subprocess.run(["wineserver", "-k"], env=e, capture_output=True)


@pytest.fixture(scope="module")
def rig():
    d = tempfile.mkdtemp(prefix="xb-rig-")
    try:
        with Rig(d, users=(TARO,)) as r:
            yield r
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def front(rig):
    with TLSFront(rig) as f:
        yield f


@pytest.fixture
def proxy(tmp_path):
    with TinyProxy(tmp_path / "tinyproxy") as px:
        yield px


class PacServer:
    """Serves one automatic configuration script on loopback, counting its fetches."""

    def __init__(self, script):
        body = script.encode()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ns-proxy-autoconfig")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.fetches = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/proxy.pac"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# --- Internet Options ---------------------------------------------------------------------

def internet_options(env, proxy="", bypass="", script="", detect=False):
    """Writes the user's Internet Options as the control panel does: the binary
    DefaultConnectionSettings (flags 1 direct, 2 proxy server, 4 script, 8 detect; then
    the proxy, bypass and script strings, each after its length) that WinHTTP reads, and
    the plain values beside it."""
    def field(s):
        b = s.encode("ascii")
        return struct.pack("<I", len(b)) + b
    flags = 1 | (2 if proxy else 0) | (4 if script else 0) | (8 if detect else 0)
    blob = struct.pack("<III", 0x46, 1, flags) + field(proxy) + field(bypass) + field(script)
    blob += b"\0" * 32
    reg = [("add", INET + r"\Connections", "/v", "DefaultConnectionSettings", "/t",
            "REG_BINARY", "/d", blob.hex(), "/f"),
           ("add", INET, "/v", "ProxyEnable", "/t", "REG_DWORD", "/d", "1" if proxy else "0",
            "/f")]
    for name, value in (("ProxyServer", proxy), ("ProxyOverride", bypass),
                        ("AutoConfigURL", script)):
        reg.append(("add", INET, "/v", name, "/t", "REG_SZ", "/d", value, "/f") if value else
                   ("delete", INET, "/v", name, "/f"))
    for args in reg:
        code, out, err = wine(["reg", *args], env, check=False, timeout=60)
        assert code == 0 or args[0] == "delete", f"reg {args}: {out}{err}"


def no_internet_options(env):
    wine(["reg", "delete", INET + r"\Connections", "/v", "DefaultConnectionSettings", "/f"],
         env, check=False, timeout=60)
    for name in ("ProxyEnable", "ProxyServer", "ProxyOverride", "AutoConfigURL"):
        wine(["reg", "delete", INET, "/v", name, "/f"], env, check=False, timeout=60)


# --- the companion ------------------------------------------------------------------------

class Companion:
    """xoauthbridge.exe serve under Wine, one account of the rig whose access token
    expires at once: the first login refreshes it."""

    def __init__(self, env, rig, front, d, general="", env_extra=None):
        self.env = dict(env, **(env_extra or {}))
        self.rig, self.d = rig, Path(d)
        shutil.rmtree(self.d, ignore_errors=True)
        self.d.mkdir(parents=True)
        provider = rig_provider_conf(rig, winpath(rig.ca_file)).replace(
            f"token_url = {rig.oauth['token_endpoint']}", f"token_url = {front.url('/token')}")
        self.conf = self.d / "xoauthbridge.conf"
        self.conf.write_text(f"""[general]
state_dir = {winpath(self.d / 'state')}
log_level = debug
log_file = {winpath(self.d / 'xoauthbridge.log')}
{general}

[proxy]
imap_listen = 127.0.0.1:0
pop3_listen = 127.0.0.1:0
smtp_listen = 127.0.0.1:0
# The tests' mail clients are Linux programs: Wine's connection table does not list them.
same_user_only = no

""" + provider)
        self.secret = self.run("account", "add", TARO, "--provider", "google").strip()
        tok = rig.mint_token(TARO)
        self.tokens = [tok["access_token"], tok["refresh_token"]]
        p = subprocess.run(["wine", winpath(EXE), "token", "set", TARO, "--expires-in", "1",
                            "--config", winpath(self.conf)], env=self.env,
                           input=(tok["access_token"] + "\n" + tok["refresh_token"] + "\n").encode(),
                           capture_output=True, timeout=120)
        assert p.returncode == 0, p.stderr
        ready = self.d / "ready.json"
        self.proc = subprocess.Popen(
            ["wine", winpath(EXE), "serve", "--config", winpath(self.conf), "--ready-file",
             winpath(ready)], env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert self.proc.poll() is None, "serve exited: " + self.log()
            assert time.monotonic() < deadline, "serve did not become ready: " + self.log()
            time.sleep(0.1)
        time.sleep(0.2)
        self.imap = int(json.loads(ready.read_text())["imap"].rsplit(":", 1)[1])

    def run(self, *args):
        code, out, err = wine([winpath(EXE), *args, "--config", winpath(self.conf)], self.env,
                              check=False, timeout=120)
        assert code == 0, f"xoauthbridge {args}: {out}{err}"
        return out

    def log(self):
        f = self.d / "xoauthbridge.log"
        return f.read_text(encoding="utf-8", errors="replace") if f.exists() else ""

    def wait_log(self, text, limit=20):
        deadline = time.monotonic() + limit
        while text not in self.log():
            assert time.monotonic() < deadline, f"not in the log: {text}\n{self.log()[-4000:]}"
            time.sleep(0.1)

    def login(self):
        """None when the login (so the token behind it) worked, else the refusal."""
        m = imaplib.IMAP4("127.0.0.1", self.imap, timeout=60)
        try:
            m.login(TARO, self.secret)
            assert m.select("INBOX")[0] == "OK"
            return None
        except imaplib.IMAP4.error as e:
            return str(e)
        finally:
            m.shutdown()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        log = self.log()
        for t in self.tokens:
            assert t not in log


def through(px, front, rig):
    tunnels = px.connects()
    assert f"127.0.0.1:{front.port}" in tunnels, px.log()
    mail = {str(rig.ports[k]) for k in ("imaps", "pop3s", "submissions")}
    assert not [t for t in tunnels if t.rsplit(":", 1)[1] in mail], tunnels


# --- the tests ------------------------------------------------------------------------------

def test_web_proxy_url(env, rig, front, proxy, tmp_path):
    no_internet_options(env)
    c = Companion(env, rig, front, tmp_path / "xb", f"web_proxy = {proxy.url}")
    try:
        assert c.login() is None, c.log()[-4000:]
        assert "refreshed the access token" in c.log()
        through(proxy, front, rig)
        assert f"web proxy: 127.0.0.1:{proxy.port} (web_proxy)" in c.log()
        proxy.stop()
        rig.revoke_access(TARO)
        assert c.login() is not None
        c.wait_log(f"cannot connect to the web proxy 127.0.0.1:{proxy.port}")
        c.wait_log(f"notice (web-proxy) for 127.0.0.1:{proxy.port}")
    finally:
        c.stop()


def test_system_reads_internet_options_not_the_environment(env, rig, front, proxy, tmp_path):
    internet_options(env, proxy=f"127.0.0.1:{proxy.port}", bypass="<local>")
    # libcurl reads https_proxy on Windows too: with `system` it must not count.
    c = Companion(env, rig, front, tmp_path / "xb", "web_proxy = system",
                  env_extra={"https_proxy": "http://127.0.0.1:1", "all_proxy": "http://127.0.0.1:1"})
    try:
        assert c.login() is None, c.log()[-4000:]
        through(proxy, front, rig)
        assert f"web proxy: 127.0.0.1:{proxy.port} (Internet Options of this user)" in c.log()
        out = c.run("config")
        assert (f"# system, now, for {front.url('/token')}: 127.0.0.1:{proxy.port} "
                "(Internet Options of this user)") in out, out
        proxy.stop()
        rig.revoke_access(TARO)
        assert c.login() is not None
        c.wait_log(f"cannot connect to the web proxy 127.0.0.1:{proxy.port}")
    finally:
        c.stop()
        no_internet_options(env)


def test_system_bypass_list_goes_direct(env, rig, front, proxy, tmp_path):
    internet_options(env, proxy=f"127.0.0.1:{proxy.port}", bypass="intranet;127.0.0.*;<local>")
    c = Companion(env, rig, front, tmp_path / "xb")
    try:
        assert c.login() is None, c.log()[-4000:]
        assert proxy.connects() == []
        assert ("web proxy: direct (Internet Options of this user: its bypass list names "
                "127.0.0.1)") in c.log()
    finally:
        c.stop()
        no_internet_options(env)


def test_system_automatic_configuration_script(env, rig, front, proxy, tmp_path):
    pac = PacServer('function FindProxyForURL(url, host) {\n'
                    '  if (shExpMatch(host, "*.example.invalid")) return "DIRECT";\n'
                    f'  return "PROXY 127.0.0.1:{proxy.port}; DIRECT";\n'
                    '}\n')
    internet_options(env, script=pac.url)
    c = Companion(env, rig, front, tmp_path / "xb")
    try:
        assert c.login() is None, c.log()[-4000:]
        through(proxy, front, rig)
        assert pac.fetches >= 1
        assert (f"web proxy: 127.0.0.1:{proxy.port} (the automatic configuration script "
                f"{pac.url})") in c.log()
        # The answer is kept: the next refresh asks no script.
        fetches = pac.fetches
        rig.revoke_access(TARO)
        assert c.login() is None
        assert pac.fetches == fetches
        log = c.log()
        assert log.count("refreshed the access token") == 2, log
        assert log.count("web proxy: 127.0.0.1") == 1, log   # the same route, said once
    finally:
        c.stop()
        pac.close()
        no_internet_options(env)


def test_system_with_nothing_found_is_direct_and_said_once(env, rig, front, proxy, tmp_path):
    no_internet_options(env)          # Wine then says "detect automatically", as Windows
    c = Companion(env, rig, front, tmp_path / "xb")
    try:
        assert c.login() is None, c.log()[-4000:]
        rig.revoke_access(TARO)
        assert c.login() is None
        assert proxy.connects() == []
        log = c.log()
        assert "web proxy: direct (automatic proxy detection (WPAD) gave no answer" in log, log
        assert log.count("automatic proxy detection (WPAD) gave no answer") == 2, log
    finally:
        c.stop()
