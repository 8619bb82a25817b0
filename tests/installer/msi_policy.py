#!/usr/bin/python3
"""msi.policy: the Group Policy templates against the policy contract.

installer/policy/XOAuthBridge.admx and its en-US and ja-JP ADML files are well-formed;
every value an ADMX policy writes under XB_POLICY_KEY (its on/off value, each element's,
a list's subkey) is one include/xoauthbridge/policy.h lists, with the same registry type
and range, written by that policy only, and every entry of policy.h has its policy; every
help text says what Enabled, Disabled and Not configured mean, in both languages;
every string and presentation the ADMX refers to exists in BOTH ADML files (and nothing
else does), presentations match their policies' elements, and the Japanese texts are
Japanese.

  msi_policy.py --source DIR
"""
import argparse
import os
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import msi_common as mc  # noqa: E402

NS = "http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions"
CATEGORIES = {"SignIn", "Accounts", "Network", "Logging"}  # under "XOAuthBridge"
CULTURES = ("en-US", "ja-JP")
# Element kind -> the ADML control that presents it.
# What every help text must say, per culture: Enabled, Disabled, Not configured.
STATES = {"en-US": ("If you enable", "If you disable", "do not configure"),
          "ja-JP": ("有効にすると", "無効にした", "構成しなかった")}
CONTROL = {"text": "textBox", "decimal": "decimalTextBox", "enum": "dropdownList",
           "boolean": "checkBox", "list": "listBox", "multiText": "multiTextBox"}


def q(tag):
    return "{%s}%s" % (NS, tag)


def local(tag):
    return tag.split("}", 1)[-1]


def parse(c, path):
    try:
        return ET.parse(path).getroot()
    except (ET.ParseError, OSError) as e:
        c.check(False, "%s is well-formed XML: %s" % (path, e))
        return None


def policy_values(c, pol, key):
    """[(value name, registry type, details)] of what one ADMX policy writes."""
    name = pol.get("name")
    values = []
    if pol.get("valueName"):
        en, dis = pol.find(q("enabledValue")), pol.find(q("disabledValue"))
        ok = (en is not None and dis is not None and en.find(q("decimal")) is not None
              and dis.find(q("decimal")) is not None)
        c.check(ok, "policy %s: an on/off policy writes decimal enabledValue/disabledValue"
                % name)
        if ok:
            values.append((pol.get("valueName"), "DWORD", {
                "kind": "onoff", "id": None,
                "values": [int(dis.find(q("decimal")).get("value")),
                           int(en.find(q("decimal")).get("value"))]}))
    elements = pol.find(q("elements"))
    for el in (list(elements) if elements is not None else []):
        kind = local(el.tag)
        info = {"kind": kind, "id": el.get("id")}
        if kind == "text":
            c.check(el.get("expandable") in (None, "false"),
                    "policy %s: text is REG_SZ (not expandable)" % name)
            rtype = "SZ"
            info["maxLength"] = int(el.get("maxLength", "1023"))
        elif kind == "decimal":
            c.check(el.get("storeAsText") in (None, "false"),
                    "policy %s: decimal is stored as REG_DWORD" % name)
            rtype = "DWORD"
            info["min"] = int(el.get("minValue", "0"))
            info["max"] = int(el.get("maxValue", "9999"))
        elif kind == "enum":
            items = []
            kinds = set()
            for it in el.findall(q("item")):
                v = it.find(q("value"))
                child = v[0] if v is not None and len(v) else None
                kinds.add(local(child.tag) if child is not None else None)
                if child is not None and local(child.tag) == "decimal":
                    items.append(int(child.get("value")))
                elif child is not None and local(child.tag) == "string":
                    items.append(child.text or "")
            c.check(len(kinds) == 1 and kinds <= {"decimal", "string"},
                    "policy %s: enum items are all decimal or all string" % name)
            rtype = "DWORD" if kinds == {"decimal"} else "SZ"
            info["values"] = items
        elif kind == "boolean":
            rtype = "DWORD"
            info["values"] = [0, 1]
        elif kind == "list":
            c.check(el.get("explicitValue") == "true" and el.get("additive") == "false",
                    "policy %s: a list of named values that replaces the old list" % name)
            sub = el.get("key", "")
            c.check(sub.startswith(key + "\\"), "policy %s: list key %r under %r"
                    % (name, sub, key))
            values.append((sub[len(key) + 1:], "LIST", info))
            continue
        else:
            c.check(False, "policy %s: element %s is not one policy.h can describe" % (name, kind))
            continue
        values.append((el.get("valueName"), rtype, info))
    c.check(values and all(v[0] for v in values),
            "policy %s writes named values (got %s)" % (name, [v[0] for v in values]))
    return values


def check_against_header(c, name, value, rtype, info, p):
    c.check(rtype == p["type"], "policy %s: ADMX writes REG_%s, policy.h says %s"
            % (name, rtype, p["type"]))
    words = p["choices"].split("|") if p["choices"] else None
    kind = info.get("kind")
    if kind == "list":
        return
    if kind == "text":
        c.check(words is None, "policy %s: a free text box, but policy.h lists choices" % name)
        c.check(info["maxLength"] == p["max"], "policy %s: maxLength %d, policy.h max %d"
                % (name, info["maxLength"], p["max"]))
    elif kind == "decimal":
        c.check((info["min"], info["max"]) == (p["min"], p["max"]),
                "policy %s: range %d..%d, policy.h %d..%d"
                % (name, info["min"], info["max"], p["min"], p["max"]))
    elif kind in ("enum", "onoff", "boolean"):
        if rtype == "DWORD":
            c.check(sorted(info["values"]) == list(range(p["min"], p["max"] + 1)),
                    "policy %s: values %s are policy.h's range %d..%d"
                    % (name, info["values"], p["min"], p["max"]))
            c.check(words is None or len(words) == len(info["values"]),
                    "policy %s: one choice word per value in policy.h" % name)
        else:
            c.check(info["values"] == words, "policy %s: items %s are policy.h's choices %s"
                    % (name, info["values"], words))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    c = mc.Checks("msi.policy")
    pdir = os.path.join(args.source, "installer", "policy")
    header = mc.policies(args.source)
    key = mc.names(args.source)["XB_POLICY_KEY"]
    by_value = {p["value"]: p for p in header}
    c.check(len(by_value) == len(header), "policy.h value names are unique")

    admx = parse(c, os.path.join(pdir, "XOAuthBridge.admx"))
    adml = {cu: parse(c, os.path.join(pdir, cu, "XOAuthBridge.adml")) for cu in CULTURES}
    if admx is None or any(v is None for v in adml.values()):
        return c.done()
    c.check(admx.tag == q("policyDefinitions"), "ADMX root is policyDefinitions (%s)" % admx.tag)
    for cu, root in adml.items():
        c.check(root.tag == q("policyDefinitionResources"),
                "%s ADML root is policyDefinitionResources" % cu)
        c.check(root.get("revision") == admx.get("revision"), "%s ADML revision matches" % cu)

    # --- categories and supportedOn ---
    cats = {cat.get("name"): cat for cat in admx.iter(q("category"))}
    c.check("XOAuthBridge" in cats and cats["XOAuthBridge"].find(q("parentCategory")) is None,
            "top category XOAuthBridge")
    for n in CATEGORIES:
        parent = cats.get(n, ET.Element("x")).find(q("parentCategory"))
        c.check(parent is not None and parent.get("ref") == "XOAuthBridge",
                "category %s under XOAuthBridge" % n)
    c.check(set(cats) == CATEGORIES | {"XOAuthBridge"}, "categories %s" % sorted(cats))
    supported = {d.get("name") for d in admx.iter(q("definition"))}

    # --- every policy against policy.h, and back ---
    seen = {}
    presentations = {}  # presentation id -> (policy name, {element id: kind})
    used_cats = set()
    for pol in admx.iter(q("policy")):
        name = pol.get("name")
        c.check(pol.get("key") == key, "policy %s: key %r is %r" % (name, pol.get("key"), key))
        c.check(pol.get("class") == "Both", "policy %s: class Both (computer and user)" % name)
        cat = pol.find(q("parentCategory"))
        c.check(cat is not None and cat.get("ref") in CATEGORIES,
                "policy %s: in one of %s" % (name, sorted(CATEGORIES)))
        if cat is not None:
            used_cats.add(cat.get("ref"))
        so = pol.find(q("supportedOn"))
        c.check(so is not None and so.get("ref") in supported,
                "policy %s: supportedOn a defined product" % name)
        values = policy_values(c, pol, key)
        c.check(name in [v[0] for v in values], "policy %s is named after one of its values %s"
                % (name, [v[0] for v in values]))
        for value, rtype, info in values:
            c.check(value not in seen, "value %s is set by one policy only" % value)
            seen[value] = name
            p = by_value.get(value)
            if c.check(p is not None, "policy %s: value %s is in include/xoauthbridge/policy.h"
                       % (name, value)):
                check_against_header(c, name, value, rtype, info, p)
        pres = pol.get("presentation")
        elements = pol.find(q("elements"))
        ids = {el.get("id"): local(el.tag) for el in (elements if elements is not None else [])}
        if ids:
            m = re.fullmatch(r"\$\(presentation\.(\w+)\)", pres or "")
            if c.check(m, "policy %s with elements has a presentation" % name):
                presentations[m.group(1)] = (name, ids)
    for p in header:
        c.check(p["value"] in seen, "policy.h's %s (%s -> [%s] %s) has an ADMX policy"
                % (p["id"], p["value"], p["section"], p["key"]))
    c.check(used_cats == CATEGORIES, "every category holds a policy")

    # --- strings and presentations in both ADML files ---
    text = ET.tostring(admx, encoding="unicode")
    want_strings = set(re.findall(r"\$\(string\.(\w+)\)", text))
    want_pres = set(re.findall(r"\$\(presentation\.(\w+)\)", text))
    tables = {}
    for cu, root in adml.items():
        strings = {s.get("id"): (s.text or "") for s in root.iter(q("string"))}
        pres = {p.get("id"): p for p in root.iter(q("presentation"))}
        tables[cu] = strings
        c.check(len(strings) == len(list(root.iter(q("string")))), "%s: string ids unique" % cu)
        for s in sorted(want_strings - set(strings)):
            c.check(False, "%s ADML: string %s is missing" % (cu, s))
        for s in sorted(set(strings) - want_strings):
            c.check(False, "%s ADML: string %s is not used by the ADMX" % (cu, s))
        for s in sorted(want_pres - set(pres)):
            c.check(False, "%s ADML: presentation %s is missing" % (cu, s))
        for s in sorted(set(pres) - want_pres):
            c.check(False, "%s ADML: presentation %s is not used by the ADMX" % (cu, s))
        for pid, (polname, ids) in presentations.items():
            if pid not in pres:
                continue
            controls = {ctl.get("refId"): local(ctl.tag) for ctl in pres[pid]}
            c.check(set(controls) == set(ids), "%s: presentation %s shows %s, policy %s has %s"
                    % (cu, pid, sorted(controls), polname, sorted(ids)))
            for eid, kind in ids.items():
                c.check(controls.get(eid) in (CONTROL.get(kind), None),
                        "%s: %s element %s is shown by a %s" % (cu, kind, eid, CONTROL.get(kind)))
            for ctl in pres[pid]:
                if local(ctl.tag) == "dropdownList" and ctl.get("defaultItem") is not None:
                    enum = next((e for e in admx.iter(q("enum")) if e.get("id") == ctl.get("refId")), None)
                    n = len(enum.findall(q("item"))) if enum is not None else 0
                    c.check(0 <= int(ctl.get("defaultItem")) < n,
                            "%s: %s defaultItem is one of its %d items" % (cu, pid, n))
        for pol in admx.iter(q("policy")):
            m = re.fullmatch(r"\$\(string\.(\w+)\)", pol.get("explainText", ""))
            if not m or m.group(1) not in strings:
                continue
            help_text = strings[m.group(1)]
            for value in (v for v, n in seen.items() if n == pol.get("name")):
                c.check(value in help_text, "%s: the help of %s names its registry value %s"
                        % (cu, pol.get("name"), value))
            for phrase in STATES[cu]:
                c.check(phrase in help_text, "%s: the help of %s says what %r means"
                        % (cu, pol.get("name"), phrase))

    jp = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
    for sid, en in tables["en-US"].items():
        ja = tables["ja-JP"].get(sid)
        if ja is None or sid == "Cat_XOAuthBridge":
            continue
        c.check(jp.search(ja), "ja-JP string %s is in Japanese" % sid)
        if sid.endswith("_Help"):
            c.check(ja != en, "ja-JP help %s is translated" % sid)
    c.note("%d policies, %d strings, %d presentations in each of %s"
           % (len(seen), len(want_strings), len(want_pres), ", ".join(CULTURES)))
    return c.done()


if __name__ == "__main__":
    sys.exit(main())
