"""A campus network in front of the rig, for the tests of [general] web_proxy.

    with TLSFront(rig) as front, TinyProxy(work / "px") as px:
        token_url = front.url("/token")      # https://127.0.0.1:PORT/token
        px.url                               # http://127.0.0.1:PORT
        px.connects()                        # ["127.0.0.1:PORT", ...] the CONNECTs it saw

TinyProxy: Debian's tinyproxy (a real HTTP CONNECT proxy), run in the foreground (-d) as
the test's user with a configuration written here, on 127.0.0.1 only, logging to a file
(no daemon, no syslog). refuse=True allows CONNECT to port 443 only (ConnectPort 443), so
a tunnel to the rig's port is refused with 403, as a campus proxy refuses odd ports;
auth=(user, password) asks for Basic authentication (407 without it).

TLSFront: the rig's OAuth server (plain HTTP on loopback) behind TLS with the rig's own
certificate for 127.0.0.1, so that a token request through the proxy is what it is in
production: CONNECT, then TLS inside the tunnel. Each request it forwards is counted.
"""
import http.client
import http.server
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

HOST = "127.0.0.1"


def _free_port():
    s = socket.socket()
    try:
        s.bind((HOST, 0))
        return s.getsockname()[1]
    finally:
        s.close()


class TinyProxy:
    def __init__(self, directory, refuse=False, auth=None):
        self.dir = Path(directory)
        self.refuse = refuse
        self.auth = auth
        self.port = None
        self.proc = None

    @property
    def url(self):
        return f"http://{HOST}:{self.port}"

    @property
    def log_path(self):
        return self.dir / "tinyproxy.log"

    def start(self):
        exe = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
        if not os.path.exists(exe):
            raise RuntimeError("tinyproxy is missing: apt-get install tinyproxy "
                               "(scripts/install-packages.sh)")
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.port is None:
            self.port = _free_port()
        lines = [f"Port {self.port}", f"Listen {HOST}", "Timeout 30",
                 f'LogFile "{self.log_path}"', "LogLevel Connect", "MaxClients 20",
                 "DisableViaHeader Yes"]
        if self.refuse:
            lines.append("ConnectPort 443")
        if self.auth:
            lines.append("BasicAuth %s %s" % self.auth)
        conf = self.dir / "tinyproxy.conf"
        conf.write_text("\n".join(lines) + "\n")
        self.proc = subprocess.Popen([exe, "-d", "-c", str(conf)], stdin=subprocess.DEVNULL,
                                     stdout=open(self.dir / "tinyproxy.out", "ab"),
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("tinyproxy exited: " +
                                   (self.dir / "tinyproxy.out").read_text(errors="replace"))
            try:
                socket.create_connection((HOST, self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("tinyproxy did not listen in 10 s")
                time.sleep(0.05)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def connects(self):
        """host:port of every CONNECT request tinyproxy logged, in order."""
        out = []
        for line in self.log().splitlines():
            if "Request (file descriptor" in line and ": CONNECT " in line:
                out.append(line.split(": CONNECT ", 1)[1].split()[0])
        return out

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class _Forward(http.server.BaseHTTPRequestHandler):
    """One request to the backend and its answer back (the token endpoint's exchanges
    are single requests with a Content-Length)."""
    protocol_version = "HTTP/1.1"

    def _forward(self):
        front = self.server.front
        front.requests += 1
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "connection", "content-length")}
        conn = http.client.HTTPConnection(*front.backend, timeout=30)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            self.send_response(r.status, r.reason)
            for k, v in r.getheaders():
                if k.lower() not in ("connection", "transfer-encoding", "content-length",
                                     "keep-alive"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        finally:
            conn.close()

    do_GET = do_POST = _forward

    def log_message(self, *args):
        pass


class TLSFront:
    def __init__(self, rig, cert=None, key=None):
        issuer = rig.oauth["issuer"]          # http://127.0.0.1:PORT
        self.backend = (HOST, int(issuer.rsplit(":", 1)[1]))
        tls = Path(rig.ca_file).parent
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert or tls / "server.crt"), str(key or tls / "server.key"))
        self.server = http.server.ThreadingHTTPServer((HOST, 0), _Forward)
        self.server.daemon_threads = True
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.server.front = self
        self.port = self.server.server_address[1]
        self.requests = 0
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path):
        return f"https://{HOST}:{self.port}{path}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
