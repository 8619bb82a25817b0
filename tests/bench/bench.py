#!/usr/bin/python3
"""Benchmarks of the proxy against a direct TLS client, in one run, on the same Dovecot.

    tests/bench/bench.py [--exe build/linux/service/xoauthbridge] [--rounds 5] [--quick]
                         [--only imap,pop3,smtp,noop,seq,login,burst,held]

Every figure is measured both ways, alternating direct and proxied runs (and which of the
two goes first), and reported as medians side by side, with the median of the per-round
ratios ("paired"); the NOOP round trip alternates command by command on two sessions open
side by side. It prints figures; it asserts nothing (see docs/performance.md).
"""
import argparse
import base64
import json
import resource
import shutil
import socket
import ssl
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "rig"))
sys.path.insert(0, str(HERE.parent / "integration"))

from rig import Rig, message_of_size  # noqa: E402
from bridge import Bridge  # noqa: E402

MiB = 1024 * 1024
BIG = "bench-big@example.com"
GROUPS = ("imap", "pop3", "smtp", "noop", "seq", "login", "burst", "held")
SMALL = "bench-small@example.com"
SEQ = "bench-seq@example.com"
SEQ_SIZES = (4096, 65536, 262144, 1 << 20)


# --- a minimal IMAP/POP3/SMTP client over a plain or TLS socket -----------------------------

class Conn:
    def __init__(self, port, tls_ctx=None, timeout=120):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s = tls_ctx.wrap_socket(s, server_hostname="127.0.0.1") if tls_ctx else s
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise EOFError(self.buf[-200:])
            self.buf += chunk
        ln, self.buf = self.buf.split(b"\n", 1)
        return ln

    def until(self, marker):
        """Reads until marker (bytes) has arrived; returns the number of bytes read."""
        total = len(self.buf)
        tail = self.buf
        self.buf = b""
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        while marker not in tail:
            n = self.s.recv_into(view)
            if not n:
                raise EOFError(tail[-200:])
            total += n
            tail = tail[-len(marker):] + bytes(view[max(0, n - 64):n])
        return total

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def xoauth2(email, token):
    return base64.b64encode(f"user={email}\x01auth=Bearer {token}\x01\x01".encode()).decode()


class Side:
    """How to open a logged-in session, directly (TLS + XOAUTH2) or through the proxy."""

    def __init__(self, name, rig, xb, secrets, tokens):
        self.name, self.rig, self.xb, self.secrets, self.tokens = name, rig, xb, secrets, tokens
        self.ctx = rig.ssl_context() if name == "direct" else None

    def port(self, proto):
        if self.name == "direct":
            return self.rig.ports[{"imap": "imaps", "pop3": "pop3s", "smtp": "submissions"}[proto]]
        return self.xb.ports[proto]

    def imap(self, email):
        c = Conn(self.port("imap"), self.ctx)
        c.line()
        if self.name == "direct":
            c.send(b"a1 AUTHENTICATE XOAUTH2 " + xoauth2(email, self.tokens[email]).encode() + b"\r\n")
        else:
            c.send(b"a1 LOGIN " + email.encode() + b" " + self.secrets[email].encode() + b"\r\n")
        while True:
            ln = c.line()
            if ln.startswith(b"a1 "):
                if not ln.startswith(b"a1 OK"):
                    raise RuntimeError(ln)
                return c

    def pop3(self, email):
        c = Conn(self.port("pop3"), self.ctx)
        c.line()
        if self.name == "direct":
            c.send(b"AUTH XOAUTH2 " + xoauth2(email, self.tokens[email]).encode() + b"\r\n")
        else:
            c.send(b"USER " + email.encode() + b"\r\nPASS " + self.secrets[email].encode() + b"\r\n")
            c.line()
        ln = c.line()
        if not ln.startswith(b"+OK"):
            raise RuntimeError(ln)
        return c

    def smtp(self, email):
        c = Conn(self.port("smtp"), self.ctx)
        c.line()
        c.send(b"EHLO bench\r\n")
        while not c.line().startswith(b"250 "):
            pass
        if self.name == "direct":
            c.send(b"AUTH XOAUTH2 " + xoauth2(email, self.tokens[email]).encode() + b"\r\n")
        else:
            pl = base64.b64encode(b"\0" + email.encode() + b"\0" + self.secrets[email].encode())
            c.send(b"AUTH PLAIN " + pl + b"\r\n")
        ln = c.line()
        if not ln.startswith(b"235"):
            raise RuntimeError(ln)
        return c


def select(c):
    c.send(b"s SELECT INBOX\r\n")
    while not c.line().startswith(b"s "):
        pass


# --- measurements ----------------------------------------------------------------------------

def imap_fetch(side, email, rng):
    c = side.imap(email)
    select(c)
    t0 = time.perf_counter()
    c.send(b"f FETCH " + rng + b" BODY.PEEK[]\r\n")
    n = c.until(b"\r\nf OK")
    dt = time.perf_counter() - t0
    c.close()
    return n / dt / MiB


def pop3_retr(side, email):
    c = side.pop3(email)
    c.send(b"STAT\r\n")
    last = c.line().split()[1]  # the big message was delivered last
    t0 = time.perf_counter()
    c.send(b"RETR " + last + b"\r\n")
    n = c.until(b"\r\n.\r\n")
    dt = time.perf_counter() - t0
    c.close()
    return n / dt / MiB


def smtp_send(side, email, body):
    c = side.smtp(email)
    c.send(b"MAIL FROM:<" + email.encode() + b">\r\nRCPT TO:<sink@example.org>\r\nDATA\r\n")
    c.line(), c.line(), c.line()
    t0 = time.perf_counter()
    c.send(body + b".\r\n")
    ln = c.line()
    dt = time.perf_counter() - t0
    if not ln.startswith(b"250"):
        raise RuntimeError(ln)
    c.send(b"QUIT\r\n")
    c.close()
    return len(body) / dt / MiB


def noop_pairs(sides, email, n):
    """The round trip of one NOOP on a direct and a proxied session open side by side,
    alternating command by command (and which goes first), so that whatever else the
    machine does falls on both alike. Returns ({side: median ms}, median of the
    per-pair differences in ms)."""
    conns = {s.name: s.imap(email) for s in sides}
    times = {name: [] for name in conns}
    order = list(conns)
    for i in range(n):
        for name in (order if i % 2 == 0 else order[::-1]):
            c = conns[name]
            t0 = time.perf_counter()
            c.send(b"n NOOP\r\n")
            while not c.line().startswith(b"n "):
                pass
            times[name].append((time.perf_counter() - t0) * 1000)
    for c in conns.values():
        c.close()
    diffs = [p - d for d, p in zip(times["direct"], times["proxy"])]
    return {k: statistics.median(v) for k, v in times.items()}, statistics.median(diffs)


def fetch_one_by_one(sides, email, n):
    """FETCH of one message at a time (what a mail program does when it opens a message),
    for each size in SEQ_SIZES, on a direct and a proxied session open side by side,
    alternating fetch by fetch. Returns {size: {side: median ms}}."""
    conns = {}
    for s in sides:
        c = s.imap(email)
        c.send(b"s SELECT INBOX\r\n")
        while not (ln := c.line()).startswith(b"s "):
            if ln.endswith(b" EXISTS\r"):
                exists = int(ln.split()[1])
        conns[s.name] = c
    first = exists - len(SEQ_SIZES) + 1  # the sized messages were delivered last
    out = {}
    for k, size in enumerate(SEQ_SIZES):
        times = {name: [] for name in conns}
        for i in range(n):
            for name in (list(conns) if i % 2 == 0 else list(conns)[::-1]):
                c = conns[name]
                t0 = time.perf_counter()
                c.send(b"f FETCH %d BODY.PEEK[]\r\n" % (first + k))
                got = c.until(b"\r\nf OK")
                times[name].append((time.perf_counter() - t0) * 1000)
                if got < size:
                    raise RuntimeError("FETCH of %d bytes returned %d" % (size, got))
        out[size] = {k2: statistics.median(v) for k2, v in times.items()}
    for c in conns.values():
        c.close()
    return out


def login_times(side, email, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        c = side.imap(email)
        out.append((time.perf_counter() - t0) * 1000)
        c.send(b"z LOGOUT\r\n")
        c.close()
    return out


def burst(side, email, n):
    ok = []
    barrier = threading.Barrier(n)

    def one():
        try:
            barrier.wait(30)
            c = side.imap(email)
            select(c)
            c.send(b"f FETCH 1 BODY.PEEK[]\r\n")
            c.until(b"\r\nf OK")
            c.send(b"z LOGOUT\r\n")
            c.close()
            ok.append(True)
        except Exception:  # noqa: BLE001 - counted
            pass

    threads = [threading.Thread(target=one) for _ in range(n)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return len(ok), time.perf_counter() - t0


def held_sessions(side, email, n, pid, results):
    # Start from an idle proxy (past its trim, 2 s after the last session): what the
    # groups before left in its heap would otherwise serve the first sessions.
    time.sleep(3)
    conns = []
    base = 0
    for i in range(n):
        c = side.imap(email)
        select(c)
        conns.append(c)
        if i == 0:
            # What one session costs is counted from here: an idle companion has given
            # its library pages back (xb_plat_mem_trim) and the first session maps them.
            time.sleep(0.2)
            base = proc_kib(pid, "VmRSS")
    time.sleep(0.5)
    results["held_sessions"] = n
    results["held_rss_kib"] = proc_kib(pid, "VmRSS")
    results["peak_rss_kib"] = proc_kib(pid, "VmHWM")
    for c in conns:
        c.close()
    print("%-34s %d sessions: RSS %.1f MB (peak %.1f MB, %.1f KB a session)"
          % ("held sessions", n, results["held_rss_kib"] / 1024, results["peak_rss_kib"] / 1024,
             (results["held_rss_kib"] - base) / max(n - 1, 1)), flush=True)


def proc_kib(pid, field, source="status"):
    for line in open(f"/proc/{pid}/{source}"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def med(xs):
    return statistics.median(xs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", default=str(HERE.parent.parent / "build/linux/service/xoauthbridge"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--only", help="comma-separated groups: " + ",".join(GROUPS))
    a = ap.parse_args()
    only = set(a.only.split(",")) if a.only else set(GROUPS)
    if not only <= set(GROUPS):
        ap.error("--only: unknown group(s) %s" % ",".join(sorted(only - set(GROUPS))))

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    big = (8 if a.quick else 64) * MiB
    nsmall = 100 if a.quick else 1000
    held = 100 if a.quick else 1000
    bursts = (20, 50) if a.quick else (100, 500)

    tmp = Path(tempfile.mkdtemp(prefix="xb-bench-"))
    rigdir = Path(tempfile.mkdtemp(prefix="xb-bench-rig-"))  # entered by Dovecot's user
    results = {}
    try:
        with Rig(rigdir, users=("user@example.com", BIG, SMALL, SEQ)) as rig:
            rig.add_message(BIG, message_of_size(big, to=BIG))
            for i in range(nsmall):
                rig.add_message(SMALL, message_of_size(2000 + (i * 37) % 3000, to=SMALL))
            for size in SEQ_SIZES:
                rig.add_message(SEQ, message_of_size(size, to=SEQ))
            with Bridge(a.exe, rig, tmp / "xb", log_level="info") as xb:
                secrets = {xb.email: xb.secret}
                for email in (BIG, SMALL, SEQ):
                    secrets[email] = xb.add_account(email)
                tokens = {e: rig.mint_token(e)["access_token"] for e in secrets}
                sides = [Side("direct", rig, xb, secrets, tokens), Side("proxy", rig, xb, secrets, tokens)]
                pid = xb.proc.pid
                results["idle_rss_kib"] = proc_kib(pid, "VmRSS")
                if "held" in only:
                    # The figure that counts: idle after the first login, which here also
                    # refreshes the access token through libcurl (the token set expires
                    # at once), so TLS upstream, the token endpoint and the relay have
                    # all run once.
                    xb.set_token(rig.mint_token(xb.email), expires_in=1)
                    time.sleep(1.5)
                    c = sides[1].imap(xb.email)
                    select(c)
                    c.send(b"z LOGOUT\r\n")
                    c.until(b"z OK")
                    c.close()
                    # Idle: past the proxy's trim, 2 s after the last session closed.
                    time.sleep(3)
                    results["idle_login_rss_kib"] = proc_kib(pid, "VmRSS")
                    results["idle_login_pss_kib"] = proc_kib(pid, "Pss", "smaps_rollup")

                def both(label, fn, unit):
                    if label.split()[0] not in only:
                        return
                    vals = {"direct": [], "proxy": []}
                    for r in range(a.rounds):
                        for s in (sides if r % 2 == 0 else sides[::-1]):
                            try:
                                vals[s.name].append(fn(s))
                            except Exception as e:
                                raise RuntimeError("%s, %s side: %r" % (label, s.name, e)) from e
                    d, p = med(vals["direct"]), med(vals["proxy"])
                    # Each round's two runs are back to back: the median of the per-round
                    # ratios cancels what drifts slowly on a shared machine.
                    paired = med([y / x for x, y in zip(vals["direct"], vals["proxy"])])
                    results[label] = {"direct": d, "proxy": p, "unit": unit, "paired_ratio": paired,
                                      "rounds": vals}
                    print("%-34s direct %10.3f  proxy %10.3f %-6s  %.3fx (paired: %.3fx)"
                          % (label, d, p, unit, p / d, paired), flush=True)

                msg10 = message_of_size((2 if a.quick else 10) * MiB, to="sink@example.org")
                both("imap fetch %d MiB" % (big // MiB), lambda s: imap_fetch(s, BIG, b"*"), "MiB/s")
                both("imap fetch %d small" % nsmall,
                     lambda s: imap_fetch(s, SMALL, b"1:*"), "MiB/s")
                both("pop3 retr %d MiB" % (big // MiB), lambda s: pop3_retr(s, BIG), "MiB/s")
                both("smtp send %d MiB" % (len(msg10) // MiB),
                     lambda s: smtp_send(s, xb.email, msg10), "MiB/s")
                if "noop" in only:
                    m, diff = noop_pairs(sides, xb.email, 300 * a.rounds)
                    results["noop round trip (median)"] = {"direct": m["direct"], "proxy": m["proxy"],
                                                           "paired_diff": diff, "unit": "ms"}
                    print("%-34s direct %10.3f  proxy %10.3f ms      %+.3f ms (paired: %+.3f ms)"
                          % ("noop round trip (median)", m["direct"], m["proxy"],
                             m["proxy"] - m["direct"], diff), flush=True)

                if "seq" in only:
                    for size, m in fetch_one_by_one(sides, SEQ, 40 * a.rounds).items():
                        label = "fetch one %s message" % (
                            "%d KiB" % (size // 1024) if size < MiB else "%d MiB" % (size // MiB))
                        results[label] = {"direct": m["direct"], "proxy": m["proxy"], "unit": "ms"}
                        print("%-34s direct %10.3f  proxy %10.3f ms      %+.3f ms"
                              % (label, m["direct"], m["proxy"], m["proxy"] - m["direct"]), flush=True)

                logins = {s.name: [] for s in sides}
                for _ in range(a.rounds if "login" in only else 0):
                    for s in sides:
                        logins[s.name] += login_times(s, xb.email, 40)
                for s in sides if "login" in only else ():
                    xs = sorted(logins[s.name])
                    results["login_" + s.name] = {"median_ms": med(xs),
                                                  "p99_ms": xs[int(len(xs) * 0.99) - 1]}
                if "login" in only:
                    d, p = results["login_direct"], results["login_proxy"]
                    print("%-34s direct %10.3f  proxy %10.3f ms      added %+.3f ms (p99 %.3f vs %.3f)"
                          % ("login latency (median)", d["median_ms"], p["median_ms"],
                             p["median_ms"] - d["median_ms"], d["p99_ms"], p["p99_ms"]), flush=True)

                for n in bursts if "burst" in only else ():
                    row = {}
                    for s in sides:
                        row[s.name] = burst(s, SMALL, n)
                    results["burst_%d" % n] = {k: {"ok": v[0], "seconds": v[1]} for k, v in row.items()}
                    print("%-34s direct %4d ok %6.2f s  proxy %4d ok %6.2f s  (%.2fx time)"
                          % ("burst of %d sessions" % n, row["direct"][0], row["direct"][1],
                             row["proxy"][0], row["proxy"][1], row["proxy"][1] / row["direct"][1]),
                          flush=True)

                if "held" in only:
                    held_sessions(sides[1], xb.email, held, pid, results)
                print("%-34s %.1f MB" % ("idle RSS (at start)", results["idle_rss_kib"] / 1024))
                if "idle_login_rss_kib" in results:
                    print("%-34s %.1f MB (PSS %.1f MB)" % ("idle RSS (after the first login)",
                                             results["idle_login_rss_kib"] / 1024,
                                             results["idle_login_pss_kib"] / 1024))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(rigdir, ignore_errors=True)
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
