"""The loopback Gmail stand-in (tests/rig) behaves like Gmail where our proxy cares.

Run: /usr/bin/python3 -m pytest -q tests/integration/test_rig.py  (CTest: integration.rig)
Each check works with the standard library's own clients (imaplib, poplib, smtplib,
urllib) or raw sockets, so a pass says something about the rig, not about our code.
"""

import base64
import email
import email.policy
import hashlib
import http.cookiejar
import imaplib
import json
import poplib
import secrets
import shutil
import smtplib
import socket
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rig"))
from rig import Rig, SEED_MESSAGES, xoauth2  # noqa: E402

IMAP_TIMEOUT = 10


@pytest.fixture(scope="module")
def rig():
    # Under the system temp dir: Dovecot runs as nobody and must reach the rig dir.
    directory = tempfile.mkdtemp(prefix="xb-rig-")
    with Rig(directory) as started:
        yield started
    shutil.rmtree(directory)


@pytest.fixture
def user(rig, request):
    """A fresh account with the seeded INBOX (every address is a valid user)."""
    address = f"{request.node.originalname.replace('_', '-')}-{secrets.token_hex(3)}@example.com"
    rig.add_user(address)
    return address


def seeded_files(rig, address):
    """{seed name: Maildir file bytes} of a user made by add_user."""
    files = {}
    for path in (rig.maildir(address) / "new").iterdir():
        name = path.name.split(".")[1]
        files[name] = path.read_bytes()
    assert set(files) == set(SEED_MESSAGES)
    return files


def as_crlf(data):
    """What IMAP and POP3 send for a Maildir file: every line ending becomes CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def imap_login(rig, address, token):
    imap = imaplib.IMAP4_SSL(rig.host, rig.ports["imaps"], ssl_context=rig.ssl_context(),
                             timeout=IMAP_TIMEOUT)
    initial = f"user={address}\x01auth=Bearer {token}\x01\x01"
    # imaplib sends no SASL-IR: the first challenge is empty and gets the initial
    # response; an error challenge (JSON) is answered with an empty line, as Gmail wants.
    imap.authenticate("XOAUTH2", lambda challenge: "" if challenge else initial)
    return imap


def post_form(url, fields, timeout=10):
    """POST an urlencoded form; returns (status, body bytes) also for HTTP errors."""
    data = urllib.parse.urlencode(fields).encode()
    try:
        with urllib.request.urlopen(url, data=data, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def refresh_fields(rig, refresh_token):
    """A refresh request as our client sends it: client credentials in the POST body."""
    return {"grant_type": "refresh_token", "refresh_token": refresh_token,
            "client_id": rig.oauth["client_id"], "client_secret": rig.oauth["client_secret"]}


# --- OAuth server ------------------------------------------------------------------

def test_minted_token_introspects_for_dovecot_only(rig, user):
    tokens = rig.mint_token(user)
    assert tokens["expires_in"] == 3600
    introspect = urllib.request.Request(rig.oauth["introspection_endpoint"])
    introspect.add_header("Authorization", "Basic " + base64.b64encode(
        f"{rig.oauth['introspection_client_id']}:{rig.oauth['introspection_client_secret']}"
        .encode()).decode())

    def active(token):
        data = urllib.parse.urlencode({"token": token}).encode()
        with urllib.request.urlopen(introspect, data=data, timeout=10) as response:
            return json.load(response)

    answer = active(tokens["access_token"])
    assert answer["active"] is True
    assert answer["email"] == user
    assert answer["scope"] == "https://mail.google.com/"
    # Refresh tokens are not access tokens: the mail server must not accept them.
    assert active(tokens["refresh_token"]) == {"active": False}
    assert active("not-a-token") == {"active": False}


def test_authorization_code_flow_with_pkce(rig):
    """A browser that follows redirects ends at our loopback redirect URI with a code."""
    address = f"browser-{secrets.token_hex(3)}@example.com"
    redirect_uri = "http://127.0.0.1:49152/"  # any port: the client is a native app
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "client_id": rig.oauth["client_id"], "response_type": "code",
        "redirect_uri": redirect_uri, "scope": "openid email https://mail.google.com/",
        "code_challenge": challenge, "code_challenge_method": "S256",
        "login_hint": address, "state": "st4te", "access_type": "offline",
        "prompt": "consent",
    }

    def exchange(code_verifier):
        params = parse_redirect(follow_to(rig, query, redirect_uri))
        assert params["state"] == "st4te"
        assert params["iss"] == rig.oauth["issuer"]  # RFC 9207
        return post_form(rig.oauth["token_endpoint"], {
            "grant_type": "authorization_code", "code": params["code"],
            "redirect_uri": redirect_uri, "code_verifier": code_verifier,
            "client_id": rig.oauth["client_id"], "client_secret": rig.oauth["client_secret"]})

    status, body = exchange("x" * 43)
    assert (status, json.loads(body)["error"]) == (400, "invalid_grant")  # wrong verifier
    status, body = exchange(verifier)
    assert status == 200, body
    tokens = json.loads(body)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert "refresh_token" in tokens  # without offline_access, as Google does
    id_claims = json.loads(base64.urlsafe_b64decode(tokens["id_token"].split(".")[1] + "=="))
    assert id_claims["email"] == address

    imap_login(rig, address, tokens["access_token"]).logout()
    status, body = post_form(rig.oauth["token_endpoint"],
                             refresh_fields(rig, tokens["refresh_token"]))
    assert status == 200 and json.loads(body)["access_token"] != tokens["access_token"]


def test_authorization_requires_pkce(rig):
    query = {"client_id": rig.oauth["client_id"], "response_type": "code",
             "redirect_uri": "http://127.0.0.1:49152/", "scope": "https://mail.google.com/",
             "login_hint": "nopkce@example.com"}
    params = parse_redirect(follow_to(rig, query, "http://127.0.0.1:49152/"))
    assert params["error"] == "invalid_request"
    assert "PKCE" in params["error_description"]


def test_interaction_deny_mode(rig):
    """In "deny" mode the user refuses consent: error=access_denied, as at Google."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {"client_id": rig.oauth["client_id"], "response_type": "code",
             "redirect_uri": "http://127.0.0.1:49152/", "scope": "https://mail.google.com/",
             "code_challenge": challenge, "code_challenge_method": "S256",
             "login_hint": "deny@example.com"}
    rig.set_mode(interaction="deny")
    try:
        params = parse_redirect(follow_to(rig, query, "http://127.0.0.1:49152/"))
    finally:
        rig.set_mode(interaction="auto")
    assert params["error"] == "access_denied"
    assert "code" not in params


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # let the 3xx surface as HTTPError, so each hop is seen


def follow_to(rig, query, redirect_uri, max_hops=10):
    """Act as a browser with its own cookies: start at the authorization endpoint
    and follow redirects until one leads to `redirect_uri`; return that URL."""
    opener = urllib.request.build_opener(
        _NoRedirects, urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    url = rig.oauth["authorization_endpoint"] + "?" + urllib.parse.urlencode(query)
    for _ in range(max_hops):
        try:
            with opener.open(url, timeout=10) as response:
                raise AssertionError(f"{url} answered {response.status} instead of redirecting")
        except urllib.error.HTTPError as err:
            assert err.code in (302, 303), f"{url} answered {err.code}: {err.read()!r}"
            url = urllib.parse.urljoin(url, err.headers["Location"])
        if url.startswith(redirect_uri):
            return url
    raise AssertionError(f"no redirect to {redirect_uri} within {max_hops} hops")


def parse_redirect(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


@pytest.mark.parametrize("mode", ["error500", "badjson", "hang"])
def test_token_endpoint_faults(rig, user, mode):
    refresh = refresh_fields(rig, rig.mint_token(user)["refresh_token"])
    rig.set_mode(token_endpoint=mode)
    try:
        if mode == "hang":
            with pytest.raises(TimeoutError):
                post_form(rig.oauth["token_endpoint"], refresh, timeout=0.5)
        else:
            status, body = post_form(rig.oauth["token_endpoint"], refresh)
            if mode == "error500":
                assert status == 500
            else:
                assert status == 200
                with pytest.raises(json.JSONDecodeError):
                    json.loads(body)
    finally:
        rig.set_mode(token_endpoint="normal")
    status, body = post_form(rig.oauth["token_endpoint"], refresh)
    assert status == 200 and "access_token" in json.loads(body)


# --- IMAP, POP3, SMTP with XOAUTH2 ---------------------------------------------------

def test_imap_xoauth2_fetch_is_byte_identical(rig, user):
    files = seeded_files(rig, user)
    imap = imap_login(rig, user, rig.mint_token(user)["access_token"])
    try:
        assert imap.select("INBOX") == ("OK", [str(len(files)).encode()])
        typ, data = imap.fetch("1:*", "(BODY.PEEK[])")
        assert typ == "OK"
        fetched = {part[1] for part in data if isinstance(part, tuple)}
    finally:
        imap.logout()
    assert fetched == {as_crlf(data) for data in files.values()}
    # Files already stored with CRLF come back exactly as they are on disk.
    assert files["02-crlf"] in fetched and files["03-japanese-utf8"] in fetched


def test_message_of_size(rig, user):
    stored = rig.add_message_of_size(user, 123_457).read_bytes()
    assert len(stored) == 123_457
    imap = imap_login(rig, user, rig.mint_token(user)["access_token"])
    try:
        imap.select("INBOX")
        typ, (found,) = imap.search(None, "LARGER", "100000")
        assert typ == "OK" and len(found.split()) == 1
        typ, data = imap.fetch(found, "(RFC822.SIZE BODY.PEEK[])")
    finally:
        imap.logout()
    assert typ == "OK" and b"RFC822.SIZE 123457" in data[0][0]
    assert data[0][1] == stored


def test_pop3_xoauth2_retr_is_byte_identical(rig, user):
    files = seeded_files(rig, user)
    pop = poplib.POP3_SSL(rig.host, rig.ports["pop3s"], context=rig.ssl_context(), timeout=10)
    try:
        # poplib has no AUTH command of its own.
        reply = pop._shortcmd("AUTH XOAUTH2 " + xoauth2(user, rig.mint_token(user)["access_token"]))
        assert reply.startswith(b"+OK")
        count, _size = pop.stat()
        retrieved = set()
        for number in range(1, count + 1):
            _resp, lines, _octets = pop.retr(number)  # poplib undoes the dot-stuffing
            retrieved.add(b"\r\n".join(lines) + b"\r\n")
    finally:
        pop.quit()
    assert retrieved == {as_crlf(data) for data in files.values()}
    assert files["02-crlf"] in retrieved  # has dot-stuffed lines on the wire


@pytest.mark.parametrize("port", ["submissions", "submission"])
def test_smtp_xoauth2_submission_reaches_sink(rig, user, port):
    tag = secrets.token_hex(4)
    message = (
        f"From: {user}\r\nTo: friend@example.org\r\nSubject: Submission test {tag}\r\n"
        f"Message-ID: <{tag}@xbrig.test>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "日本語の本文です。\r\n.A line with a leading dot.\r\nEnd.\r\n").encode()
    if port == "submissions":
        smtp = smtplib.SMTP_SSL(rig.host, rig.ports[port], context=rig.ssl_context(), timeout=10)
    else:
        smtp = smtplib.SMTP(rig.host, rig.ports[port], timeout=10)
        smtp.starttls(context=rig.ssl_context())
    token = rig.mint_token(user)["access_token"]
    try:
        smtp.ehlo()
        code, _ = smtp.auth(
            "XOAUTH2", lambda challenge=None: f"user={user}\x01auth=Bearer {token}\x01\x01")
        assert code == 235
        smtp.sendmail(user, ["friend@example.org"], message, mail_options=["BODY=8BITMIME"])
    finally:
        smtp.quit()

    received = [(env, data) for env, data in rig.sink_messages() if tag.encode() in data]
    assert len(received) == 1
    envelope, data = received[0]
    assert envelope["mail_from"] == user and envelope["rcpt_tos"] == ["friend@example.org"]
    # The relay only prepends its Received: header; the rest arrives byte for byte.
    assert data.endswith(message)
    assert data[:-len(message)].startswith(b"Received: ")
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert parsed["Subject"] == f"Submission test {tag}"
    assert parsed.get_content() == (
        "日本語の本文です。\r\n.A line with a leading dot.\r\nEnd.\r\n")


# --- failures as Gmail shows them ------------------------------------------------------

class RawTLS:
    """A line-based TLS conversation, to see the SASL exchange exactly."""

    def __init__(self, rig, port):
        raw = socket.create_connection((rig.host, rig.ports[port]), timeout=10)
        self.sock = rig.ssl_context().wrap_socket(raw, server_hostname=rig.host)
        self.file = self.sock.makefile("rb")

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def reply(self):
        """One reply line; for SMTP the last line of a multi-line reply."""
        while True:
            line = self.file.readline()
            assert line, "connection closed"
            if line[3:4] != b"-":
                return line.decode().rstrip("\r\n")

    def close(self):
        self.file.close()
        self.sock.close()


# Per protocol: commands before AUTH, the AUTH command, the final failure reply.
SASL_DIALOGUES = {
    "imaps": ([], "a1 AUTHENTICATE XOAUTH2 {ir}", "+ ", "a1 NO "),
    "pop3s": ([], "AUTH XOAUTH2 {ir}", "+ ", "-ERR "),
    "submissions": (["EHLO client.example"], "AUTH XOAUTH2 {ir}", "334 ", "535 "),
}


@pytest.mark.parametrize("port", SASL_DIALOGUES)
def test_bad_token_gets_error_challenge_then_failure(rig, user, port):
    before, auth, challenge_prefix, failure_prefix = SASL_DIALOGUES[port]
    conn = RawTLS(rig, port)
    try:
        conn.reply()  # greeting
        for command in before:
            conn.send(command)
            conn.reply()
        conn.send(auth.format(ir=xoauth2(user, "ya29.not-a-valid-token")))
        challenge = conn.reply()
        assert challenge.startswith(challenge_prefix), challenge
        details = json.loads(base64.b64decode(challenge[len(challenge_prefix):]))
        assert details["status"] == "401"
        assert "bearer" in details["schemes"]
        conn.send("")  # the client acknowledges the challenge with an empty response
        final = conn.reply()
        assert final.startswith(failure_prefix), final
    finally:
        conn.close()


def test_revoked_token_is_rejected(rig, user):
    tokens = rig.mint_token(user)
    imap_login(rig, user, tokens["access_token"]).logout()  # works before revocation
    assert rig.revoke(user)["revoked_grants"] >= 1
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        imap_login(rig, user, tokens["access_token"])
    status, body = post_form(rig.oauth["token_endpoint"],
                             refresh_fields(rig, tokens["refresh_token"]))
    assert (status, json.loads(body)["error"]) == (400, "invalid_grant")
