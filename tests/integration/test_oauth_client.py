"""The companion's OAuth client (service/core/oauth.c over http.c) against the rig's real
OAuth server (npm oidc-provider), through tests/tools/xb_oauth_probe.

Run: CTest integration.oauth_client (sets XB_OAUTH_PROBE to the built probe).
A refreshed access token is proven good by an XOAUTH2 login at the rig's Dovecot with
Python's imaplib over verified TLS; revocation, server errors, a hanging endpoint and
an unreachable port give the answers the token upkeep relies on (AUTH versus TEMP).
"""

import imaplib
import json
import os
import secrets
import socket
import subprocess
import time
from pathlib import Path

import pytest

IMAP_TIMEOUT = 10


def probe_exe():
    exe = os.environ.get("XB_OAUTH_PROBE")
    if not exe or not Path(exe).exists():
        pytest.fail("XB_OAUTH_PROBE must name the built xb_oauth_probe (CTest sets it)")
    return exe


def probe(op, url, token, client_id, client_secret, timeout=5, token_file=None,
          never_printed=()):
    """Runs the probe; returns (result dict, wall seconds). Whatever it prints or logs
    must hold none of the tokens in never_printed (nor the one it sent)."""
    env = dict(os.environ)
    env.pop("XB_OAUTH_PROBE_TOKEN_FILE", None)
    if token_file:
        env["XB_OAUTH_PROBE_TOKEN_FILE"] = str(token_file)
    argv = [probe_exe(), op, url, client_id, client_secret, token, str(timeout)]
    started = time.monotonic()
    run = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout + 15)
    wall = time.monotonic() - started
    assert run.returncode == 0, f"probe failed ({run.returncode}):\n{run.stderr}"
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 1, run.stdout
    result = json.loads(lines[0])
    for secret in (token, *never_printed):
        assert secret not in run.stdout, "a token in the probe's output"
        assert secret not in run.stderr, "a token in the client's log"
    return result, wall


@pytest.fixture
def oauth(rig):
    """The rig's OAuth facts; the token endpoint back to normal after every test."""
    yield rig.oauth
    rig.set_mode(token_endpoint="normal")


@pytest.fixture
def user(rig, request):
    address = f"{request.node.originalname.replace('_', '-')}-{secrets.token_hex(3)}@example.com"
    rig.add_user(address)
    return address


def refresh(oauth, token, **kw):
    return probe("refresh", oauth["token_endpoint"], token, oauth["client_id"],
                 oauth["client_secret"], **kw)


def revoke(oauth, token, **kw):
    return probe("revoke", oauth["revocation_endpoint"], token, oauth["client_id"],
                 oauth["client_secret"], **kw)


def imap_login(rig, address, token):
    """XOAUTH2 login at Dovecot over TLS (rig CA only); returns the tagged status."""
    imap = imaplib.IMAP4_SSL(rig.host, rig.ports["imaps"], ssl_context=rig.ssl_context(),
                             timeout=IMAP_TIMEOUT)
    try:
        initial = f"user={address}\x01auth=Bearer {token}\x01\x01"
        # imaplib sends no SASL-IR: the empty first challenge gets the initial response;
        # an error challenge is answered with an empty line.
        typ, _ = imap.authenticate("XOAUTH2", lambda challenge: "" if challenge else initial)
        typ_sel, data = imap.select("INBOX", readonly=True)
        assert typ_sel == "OK", data
        return typ
    finally:
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refresh_gives_a_working_access_token(rig, oauth, user, tmp_path):
    minted = rig.mint_token(user)
    token_file = tmp_path / "access_token"
    result, _ = refresh(oauth, minted["refresh_token"], token_file=token_file,
                        never_printed=(minted["access_token"],))
    assert result["err"] == "OK", result
    assert result["ok"] is True and result["why"] == ""
    assert 0 < result["expires_in"] <= 3600
    assert result["has_refresh"] is True  # oidc-provider repeats it (Google does not)
    assert result["token_saved"] is True
    access = token_file.read_text()
    assert access and access != minted["refresh_token"]
    assert imap_login(rig, user, access) == "OK"
    # The proof means something: a token that is not one fails the same login.
    with pytest.raises(imaplib.IMAP4.error):
        imap_login(rig, user, "not-" + access)


def test_revoke_then_refresh_says_expired_or_revoked(rig, oauth, user, tmp_path):
    minted = rig.mint_token(user)
    result, _ = revoke(oauth, minted["refresh_token"])
    assert result["err"] == "OK", result
    result, _ = refresh(oauth, minted["refresh_token"], token_file=tmp_path / "t")
    assert result["err"] == "AUTH", result
    assert "expired or was revoked" in result["why"]
    assert not (tmp_path / "t").exists()
    # The access token of the revoked grant is dead at the mail server too.
    with pytest.raises(imaplib.IMAP4.error):
        imap_login(rig, user, minted["access_token"])


@pytest.mark.parametrize("op", ["refresh", "revoke"])
def test_wrong_client_secret_is_auth(rig, oauth, user, op):
    minted = rig.mint_token(user)
    url = oauth["token_endpoint"] if op == "refresh" else oauth["revocation_endpoint"]
    result, _ = probe(op, url, minted["refresh_token"], oauth["client_id"], "wrong-secret")
    assert result["err"] == "AUTH", result
    assert "client ID or secret is not accepted" in result["why"]


@pytest.mark.parametrize("mode,why", [("error500", "HTTP 500"), ("badjson", "not valid JSON")])
def test_token_endpoint_faults_are_temporary(rig, oauth, user, mode, why):
    minted = rig.mint_token(user)
    rig.set_mode(token_endpoint=mode)
    result, _ = refresh(oauth, minted["refresh_token"], never_printed=(minted["access_token"],))
    assert result["err"] == "TEMP", result
    assert why in result["why"]


def test_hanging_token_endpoint_times_out(rig, oauth, user):
    minted = rig.mint_token(user)
    rig.set_mode(token_endpoint="hang")
    timeout = 2
    result, wall = refresh(oauth, minted["refresh_token"], timeout=timeout)
    assert result["err"] == "TEMP", result
    assert "timed out" in result["why"]
    assert timeout - 0.2 <= result["seconds"] <= timeout + 1
    assert wall <= timeout + 1


def test_unreachable_port_is_temporary(oauth):
    url = f"http://127.0.0.1:{free_port()}/token"
    result, wall = probe("refresh", url, "1//no-such-token", oauth["client_id"],
                         oauth["client_secret"], timeout=5)
    assert result["err"] == "TEMP", result
    assert "cannot reach the token endpoint" in result["why"]
    assert wall < 5


def test_revoke_without_client_secret_is_refused(oauth, rig, user):
    """oidc-provider insists on client authentication at revocation: an empty secret
    (sent as none) is an OAuth error, not a transport problem."""
    minted = rig.mint_token(user)
    result, _ = probe("revoke", oauth["revocation_endpoint"], minted["refresh_token"],
                      oauth["client_id"], "")
    assert result["err"] == "AUTH", result
