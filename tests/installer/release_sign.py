#!/usr/bin/python3
"""Signing with an organisation's certificate (scripts/sign.sh), on copies of what
dist/ holds: every PE and both MSIs signed with a throw-away self-signed code-signing
certificate verify with `osslsigncode verify`, Authenticode SHA-256; the password never
appears on a command line (a wrapper records every osslsigncode argument vector); a
wrong password fails loudly and changes nothing; without XB_SIGN_PFX nothing is signed.

  release_sign.py --source DIR --dist DIR
"""
import argparse
import hashlib
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)


def digest(p):
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--dist", required=True)
    a = ap.parse_args()
    sign = Path(a.source) / "scripts" / "sign.sh"
    dist = Path(a.dist)
    files = sorted([*dist.glob("win64/*.exe"), *dist.glob("win64/*.dll"), *dist.glob("win32/*.exe"),
                    *dist.glob("win32/*.dll"), *dist.glob("*.msi")])
    if len([f for f in files if f.suffix == ".msi"]) < 2 or len(files) < 6:
        print(f"FAIL: dist/ lacks the PEs or the MSIs ({[f.name for f in files]})")
        return 1
    failures = []
    tmp = Path(tempfile.mkdtemp(prefix="xb-sign-"))
    try:
        # The throw-away certificate an organisation's would stand in for.
        password = "pw-" + secrets.token_hex(12)
        r = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                 "-subj", "/O=XOAuth Bridge tests/CN=Test code signer",
                 "-addext", "extendedKeyUsage=codeSigning",
                 "-addext", "keyUsage=critical,digitalSignature",
                 "-keyout", tmp / "key.pem", "-out", tmp / "cert.pem"])
        assert r.returncode == 0, r.stderr
        (tmp / "pass.txt").write_text(password + "\n")
        r = run(["openssl", "pkcs12", "-export", "-inkey", tmp / "key.pem", "-in", tmp / "cert.pem",
                 "-out", tmp / "signer.pfx", "-passout", "file:" + str(tmp / "pass.txt")])
        assert r.returncode == 0, r.stderr

        # Every osslsigncode argument vector, recorded.
        wrap = tmp / "bin"
        wrap.mkdir()
        real = shutil.which("osslsigncode")
        if not real:
            print("FAIL: osslsigncode is not installed")
            return 1
        (wrap / "osslsigncode").write_text(
            f"#!/bin/sh\nprintf '%s\\n' \"$*\" >>{tmp / 'argv.log'}\nexec {real} \"$@\"\n")
        (wrap / "osslsigncode").chmod(stat.S_IRWXU)
        base_env = dict(os.environ, PATH=f"{wrap}:{os.environ['PATH']}")
        for k in list(base_env):
            if k.startswith("XB_SIGN_"):
                del base_env[k]

        def copies(name):
            d = tmp / name
            d.mkdir()
            out = []
            for f in files:
                c = d / f"{f.parent.name}-{f.name}"
                shutil.copy(f, c)
                out.append(c)
            return out

        # 1. No certificate: nothing happens.
        plain = copies("plain")
        before = [digest(f) for f in plain]
        r = run(["bash", sign, *plain], env=base_env)
        if r.returncode != 0 or [digest(f) for f in plain] != before:
            failures.append(f"without XB_SIGN_PFX sign.sh changed something: {r.stderr}")

        # 2. Password in the environment, then from a file (and signing again re-signs).
        signed = []
        for how in ("XB_SIGN_PASSWORD", "XB_SIGN_PASSWORD_FILE", "again"):
            signed = signed if how == "again" else copies(how)   # again: the signed ones
            env = dict(base_env, XB_SIGN_PFX=str(tmp / "signer.pfx"))
            if how == "XB_SIGN_PASSWORD":
                env["XB_SIGN_PASSWORD"] = password
            else:
                env["XB_SIGN_PASSWORD_FILE"] = str(tmp / "pass.txt")
            r = run(["bash", sign, *signed], env=env)
            if r.returncode != 0:
                failures.append(f"{how}: sign.sh failed: {r.stderr}")
                continue
            for f in signed:
                v = run(["osslsigncode", "verify", "-CAfile", tmp / "cert.pem", "-in", f])
                text = v.stdout + v.stderr
                if v.returncode != 0 or "Signature verification: ok" not in text:
                    failures.append(f"{how}: {f.name} does not verify:\n{text[-800:]}")
                elif "SHA256" not in text:
                    failures.append(f"{how}: {f.name} is not signed with SHA-256")
                elif how == "again" and text.count("Signer's certificate:") > 1:
                    failures.append(f"{how}: {f.name} carries two signatures")
                else:
                    print(f"ok: {how}: {f.name} signed and verified")

        # 3. A wrong password: a clear failure, the file untouched.
        victim = copies("wrong")[0]
        before = digest(victim)
        r = run(["bash", sign, victim], env=dict(base_env, XB_SIGN_PFX=str(tmp / "signer.pfx"),
                                                 XB_SIGN_PASSWORD="not-the-password"))
        if r.returncode == 0 or "signing" not in r.stderr or digest(victim) != before:
            failures.append(f"a wrong password did not fail cleanly: rc {r.returncode} {r.stderr}")
        else:
            print("ok: a wrong password fails and leaves the file as it was")

        # 4. The password never on a command line.
        argv = (tmp / "argv.log").read_text() if (tmp / "argv.log").exists() else ""
        if not argv:
            failures.append("osslsigncode was never run")
        if password in argv or "not-the-password" in argv:
            failures.append("the password appeared on osslsigncode's command line")
        else:
            print(f"ok: {argv.count(chr(10))} osslsigncode runs, no password among their arguments")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
