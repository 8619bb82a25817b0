"""Synthetic Outlook mail profiles in a Wine prefix's HKCU, through olprof.exe.

olprof.exe (tests/windows/olprof.c) writes and reads the documented registry formats;
this runs it under Wine. Layouts are "2016", "2013" and "2010".

    prof = OlProf("build/win64/tests/windows/olprof.exe", "/tmp/prefix")
    prof.make("2016", "Outlook", [
        ("00000002", [("sz", "clsid", "{ED475412-B0D6-11D2-8C3B-00104B2A6676}"),
                      ("str", "IMAP Server", "imap.example.com"),
                      ("dword", "IMAP Port", 993),
                      ("password", "IMAP Password", "secret"),
                      ("hex", "IMAP Use SSL", (3, b"\\x01"))]),  # or "3:01"
    ])
    prof.dump("2016", "Outlook")[("00000002", "IMAP Port")]   # -> (4, b"\\xe1\\x03\\0\\0")
    prof.password("2016", "Outlook", "00000002", "IMAP Password")   # -> "secret"

Absent things give None (dump, dumpkey, get, password, default) or False (delete);
a value not in the expected format, or any other failure, raises OlProfError.
"""

import os
import subprocess
import tempfile

KINDS = ("str", "sz", "dword", "password", "hex")
ABSENT = 2
TIMEOUT = 120


class OlProfError(Exception):
    def __init__(self, args, code, stderr):
        super().__init__("olprof %s: exit %d: %s" % (" ".join(args), code, stderr.strip()))
        self.code = code
        self.stderr = stderr


class OlProf:
    def __init__(self, exe_path, wineprefix, env=None):
        self.exe = os.path.abspath(exe_path)
        self.env = dict(os.environ if env is None else env)
        self.env["WINEPREFIX"] = os.path.abspath(wineprefix)
        self.env["WINEDEBUG"] = "-all"
        # As tests/tools/wine-run.sh: no Mono or Gecko prompts if the prefix is new.
        self.env.setdefault("WINEDLLOVERRIDES", "mscoree,mshtml=")

    # --- running -----------------------------------------------------------------

    def _run(self, *args, absent_ok=False):
        """(exit code, stdout) of olprof ARGS; None for exit 2 when absent_ok."""
        args = [str(a) for a in args]
        code, out, err = self._wine(["wine", self.exe] + args)
        if code == ABSENT and absent_ok:
            return None
        if code != 0:
            raise OlProfError(args, code, err)
        return out

    def _wine(self, argv):
        """(exit code, stdout, stderr) with CRs stripped.

        Output goes to files, not pipes: a wineserver started by this call inherits
        them and stays a few seconds after the program ends; with pipes, each call
        would wait for it.
        """
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            p = subprocess.run(argv, env=self.env, stdin=subprocess.DEVNULL, stdout=out,
                               stderr=err, timeout=TIMEOUT)
            out.seek(0)
            err.seek(0)
            return (p.returncode,
                    out.read().replace(b"\r\n", b"\n").decode("utf-8"),
                    err.read().replace(b"\r\n", b"\n").decode("utf-8", "replace"))

    def winepath(self, path):
        """The Windows form of a Unix path, as this prefix sees it."""
        code, out, err = self._wine(["winepath", "-w", os.path.abspath(path)])
        if code != 0 or not out.strip():
            raise OlProfError(["winepath", path], code, err)
        return out.strip()

    # --- commands ----------------------------------------------------------------

    def make(self, layout, profile, accounts):
        """Creates (or adds to) a profile: accounts is [(id, [(kind, name, value), ...])].

        kind: str, sz, password (value a str), dword (int or str), hex ((type, bytes)
        or "TYPE:HEX"). An account that exists is replaced as a whole. DefaultProfile
        is set to this profile when it is not set yet.
        """
        fd, path = tempfile.mkstemp(prefix="olprof-", suffix=".txt")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(spec_text(accounts).encode("utf-8"))
            self._run("make", layout, profile, self.winepath(path))
        finally:
            os.unlink(path)

    def dump(self, layout, profile):
        """{(id, name): (type, bytes)} of every account value; None if no profile."""
        out = self._run("dump", layout, profile, absent_ok=True)
        return None if out is None else parse_dump(out)

    def dumpkey(self, path):
        """{(subkey path or ".", name): (type, bytes)} under an HKCU key; None if absent."""
        out = self._run("dumpkey", path, absent_ok=True)
        return None if out is None else parse_dump(out)

    def password(self, layout, profile, account_id, name):
        """A password value, decrypted; None if absent, OlProfError if malformed."""
        out = self._run("password", layout, profile, account_id, name, absent_ok=True)
        return None if out is None else _one_line(out)

    def get(self, layout, profile, account_id, name):
        """A string value decoded, or a DWORD as decimal text; None if absent."""
        out = self._run("get", layout, profile, account_id, name, absent_ok=True)
        return None if out is None else _one_line(out)

    def delete(self, layout, profile, account_id=None):
        """Deletes a profile or one account key; False if it was not there."""
        args = ["delete", layout, profile] + ([account_id] if account_id is not None else [])
        return self._run(*args, absent_ok=True) is not None

    def default(self, layout):
        """DefaultProfile of the layout, or None."""
        out = self._run("default", layout, absent_ok=True)
        return None if out is None else _one_line(out)

    def set_default(self, layout, profile):
        """Sets DefaultProfile; None removes it (False if it was not there)."""
        return self._run("default", layout, "--clear" if profile is None else profile,
                         absent_ok=True) is not None


# --- spec and dump formats ---------------------------------------------------------

def spec_text(accounts):
    lines = []
    for account_id, values in accounts:
        _check_text(account_id, "account id")
        lines.append("account %s" % account_id)
        for kind, name, value in values:
            if kind not in KINDS:
                raise ValueError("unknown kind %r (one of %s)" % (kind, ", ".join(KINDS)))
            _check_text(name, "value name")
            if "=" in name or name != name.strip():
                raise ValueError("value name %r: no '=' and no spaces at its ends" % name)
            if kind == "hex" and not isinstance(value, str):
                value = "%d:%s" % (value[0], bytes(value[1]).hex())
            value = str(value)
            _check_text(value, "value", empty_ok=True)
            lines.append("%s %s=%s" % (kind, name, value))
    return "\n".join(lines) + "\n"


def parse_dump(out):
    result = {}
    for line in out.split("\n"):
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) < 4:
            raise ValueError("not a dump line: %r" % line)
        key = (parts[0], "\t".join(parts[1:-2]))
        result[key] = (int(parts[-2]), bytes.fromhex(parts[-1]))
    return result


def _one_line(out):
    return out[:-1] if out.endswith("\n") else out


def _check_text(text, what, empty_ok=False):
    if not isinstance(text, str) or (not text and not empty_ok):
        raise ValueError("%s must be a non-empty string: %r" % (what, text))
    if "\n" in text or "\r" in text:
        raise ValueError("%s %r: no line breaks in a spec file" % (what, text))
