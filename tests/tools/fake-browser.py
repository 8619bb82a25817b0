#!/usr/bin/python3
"""A scripted "browser" for the sign-in's negative tests. It is given the authorization
URL like a real browser and misbehaves as XB_FAKE_BROWSER says:

  close          does nothing (the user closed the browser)
  wrong-state    calls the redirect listener with a state it never issued
  wrong-iss      completes consent, then changes the RFC 9207 iss parameter
  pkce-mismatch  delivers a code obtained by another authorization request (another
                 PKCE challenge) with the right state: the code exchange must fail
  inherited      writes what it inherited to $XB_BROWSER_DUMP as JSON (open descriptors
                 and what they are, whether XB_STORE_PASSPHRASE is set), then does nothing

What the listener answered goes to $XB_BROWSER_DUMP as "STATUS\\nBODY".
"""
import base64
import hashlib
import http.cookiejar
import json
import os
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request


class StopAtLoopback(urllib.request.HTTPRedirectHandler):
    """Follows redirects until one points at the client's loopback listener."""

    def __init__(self, redirect_uri):
        self.redirect_uri = redirect_uri
        self.final = None

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if newurl.startswith(self.redirect_uri):
            self.final = newurl
            return None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def consent(auth_url, redirect_uri):
    """Runs the provider's (auto-approving) consent flow; returns the redirect URL."""
    handler = StopAtLoopback(redirect_uri)
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), handler)
    try:
        opener.open(auth_url, timeout=20)
    except urllib.error.HTTPError as e:
        if handler.final is None:
            raise RuntimeError("consent flow failed: %s" % e)
    if handler.final is None:
        raise RuntimeError("the consent flow never came back to the client")
    return handler.final


def replace_query(url, **changes):
    parts = urllib.parse.urlsplit(url)
    q = dict(urllib.parse.parse_qsl(parts.query))
    q.update(changes)
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(q)))


def inherited(dump):
    """The descriptors this process got from its parent (not the one listing them)."""
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            fds[int(name)] = os.readlink("/proc/self/fd/" + name)
        except OSError:
            pass  # the listing's own descriptor, closed by now
    fds = {fd: what for fd, what in fds.items() if not what.startswith("/proc/")}
    with open(dump + ".tmp", "w") as f:
        json.dump({"fds": fds, "passphrase": "XB_STORE_PASSPHRASE" in os.environ}, f)
    os.replace(dump + ".tmp", dump)


def main():
    url = sys.argv[1]
    mode = os.environ.get("XB_FAKE_BROWSER", "close")
    if mode == "inherited":
        inherited(os.environ["XB_BROWSER_DUMP"])
        return
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    redirect_uri, state = q["redirect_uri"], q["state"]

    if mode == "close":
        return
    if mode == "wrong-state":
        target = redirect_uri + "?" + urllib.parse.urlencode({"state": "not-" + state, "code": "x"})
    elif mode == "wrong-iss":
        target = replace_query(consent(url, redirect_uri), iss="http://evil.example")
    elif mode == "pkce-mismatch":
        verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        other = replace_query(url, state="other-" + state, code_challenge=challenge)
        code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(
            consent(other, redirect_uri)).query))["code"]
        target = replace_query(consent(url, redirect_uri), code=code)
    else:
        raise SystemExit("unknown XB_FAKE_BROWSER mode " + mode)

    try:
        with urllib.request.urlopen(target, timeout=30) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    dump = os.environ.get("XB_BROWSER_DUMP")
    if dump:
        with open(dump + ".tmp", "wb") as f:
            f.write(b"%d\n" % status + body)
        os.replace(dump + ".tmp", dump)


if __name__ == "__main__":
    main()
