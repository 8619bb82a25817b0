"""Runs the real xoauthbridge daemon against a Rig (the loopback Gmail stand-in).

    with Rig(tmp / "rig") as rig, Bridge(exe, rig, tmp / "xb") as xb:
        xb.imap_port, xb.secret, xb.email ...

The account is enrolled through the CLI exactly as an admin would (account add prints
the local secret once; token set stores tokens from stdin), then `serve` runs with
ports chosen by the kernel and reported through --ready-file.
"""
import json
import os
import signal
import subprocess
import time
from pathlib import Path


class BridgeError(RuntimeError):
    pass


class Bridge:
    def __init__(self, exe, rig, directory, email=None, extra_config="", token=True,
                 provider_extra="", log_level="debug", general_extra="", servers=None,
                 ca_file=None, env_extra=None, token_url=None):
        self.exe = str(exe)
        self.rig = rig
        self.dir = Path(directory)
        self.email = email or rig.users[0]
        self.extra_config = extra_config
        self.provider_extra = provider_extra
        self.want_token = token
        self.log_level = log_level
        self.general_extra = general_extra
        # provider server lines; by default implicit TLS to the rig's TLS ports
        self.servers = servers
        self.ca_file = ca_file
        self.env_extra = dict(env_extra or {})  # for the daemon and every CLI call
        self.token_url = token_url  # another way to the rig's token endpoint (a TLS front)
        self.proc = None
        self.secret = None
        self.tokens_seen = []  # every token handed to the bridge: none may reach a log
        self.ports = {}

    # --- set-up ----------------------------------------------------------------------
    @property
    def config_path(self):
        return self.dir / "xoauthbridge.conf"

    @property
    def log_path(self):
        return self.dir / "xoauthbridge.log"

    def write_config(self):
        r = self.rig
        o = r.oauth
        servers = self.servers or (f"imap = 127.0.0.1:{r.ports['imaps']}\n"
                                   f"pop3 = 127.0.0.1:{r.ports['pop3s']}\n"
                                   f"smtp = 127.0.0.1:{r.ports['submissions']}\n")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(f"""# written by tests/integration/bridge.py
[general]
state_dir = {self.dir / 'state'}
log_level = {self.log_level}
log_file = {self.log_path}
{self.general_extra}

[proxy]
imap_listen = 127.0.0.1:0
pop3_listen = 127.0.0.1:0
smtp_listen = 127.0.0.1:0
{self.extra_config}

[tls]
ca_file = {self.ca_file or r.ca_file}

[provider.rig]
auth_url = {o['authorization_endpoint']}
token_url = {self.token_url or o['token_endpoint']}
revoke_url = {o['revocation_endpoint']}
issuer = {o['issuer']}
identity = id_token
scope = {o['scope']}
client_id = {o['client_id']}
client_secret = {o['client_secret']}
{servers}{self.provider_extra}
""")

    @property
    def runtime_dir(self):
        """$XDG_RUNTIME_DIR of this bridge: its control socket is xoauthbridge.sock there, so
        that bridges running at the same time (and the CLI of each) do not meet."""
        d = self.dir / "run"
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        return d

    @property
    def control_path(self):
        return self.runtime_dir / "xoauthbridge.sock"

    def env(self, **extra):
        return dict(os.environ, XDG_RUNTIME_DIR=str(self.runtime_dir),
                    **dict(self.env_extra, **extra))

    def cli(self, *args, stdin=None, check=True, timeout=30):
        p = subprocess.run([self.exe, *args, "--config", str(self.config_path)],
                           input=stdin, capture_output=True, timeout=timeout, env=self.env())
        if check and p.returncode != 0:
            raise BridgeError(f"xoauthbridge {' '.join(args)} failed ({p.returncode}): "
                              f"{p.stderr.decode(errors='replace')}")
        return p

    def enrol(self):
        out = self.cli("account", "add", self.email, "--provider", "rig")
        self.secret = out.stdout.decode().strip()
        if self.want_token:
            self.set_token(self.rig.mint_token(self.email))

    def add_account(self, email, token=True):
        """Enrols another account of the rig's users; returns its local secret."""
        secret = self.cli("account", "add", email, "--provider", "rig").stdout.decode().strip()
        if token:
            tok = self.rig.mint_token(email)
            self.tokens_seen += [tok["access_token"], tok["refresh_token"]]
            self.cli("token", "set", email,
                     stdin=(tok["access_token"] + "\n" + tok["refresh_token"] + "\n").encode())
        return secret

    def set_token(self, tok, expires_in=None):
        self.tokens_seen += [t for t in (tok.get("access_token"), tok.get("refresh_token")) if t]
        lines = tok["access_token"] + "\n" + tok.get("refresh_token", "") + "\n"
        args = ["token", "set", self.email]
        if expires_in is not None:
            args += ["--expires-in", str(expires_in)]
        self.cli(*args, stdin=lines.encode())

    # --- running ---------------------------------------------------------------------
    def start(self):
        ready = self.dir / "ready.json"
        if ready.exists():
            ready.unlink()
        self.proc = subprocess.Popen(
            [self.exe, "serve", "--config", str(self.config_path), "--ready-file", str(ready)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=self.env())
        deadline = time.monotonic() + 10
        while not ready.exists():
            if self.proc.poll() is not None:
                raise BridgeError("serve exited: " + self.proc.stderr.read().decode(errors="replace")
                                  + self.log_text())
            if time.monotonic() > deadline:
                raise BridgeError("serve did not become ready in 10 s")
            time.sleep(0.02)
        addrs = json.loads(ready.read_text())
        self.ports = {k: int(addrs[k].rsplit(":", 1)[1]) for k in ("imap", "pop3", "smtp")
                      if k in addrs}
        return self

    def stop(self, timeout=10):
        """SIGTERM and wait; returns the exit code (None if it had to be killed)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def __enter__(self):
        self.write_config()
        self.enrol()
        return self.start()

    def __exit__(self, exc_type, *exc):
        rc = self.stop()
        # A daemon that crashes at exit, or (sanitizer build) reports an error or a leak,
        # fails the test that used it, with what it printed.
        if exc_type is None and rc != 0:
            err = self.proc.stderr.read().decode(errors="replace") if self.proc else ""
            raise BridgeError(f"serve exited with {rc}: {err[-6000:]}")

    @property
    def imap_port(self):
        return self.ports["imap"]

    @property
    def pop3_port(self):
        return self.ports["pop3"]

    @property
    def smtp_port(self):
        return self.ports["smtp"]

    def log_text(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def status(self):
        return self.cli("status").stdout.decode()
