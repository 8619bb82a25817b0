"""The companion gone idle (docs/performance.md "Idle memory"): 2 s after the last session
it gives its free heap back and drops the pages of code and read-only data it mapped from
files (they stay in the page cache). Everything must then work as before: the next login,
TLS upstream, a token refresh through libcurl, mail read byte for byte and mail sent."""
import imaplib
import re
import smtplib
import time

from rig import message_of_size

EMAIL = "user@example.com"


def file_ro_rss_kib(pid):
    """Resident KiB of the process's mappings of files that are not writable."""
    total, counting = 0, False
    with open("/proc/%d/smaps" % pid) as f:
        for ln in f:
            m = re.match(r"^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \d+\s+(/\S*)?", ln)
            if m:
                counting = m.group(1)[1] == "-" and m.group(2) is not None
            elif ln.startswith("Rss:") and counting:
                total += int(ln.split()[1])
    return total


def wait_idle_trim(xb, seen, limit=10):
    deadline = time.monotonic() + limit
    while "memory given back" not in xb.log_text()[seen:]:
        assert time.monotonic() < deadline, "no idle trim in the log"
        time.sleep(0.1)


def fetch_all(m):
    typ, data = m.select("INBOX")
    assert typ == "OK"
    out = []
    for num in range(1, int(data[0]) + 1):
        typ, got = m.fetch(str(num), "(BODY.PEEK[])")
        assert typ == "OK"
        out.append(got[0][1])
    return out


def test_after_the_idle_trim_everything_works_as_before(rig, xb):
    bodies = [message_of_size(size, to=EMAIL) for size in (3000, 70000, 1 << 20)]
    for b in bodies:
        rig.add_message(EMAIL, b)
    seen = len(xb.log_text())
    m = imaplib.IMAP4("127.0.0.1", xb.imap_port)
    m.login(EMAIL, xb.secret)
    before = fetch_all(m)
    m.logout()
    mapped = file_ro_rss_kib(xb.proc.pid)
    wait_idle_trim(xb, seen)
    # The mechanism ran: pages of the libraries and the program were dropped (how much
    # is the benchmark's to say, tests/bench/bench.py --only held).
    assert file_ro_rss_kib(xb.proc.pid) < mapped

    # An expired token: the login refreshes it (libcurl, TLS to the token endpoint),
    # then TLS upstream and the relay run again, all from pages mapped anew.
    xb.set_token(rig.mint_token(EMAIL), expires_in=1)
    time.sleep(1.5)
    m = imaplib.IMAP4("127.0.0.1", xb.imap_port)
    m.login(EMAIL, xb.secret)
    after = fetch_all(m)
    m.logout()
    assert after == before
    assert after[-3:] == bodies

    seen = len(xb.log_text())
    wait_idle_trim(xb, seen)
    s = smtplib.SMTP("127.0.0.1", xb.smtp_port)
    s.login(EMAIL, xb.secret)
    s.sendmail(EMAIL, ["sink@example.org"], bodies[1])
    s.quit()
    deadline = time.monotonic() + 10
    msgid = re.search(rb"Message-ID: <[^>]+>", bodies[1]).group(0)
    while not any(msgid in data and data.endswith(bodies[1][-2000:])
                  for _, data in rig.sink_messages()):
        assert time.monotonic() < deadline, "the message sent after the idle trim did not arrive"
        time.sleep(0.1)
