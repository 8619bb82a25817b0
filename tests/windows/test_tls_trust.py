"""Windows decides which servers are trusted, and nothing another user of the PC plants
is read (issue: Windows hardening; platform/win32/tlstrust.c, scripts/deps.sh).

Under Wine, in a prefix of its own, with certificates made here by the openssl command:

  root A   placed in the prefix's certificate store (CurrentUser ROOT) by the test
  root B   known to nobody
  root C   planted where the 0.1 binaries would have read CA files: C:\\etc\\ssl\\certs\\
           (libcurl's compiled-in bundle and folder) and the old OPENSSLDIR
  leaves   localhost from A (good, wrong name, expired), localhost from B, from C

TLS servers (Python's ssl) present each leaf on 127.0.0.1. tls_probe.exe makes the
handshakes with the core's own code (core/tls.c as the proxy does, core/http.c as the
token client does); the companion itself runs for the refusal it reports to a mail
program and the notification it shows, and with an openssl.cnf planted in every folder
the old binaries read, whose provider and engine sections name a DLL that leaves a
marker file when loaded.

Environment (tests/windows/CMakeLists.txt): XB_EXE, XB_PROBE, XB_MARKER_DLL,
XB_DEPS_PREFIXES (the dependency cache, for the old OPENSSLDIR), XB_WORK.
"""
import imaplib
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from outlookrig import WINE_DLL_OVERRIDES, fresh_prefix, wine  # noqa: E402

EXE = Path(os.environ["XB_EXE"])
PROBE = Path(os.environ["XB_PROBE"])
MARKER_DLL = Path(os.environ["XB_MARKER_DLL"])
DEPS_PREFIXES = [p for p in os.environ.get("XB_DEPS_PREFIXES", "").split(",") if p]
WORK = Path(os.environ["XB_WORK"])

EMAIL = "taro@example.ac.jp"


def winpath(p):
    """A Unix path as the Windows programs see it (Wine's Z: is /)."""
    return "Z:" + str(p).replace("/", "\\")


# --- certificates -------------------------------------------------------------------------

def openssl(*args, cwd):
    subprocess.run(["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True)


class PKI:
    def __init__(self, d):
        self.d = Path(d)
        self.d.mkdir(parents=True, exist_ok=True)
        for r in ("A", "B", "C"):
            self.root(r)
        self.leaf("good", "A", "DNS:localhost,IP:127.0.0.1")
        self.leaf("wrongname", "A", "DNS:wrong.example")
        self.leaf("expired", "A", "DNS:localhost,IP:127.0.0.1",
                  dates=("20200101000000Z", "20210101000000Z"))
        self.leaf("unknown", "B", "DNS:localhost,IP:127.0.0.1")
        self.leaf("planted", "C", "DNS:localhost,IP:127.0.0.1")

    def root(self, name):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                "-subj", f"/O=XOAuth Bridge tests/CN=Test root {name}",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout", f"root{name}.key", "-out", f"root{name}.crt", cwd=self.d)

    def leaf(self, name, root, san, dates=None):
        d = self.d
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
        (d / f"{name}.ext").write_text(
            f"basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            f"extendedKeyUsage=serverAuth\nsubjectAltName={san}\n")
        if dates:
            # `openssl ca` is the one that can date a certificate in the past.
            ca = d / f"ca-{name}"
            ca.mkdir(exist_ok=True)
            (ca / "index.txt").write_text("")
            (ca / "serial").write_text("1000\n")
            (ca / "ca.cnf").write_text(
                "[ca]\ndefault_ca=x\n[x]\n"
                f"database={ca}/index.txt\nserial={ca}/serial\nnew_certs_dir={ca}\n"
                "default_md=sha256\npolicy=p\ncopy_extensions=none\n[p]\ncommonName=supplied\n")
            openssl("ca", "-batch", "-config", ca / "ca.cnf", "-in", f"{name}.csr",
                    "-cert", f"root{root}.crt", "-keyfile", f"root{root}.key",
                    "-startdate", dates[0], "-enddate", dates[1], "-extfile", f"{name}.ext",
                    "-out", f"{name}.crt", cwd=d)
        else:
            openssl("x509", "-req", "-in", f"{name}.csr", "-days", "30", "-CA", f"root{root}.crt",
                    "-CAkey", f"root{root}.key", "-set_serial", str(abs(hash(name)) % 10**8),
                    "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=d)

    def crt(self, name):
        return self.d / f"{name}.crt"

    def key(self, name):
        return self.d / f"{name}.key"

    def subject_hash(self, name):
        out = subprocess.run(["openssl", "x509", "-noout", "-subject_hash", "-in", self.crt(name)],
                             check=True, capture_output=True, text=True).stdout
        return out.strip()


# --- servers ------------------------------------------------------------------------------

class TLSServer(threading.Thread):
    """Presents one certificate on 127.0.0.1: a mail server's greeting for a handshake that
    works, or, with http=True, an HTTPS answer to any POST (a token endpoint)."""

    def __init__(self, pki, leaf, http=False):
        super().__init__(daemon=True)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(pki.crt(leaf), pki.key(leaf))
        self.http = http
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.handshakes = 0
        self.stop = False

    def run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        try:
            c.settimeout(10)
            t = self.ctx.wrap_socket(c, server_side=True)
            self.handshakes += 1
            if self.http:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += t.recv(4096)
                head, _, body = data.partition(b"\r\n\r\n")
                m = re.search(rb"content-length:\s*(\d+)", head, re.I)
                while m and len(body) < int(m.group(1)):
                    body += t.recv(4096)
                t.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")
            else:
                t.sendall(b"* OK test server ready\r\n")
                t.recv(100)
            t.close()
        except (OSError, ssl.SSLError):
            c.close()

    def close(self):
        self.stop = True
        self.sock.close()


# --- fixtures -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def env():
    WORK.mkdir(parents=True, exist_ok=True)
    prefix = WORK / "prefix"
    fresh_prefix(prefix)
    e = dict(os.environ, WINEPREFIX=str(prefix), WINEDEBUG="-all",
             WINEDLLOVERRIDES=WINE_DLL_OVERRIDES)
    # The companion resolves with libevent's resolver, which reads the hosts file; as on
    # Windows, the prefix's names localhost only in a comment.
    hosts = prefix / "drive_c" / "windows" / "system32" / "drivers" / "etc" / "hosts"
    hosts.write_text("127.0.0.1 localhost\r\n")
    e.pop("SSL_CERT_FILE", None)
    e.pop("SSL_CERT_DIR", None)
    e.pop("OPENSSL_CONF", None)
    yield e
    subprocess.run(["wineserver", "-k"], env=e, capture_output=True)


@pytest.fixture(scope="module")
def drive_c(env):
    return Path(env["WINEPREFIX"]) / "drive_c"


@pytest.fixture(scope="module")
def pki():
    return PKI(WORK / "pki")


@pytest.fixture(scope="module")
def servers(pki):
    s = {name: TLSServer(pki, name) for name in ("good", "wrongname", "expired", "unknown",
                                                  "planted")}
    s["https-good"] = TLSServer(pki, "good", http=True)
    s["https-unknown"] = TLSServer(pki, "unknown", http=True)
    s["https-planted"] = TLSServer(pki, "planted", http=True)
    for t in s.values():
        t.start()
    yield s
    for t in s.values():
        t.close()


def probe(env, *args, cwd=None):
    """tls_probe.exe; returns (exit code, stdout, stderr)."""
    old = os.getcwd()
    if cwd:
        os.chdir(cwd)
    try:
        return wine([winpath(PROBE), *args], env, check=False, timeout=120)
    finally:
        os.chdir(old)


def refused(res, host, *reasons):
    code, out, err = res
    assert code == 1 and out.startswith("refused"), f"expected a refusal:\n{out}\n{err}"
    line = next((l for l in err.splitlines() if "Windows does not trust the certificate of "
                 + host in l), None)
    assert line, f"no log line with the host and Windows' reason:\n{err}"
    assert any(r in line for r in reasons), f"expected one of {reasons} in: {line}"
    return line


# --- the trust decision -------------------------------------------------------------------

def test_a_root_windows_trusts_is_trusted_and_only_then(env, pki, servers):
    """The rig's CA is nowhere but in the prefix's store: before it is added the server is
    refused (Windows decides, not some bundle), after it both paths trust it."""
    good = servers["good"].port
    res = probe(env, "mail", "localhost", good)
    refused(res, "localhost", "CERT_E_UNTRUSTEDROOT", "CERT_E_CHAINING")
    code, out, err = probe(env, "add-root", winpath(pki.crt("rootA")))
    assert code == 0, out + err
    code, out, err = probe(env, "mail", "localhost", good)
    assert (code, out.strip()) == (0, "trusted"), out + err
    code, out, err = probe(env, "mail", "127.0.0.1", good)   # an IP: its SAN, by OpenSSL
    assert (code, out.strip()) == (0, "trusted"), out + err
    code, out, err = probe(env, "https", f"https://localhost:{servers['https-good'].port}/token")
    assert code == 0 and out.startswith("trusted (HTTP 200)"), out + err


def test_unknown_root_is_refused(env, servers):
    refused(probe(env, "mail", "localhost", servers["unknown"].port), "localhost",
            "CERT_E_UNTRUSTEDROOT", "CERT_E_CHAINING")
    code, out, err = probe(env, "https", f"https://localhost:{servers['https-unknown'].port}/t")
    assert code == 1 and out.startswith("refused: SSL certificate problem"), out + err
    assert "Windows does not trust the certificate of localhost" in err


def test_wrong_name_is_refused(env, pki, servers):
    probe(env, "add-root", winpath(pki.crt("rootA")))
    refused(probe(env, "mail", "localhost", servers["wrongname"].port), "localhost",
            "CERT_E_CN_NO_MATCH")
    # ca_file is a second chance for the chain, never for the name.
    refused(probe(env, "mail", "localhost", servers["wrongname"].port,
                  winpath(pki.crt("rootA"))), "localhost", "CERT_E_CN_NO_MATCH")


def test_expired_is_refused(env, pki, servers):
    probe(env, "add-root", winpath(pki.crt("rootA")))
    refused(probe(env, "mail", "localhost", servers["expired"].port), "localhost",
            "CERT_E_EXPIRED")


def test_ca_file_adds_a_test_ca(env, pki, servers):
    code, out, err = probe(env, "mail", "localhost", servers["unknown"].port,
                           winpath(pki.crt("rootB")))
    assert (code, out.strip()) == (0, "trusted"), out + err
    code, out, err = probe(env, "https", f"https://localhost:{servers['https-unknown'].port}/t",
                           winpath(pki.crt("rootB")))
    assert code == 0, out + err


def test_a_broken_ca_file_is_an_error_not_a_pass(env, pki, servers, tmp_path):
    bad = tmp_path / "broken.crt"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    code, out, err = probe(env, "mail", "localhost", servers["unknown"].port, winpath(bad))
    assert code == 2 and "cannot load the CA file" in out, out + err


# --- what another user could plant ------------------------------------------------------------

def old_openssl_dirs():
    """Where the 0.1 binaries' OpenSSL looked (OPENSSLDIR under the dependency cache, every
    recipe so far) and the usual defaults: as Unix paths, which Windows resolves on the
    current drive."""
    dirs = {"/usr/local/ssl", "/usr/lib/ssl", "/etc/ssl"}
    for p in DEPS_PREFIXES:
        m = re.match(r"(.*/openssl-[^/]*\+xb)(\d+)$", p)
        if m:
            for n in range(1, int(m.group(2)) + 1):
                dirs.add(f"{m.group(1)}{n}/ssl")
    return sorted(dirs)


@pytest.fixture(scope="module")
def planted(env, drive_c, pki):
    evil = drive_c / "evil"
    evil.mkdir(exist_ok=True)
    shutil.copy(MARKER_DLL, evil / "evil.dll")
    marker = evil / "marker.txt"
    cnf = ("openssl_conf = init\n[init]\nproviders = prov\nengines = eng\n"
           "[prov]\nevil = evil_prov\n[evil_prov]\nmodule = C:\\evil\\evil.dll\nactivate = 1\n"
           "[eng]\nevil = evil_eng\n[evil_eng]\ndynamic_path = C:\\evil\\evil.dll\ninit = 1\n")
    (evil / "openssl.cnf").write_text(cnf)
    h = pki.subject_hash("rootC")
    where = []
    for unix in old_openssl_dirs():
        d = drive_c / unix.lstrip("/")
        (d / "certs").mkdir(parents=True, exist_ok=True)
        (d / "openssl.cnf").write_text(cnf)
        shutil.copy(pki.crt("rootC"), d / "cert.pem")
        shutil.copy(pki.crt("rootC"), d / "certs" / f"{h}.0")
        where.append(d)
    certs = drive_c / "etc" / "ssl" / "certs"          # libcurl's old bundle and folder
    certs.mkdir(parents=True, exist_ok=True)
    shutil.copy(pki.crt("rootC"), certs / "ca-certificates.crt")
    shutil.copy(pki.crt("rootC"), certs / f"{h}.0")
    cwd = drive_c / "xb-cwd"                            # the current drive is C:
    cwd.mkdir(exist_ok=True)
    (cwd / "openssl.cnf").write_text(cnf)
    env = dict(env, XB_MARKER="C:\\evil\\marker.txt")
    return {"env": env, "marker": marker, "cwd": cwd, "dirs": where}


def test_the_marker_dll_works(planted):
    """The control: loaded by a program that does load it, the DLL leaves its marker. So
    no marker below means nothing loaded it."""
    code, out, err = probe(planted["env"], "load-dll", "C:\\evil\\evil.dll")
    assert code == 0, out + err
    assert "tls_probe.exe" in planted["marker"].read_text(encoding="utf-16-le")
    planted["marker"].unlink()


def test_planted_ca_is_not_trusted(planted, servers):
    env, cwd = planted["env"], planted["cwd"]
    assert planted["dirs"], "no old OPENSSLDIR to plant into"
    refused(probe(env, "mail", "localhost", servers["planted"].port, cwd=cwd), "localhost",
            "CERT_E_UNTRUSTEDROOT", "CERT_E_CHAINING")
    code, out, err = probe(env, "https", f"https://localhost:{servers['https-planted'].port}/t",
                           cwd=cwd)
    assert code == 1 and out.startswith("refused"), out + err
    assert not planted["marker"].exists()


def test_openssl_loads_no_code_even_when_asked(planted):
    """OPENSSL_CONF, the default initialisation and an explicit load of a configuration
    whose provider and engine sections name the DLL: this OpenSSL cannot load a DLL at all
    (no-dso, no-engine, no-module) and knows no folder a file could be planted in."""
    code, out, err = probe(planted["env"], "openssl-config", "C:\\evil\\openssl.cnf",
                           cwd=planted["cwd"])
    assert code == 0, out + err
    assert "config dir <no-openssl-files>" in out, out
    assert not planted["marker"].exists(), planted["marker"].read_text(encoding="utf-16-le")


def companion_config(d, imap, token_url):
    d.mkdir(parents=True, exist_ok=True)
    conf = d / "xoauthbridge.conf"
    conf.write_text(f"""[general]
state_dir = {winpath(d / 'state')}
log_level = debug
log_file = {winpath(d / 'xoauthbridge.log')}

[proxy]
imap_listen = 127.0.0.1:0
pop3_listen = 127.0.0.1:0
smtp_listen = 127.0.0.1:0
# The tests' mail clients are Linux programs: Wine's connection table does not list them,
# and Windows' peer check refuses what it cannot prove (test_addin_e2e checks that rule).
same_user_only = no

[provider.test]
auth_url = https://localhost/auth
token_url = {token_url}
scope = https://mail.google.com/
client_id = test-client
imap = {imap}
pop3 = localhost:1
smtp = localhost:1
""")
    return conf


class Companion:
    """xoauthbridge.exe serve under Wine, with one account whose tokens are stand-ins (the
    handshake fails before any token would be sent)."""

    def __init__(self, env, d, conf, cwd, expired_token=False):
        self.env, self.d, self.conf, self.cwd = env, d, conf, cwd
        self.ready = d / "ready.json"
        cli = [winpath(EXE)]
        self.secret = self.run("account", "add", EMAIL, "--provider", "test").strip()
        # An access token that expires within the refresh margin: the first login refreshes.
        args = ["token", "set", EMAIL] + (["--expires-in", "1"] if expired_token else [])
        p = subprocess.run(["wine", *cli, *args, "--config", winpath(conf)], env=env, cwd=cwd,
                           input=b"stand-in-access-token\nstand-in-refresh-token\n",
                           capture_output=True, timeout=120)
        assert p.returncode == 0, p.stderr
        self.proc = subprocess.Popen(
            ["wine", *cli, "serve", "--config", winpath(conf), "--ready-file",
             winpath(self.ready)], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not self.ready.exists():
            assert self.proc.poll() is None, "serve exited: " + self.log()
            assert time.monotonic() < deadline, "serve did not become ready: " + self.log()
            time.sleep(0.1)
        time.sleep(0.2)
        import json
        self.imap = int(json.loads(self.ready.read_text())["imap"].rsplit(":", 1)[1])

    def run(self, *args):
        p = subprocess.run(["wine", winpath(EXE), *args, "--config", winpath(self.conf)],
                           env=self.env, cwd=self.cwd, capture_output=True, timeout=120)
        assert p.returncode == 0, p.stderr
        return p.stdout.decode()

    def log(self):
        f = self.d / "xoauthbridge.log"
        return f.read_text(encoding="utf-8", errors="replace") if f.exists() else ""

    def stop(self):
        wine([winpath(EXE), "quit", "--config", winpath(self.conf)], self.env, check=False,
             timeout=60)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def login_refused(port, secret):
    m = imaplib.IMAP4("127.0.0.1", port, timeout=60)
    with pytest.raises(imaplib.IMAP4.error) as e:
        m.login(EMAIL, secret)
    m.shutdown()
    return str(e.value)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_companion_refuses_and_says_what_to_tell_it(planted, servers, lang):
    """The companion, with every planted file in place: the mail program gets a clean
    refusal, the log names the host and Windows' reason, the notification says what to
    tell IT (in the person's language), nothing planted is trusted or loaded."""
    env = dict(planted["env"])
    if lang == "ja":
        env.update(LANG="ja_JP.UTF-8", LC_ALL="ja_JP.UTF-8")
    d = WORK / f"companion-{lang}"
    shutil.rmtree(d, ignore_errors=True)
    conf = companion_config(d, f"localhost:{servers['planted'].port}",
                            f"https://localhost:{servers['https-planted'].port}/token")
    c = Companion(env, d, conf, planted["cwd"])
    try:
        assert "UNAVAILABLE" in login_refused(c.imap, c.secret)
    finally:
        c.stop()
    log = c.log()
    assert re.search(r"Windows does not trust the certificate of localhost: .*"
                     r"(CERT_E_UNTRUSTEDROOT|CERT_E_CHAINING)", log), log
    assert f"upstream localhost:{servers['planted'].port} failed" in log, log
    note = next((l for l in log.splitlines() if "notice (untrusted) for localhost" in l), "")
    if lang == "ja":
        assert "IT 部門に依頼してください" in note, log
    else:
        assert "Tell your IT department" in note and "TLS inspection" in note, log
    assert "stand-in-access-token" not in log and "stand-in-refresh-token" not in log
    assert not planted["marker"].exists(), planted["marker"].read_text(encoding="utf-16-le")


def test_token_endpoint_refusal_says_what_to_tell_it(planted, servers):
    """A refresh against a token endpoint whose certificate Windows refuses: the account is
    not sent to sign in again (a sign-in cannot fix this); IT is named."""
    d = WORK / "companion-token"
    shutil.rmtree(d, ignore_errors=True)
    conf = companion_config(d, f"localhost:{servers['good'].port}",
                            f"https://localhost:{servers['https-planted'].port}/token")
    c = Companion(planted["env"], d, conf, planted["cwd"], expired_token=True)
    try:
        login_refused(c.imap, c.secret)
        status = c.run("status")
    finally:
        c.stop()
    log = c.log()
    assert "token endpoint's certificate is not trusted" in log, log
    assert "notice (untrusted) for localhost" in log, log
    assert "notice (signin-needed)" not in log, log
    assert "needs-signin" not in status.replace(" ", "-").lower(), status
    assert not planted["marker"].exists()
