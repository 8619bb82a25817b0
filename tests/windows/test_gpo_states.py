"""win64.gpo.states: every policy means in each state what its ADML help says.

Group Policy Editor cannot run here, so this test plays it from the ADMX itself, as
Microsoft documents the registry client-side extension (a fake, allowed because the
real one is Windows-only): a policy set to

  Enabled         writes its enabledValue and every element's value (a list with
                  additive="false" first empties its key);
  Disabled        writes its disabledValue and DELETES every element's value (a list's
                  key is emptied): what made `AutoFix` Disabled mean "ask" before;
  Not configured  leaves nothing: what the policy wrote before is removed.

Each round puts every policy of installer/policy/XOAuthBridge.admx into one state under
HKLM (Computer Configuration) in a Wine prefix of its own, then asks the real companion
what is in force (`xoauthbridge config`: its own settings and the add-in's decision from
the same code the add-in runs) and checks it against EXPECT, the meanings the help texts
state. A policy without an entry in EXPECT fails the test: a new policy must say what
its states mean.
"""
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from outlookrig import fresh_prefix

ROOT = Path(__file__).resolve().parents[2]
EXE = os.environ.get("XB_EXE", "")
WORK = Path(os.environ.get("XB_WORK", "/tmp/xb-gpo-states"))
NS = "{http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions}"
HKLM = "HKEY_LOCAL_MACHINE"
HKCU = "HKEY_CURRENT_USER"

pytestmark = pytest.mark.skipif(not EXE, reason="XB_EXE not set (run through CTest)")

# The configuration file under the policies: what "the file decides" means.
CONFIG = """\
[general]
state_dir = {state}
log_level = warn
[proxy]
port_range_start = 30000
port_range_end = 30008
[provider.google]
client_id = from-file
client_secret = file-secret
[provider.microsoft]
client_id = ms-from-file
"""

# What Enabled sets in each element (by element id), for the rounds that enable.
ENABLED_INPUT = {
    "GoogleClientId": "gpo-google-id",
    "GoogleClientSecret": "gpo-google-secret",
    "MicrosoftClientId": "gpo-ms-id",
    "MicrosoftClientSecret": "gpo-ms-secret",
    "GoogleDomainClients": {"st.example.ac.jp": "client_id=gpo-student-id; "
                                                "client_secret=s; hosted_domain=st.example.ac.jp"},
    "AllowedDomains": "example.ac.jp, st.example.ac.jp",
    "GoogleMailHosts": "mail.example.ac.jp",
    "AutoFix": 2,
    "PortRangeStart": 41000,
    "PortRangeEnd": 41299,
    "LogLevel": "debug",
    "WebProxy": "http://proxy.example.ac.jp:8080",
}


def g(out, section, key):
    """The value of key in [section] of `config`'s output (None: not shown)."""
    return out.get((section, key))


# policy -> {state: check(out) -> bool}, the help text's words as code.
FILE_CLIENT = lambda o: g(o, "provider.google", "client_id") == "from-file"  # noqa: E731
EXPECT = {
    "GoogleClientId": {
        "enabled": lambda o: g(o, "provider.google", "client_id") == "gpo-google-id",
        "disabled": FILE_CLIENT, "not configured": FILE_CLIENT},
    "GoogleClientSecret": {
        "enabled": lambda o: "client_secret" in o["policy"].get("provider.google", ()),
        "disabled": lambda o: "client_secret" not in o["policy"].get("provider.google", ()),
        "not configured": lambda o: "client_secret" not in o["policy"].get("provider.google", ())},
    "MicrosoftClientId": {
        "enabled": lambda o: g(o, "provider.microsoft", "client_id") == "gpo-ms-id",
        "disabled": lambda o: g(o, "provider.microsoft", "client_id") == "ms-from-file",
        "not configured": lambda o: g(o, "provider.microsoft", "client_id") == "ms-from-file"},
    "MicrosoftClientSecret": {
        "enabled": lambda o: g(o, "provider.microsoft", "client_secret") == "(set; not shown)",
        "disabled": lambda o: g(o, "provider.microsoft", "client_secret") == "",
        "not configured": lambda o: g(o, "provider.microsoft", "client_secret") == ""},
    "MicrosoftEnabled": {
        "enabled": lambda o: g(o, "add-in", "microsoft") == "yes",
        "disabled": lambda o: g(o, "add-in", "microsoft") == "no",
        "not configured": lambda o: g(o, "add-in", "microsoft") == "no"},
    "GoogleDomainClients": {
        "enabled": lambda o: o["domains"].get("st.example.ac.jp", "").startswith(
            "client_id = gpo-student-id"),
        "disabled": lambda o: not o["domains"],
        "not configured": lambda o: not o["domains"]},
    "AllowedDomains": {
        "enabled": lambda o: g(o, "add-in", "allowed_domains") == "example.ac.jp, st.example.ac.jp",
        "disabled": lambda o: g(o, "add-in", "allowed_domains") == "(any)",
        "not configured": lambda o: g(o, "add-in", "allowed_domains") == "(any)"},
    "GoogleMailHosts": {
        "enabled": lambda o: g(o, "add-in", "google_hosts") == "mail.example.ac.jp",
        "disabled": lambda o: g(o, "add-in", "google_hosts") == "(Google's own)",
        "not configured": lambda o: g(o, "add-in", "google_hosts") == "(Google's own)"},
    "AutoFix": {
        "enabled": lambda o: g(o, "add-in", "auto_fix").startswith("automatic "),
        "disabled": lambda o: g(o, "add-in", "auto_fix").startswith("off "),
        "not configured": lambda o: g(o, "add-in", "auto_fix").startswith("ask ")},
    "PortRange": {
        "enabled": lambda o: (g(o, "proxy", "port_range"), g(o, "proxy", "port_range_start"),
                              g(o, "proxy", "port_range_end")) == ("yes", "41000", "41299"),
        "disabled": lambda o: g(o, "proxy", "port_range") == "no",
        "not configured": lambda o: (g(o, "proxy", "port_range"),
                                     g(o, "proxy", "port_range_start")) == ("yes", "30000")},
    "WebProxy": {
        "enabled": lambda o: g(o, "general", "web_proxy") == "http://proxy.example.ac.jp:8080",
        "disabled": lambda o: g(o, "general", "web_proxy").startswith("system"),
        "not configured": lambda o: g(o, "general", "web_proxy").startswith("system")},
    "LogLevel": {
        "enabled": lambda o: g(o, "general", "log_level") == "debug",
        "disabled": lambda o: g(o, "general", "log_level") == "warn",
        "not configured": lambda o: g(o, "general", "log_level") == "warn"},
}


# --- Group Policy Editor, played from the ADMX --------------------------------------------

def policies():
    root = ET.parse(ROOT / "installer" / "policy" / "XOAuthBridge.admx").getroot()
    return list(root.iter(NS + "policy"))


def reg_value(name, value):
    if isinstance(value, int):
        return '"%s"=dword:%08x' % (name, value)
    return '"%s"="%s"' % (name, value.replace("\\", "\\\\").replace('"', '\\"'))


def value_of(v):
    """An enabledValue/disabledValue/enum item's <decimal>/<string>/<delete>."""
    child = list(v)[0]
    tag = child.tag[len(NS):]
    return None if tag == "delete" else (int(child.get("value")) if tag == "decimal"
                                         else child.text or "")


def gpedit(pol, state, hive):
    """{key: {value name: data, or None to delete}} and [list keys to empty] for one
    policy in one state, as the Group Policy registry extension applies it."""
    key = pol.get("key")
    writes, empty = {}, []

    def put(k, name, data):
        writes.setdefault(k, {})[name] = data

    if pol.get("valueName"):
        tag = {"enabled": "enabledValue", "disabled": "disabledValue"}.get(state)
        v = pol.find(NS + tag) if tag else None
        put(key, pol.get("valueName"), value_of(v) if v is not None else None)
    elements = pol.find(NS + "elements")
    for el in (list(elements) if elements is not None else []):
        kind = el.tag[len(NS):]
        if kind == "list":
            empty.append(el.get("key"))
            if state == "enabled":
                for name, data in ENABLED_INPUT[el.get("id")].items():
                    put(el.get("key"), name, data)
            continue
        data = None
        if state == "enabled":
            data = ENABLED_INPUT[el.get("id")]
            if kind == "enum":
                items = el.findall(NS + "item")
                picked = [value_of(it.find(NS + "value")) for it in items]
                assert data in picked, (el.get("id"), data, picked)
        put(key, el.get("valueName"), data)
    return writes, empty


def apply(env, hive, plan):
    """Writes one round through regedit: each list key emptied, then values set or
    deleted."""
    lines = ["Windows Registry Editor Version 5.00", ""]
    for pol, state in plan:
        writes, empty = gpedit(pol, state, hive)
        for k in empty:
            lines += ["[-%s\\%s]" % (hive, k), ""]
        for k, values in writes.items():
            lines.append("[%s\\%s]" % (hive, k))
            for name, data in values.items():
                lines.append('"%s"=-' % name if data is None else reg_value(name, data))
            lines.append("")
    path = WORK / "round.reg"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-16")
    subprocess.run(["wine", "regedit", "/S", str(path)], env=env, check=True,
                   capture_output=True, timeout=120)


# --- what the companion says is in force ---------------------------------------------------

def config(env, conf):
    r = subprocess.run(["wine", EXE, "config", "--config", "C:\\gpo\\xoauthbridge.conf"],
                       env=env, capture_output=True, timeout=120)
    text = r.stdout.decode("utf-8", "replace").replace("\r\n", "\n")
    assert r.returncode == 0, text + r.stderr.decode("utf-8", "replace")
    out = {"policy": {}, "domains": {}, "text": text}
    section = None
    pending = False
    for line in text.splitlines():
        m = re.fullmatch(r"\[(.+)\]", line)
        if m:
            section = m.group(1)
            continue
        if line.startswith("# The Outlook add-in"):
            section = "add-in"
            continue
        m = re.fullmatch(r"# addresses @(\S+): (.*)", line)
        if m:
            out["domains"][m.group(1)] = m.group(2)
            continue
        if line.startswith("# set by policy HKLM"):
            pending = True
            continue
        m = re.fullmatch(r"(?:# )?(\w+) =\s?(.*)", line)
        if m and section:
            out[(section, m.group(1))] = m.group(2)
            if pending:
                out["policy"].setdefault(section, set()).add(m.group(1))
        pending = False
    return out


@pytest.fixture(scope="module")
def env():
    WORK.mkdir(parents=True, exist_ok=True)
    prefix = WORK / "prefix"
    fresh_prefix(prefix)
    e = dict(os.environ, WINEPREFIX=str(prefix), WINEDEBUG="-all")
    gpo = prefix / "drive_c" / "gpo"
    gpo.mkdir(exist_ok=True)
    (gpo / "xoauthbridge.conf").write_text(CONFIG.format(state="C:\\gpo\\state"))
    yield e
    subprocess.run(["wineserver", "-k"], env=e, capture_output=True)


def check_round(out, states):
    wrong = []
    for name, state in states.items():
        if not EXPECT[name][state](out):
            wrong.append("%s %s" % (name, state))
    assert not wrong, "not what the help says: %s\n%s" % (wrong, out["text"])


def test_every_policy_has_a_meaning_for_each_state():
    names = [p.get("name") for p in policies()]
    missing = [n for n in names if n not in EXPECT]
    assert not missing, "policies whose states this test does not know: %s" % missing
    assert set(EXPECT) <= set(names), set(EXPECT) - set(names)


def test_each_state_means_what_the_help_says(env):
    pols = policies()
    # Not configured, Enabled, Disabled, Enabled again, Not configured again: each state
    # also has to undo what the one before wrote.
    for state in ("not configured", "enabled", "disabled", "enabled", "not configured"):
        apply(env, HKLM, [(p, state) for p in pols])
        check_round(config(env, None), {p.get("name"): state for p in pols})


def test_the_computers_disabled_wins_over_the_users_enabled(env):
    """AutoFix and the port range say so in their help: Disabled is a decision."""
    pols = [p for p in policies() if p.get("name") in ("AutoFix", "PortRange")]
    apply(env, HKLM, [(p, "disabled") for p in pols])
    apply(env, HKCU, [(p, "enabled") for p in pols])
    out = config(env, None)
    check_round(out, {"AutoFix": "disabled", "PortRange": "disabled"})
    apply(env, HKLM, [(p, "not configured") for p in pols])
    check_round(config(env, None), {"AutoFix": "enabled", "PortRange": "enabled"})
    apply(env, HKCU, [(p, "not configured") for p in pols])
