#!/usr/bin/python3
"""docs.events: the Event Log's events agree everywhere an administrator or Windows reads
them: the table in service/core/events.c (ID, level), the message table
service/front/win32/events.mc (MessageId, Severity: what Event Viewer formats with) and
the tables in docs/deployment.md and docs/deployment.ja.md (what a SIEM rule is written
from). An event in one place and not another, or with another level, fails.

  check_events.py --source DIR
"""
import argparse
import re
import sys
from pathlib import Path

LEVELS = {"XB_LOG_INFO": "info", "XB_LOG_WARN": "warn", "XB_LOG_ERROR": "error"}
MC = {"Informational": "info", "Warning": "warn", "Error": "error"}
DOC = {"en": {"Information": "info", "Warning": "warn", "Error": "error"},
       "ja": {"情報": "info", "警告": "warn", "エラー": "error"}}


def from_code(src):
    h = (src / "service/core/events.h").read_text()
    ids = {m.group(1): int(m.group(2)) for m in re.finditer(r"(XB_EV_\w+)\s*=\s*(\d+)", h)}
    c = (src / "service/core/events.c").read_text()
    out = {}
    for m in re.finditer(r"\{\s*(XB_EV_\w+),\s*(XB_LOG_\w+),\s*\"([^\"]+)\"\s*\}", c):
        out[ids[m.group(1)]] = LEVELS[m.group(2)]
    return out


def from_mc(src):
    text = (src / "service/front/win32/events.mc").read_text()
    return {int(m.group(1)): MC[m.group(2)]
            for m in re.finditer(r"MessageId=(\d+)\s*\nSeverity=(\w+)", text)}


def from_doc(path, words):
    out = {}
    for m in re.finditer(r"^\|\s*(\d+)\s*\|\s*([^|]+?)\s*\|", path.read_text(), re.M):
        if m.group(2) in words:
            out[int(m.group(1))] = words[m.group(2)]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    src = Path(ap.parse_args().source)
    code = from_code(src)
    others = {"events.mc": from_mc(src),
              "docs/deployment.md": from_doc(src / "docs/deployment.md", DOC["en"]),
              "docs/deployment.ja.md": from_doc(src / "docs/deployment.ja.md", DOC["ja"])}
    failed = 0
    if len(code) < 10:
        print("not ok - events.c lists %d events" % len(code))
        failed += 1
    for where, table in others.items():
        ok = table == code
        print("%s - %s has every event of events.c with its level" % ("ok" if ok else "not ok",
                                                                        where))
        if not ok:
            failed += 1
            for i in sorted(set(code) | set(table)):
                if code.get(i) != table.get(i):
                    print("#   event %d: events.c %s, %s %s" % (i, code.get(i), where,
                                                                  table.get(i)))
    print("# %d events" % len(code))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
