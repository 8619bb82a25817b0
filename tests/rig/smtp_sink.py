"""SMTP sink for the test rig: stores every message it receives in a Maildir.

    /usr/bin/python3 smtp_sink.py --port PORT SINK_DIR

Each message is written byte for byte as received in DATA (CRLF line endings,
dot-stuffing removed) to SINK_DIR/Maildir/new/, and its envelope is appended as one
JSON line to SINK_DIR/envelopes.jsonl ({"file", "mail_from", "rcpt_tos"}).
aiosmtpd's own Mailbox handler is not used because it re-serialises the message
(LF line endings, rewritten headers), which would defeat byte-for-byte checks.
Exits cleanly on SIGTERM.
"""

import argparse
import asyncio
import json
import os
import signal
import time
from pathlib import Path

from aiosmtpd.smtp import SMTP


class MaildirSink:
    """aiosmtpd handler that delivers into a Maildir without touching the bytes."""

    def __init__(self, sink_dir: Path):
        self.maildir = sink_dir / "Maildir"
        self.envelopes = sink_dir / "envelopes.jsonl"
        self.count = 0
        for sub in ("tmp", "new", "cur"):
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = f"{time.time_ns()}.{os.getpid()}_{self.count}.xbrig-sink"
        tmp = self.maildir / "tmp" / name
        tmp.write_bytes(envelope.original_content)
        # Maildir delivery: write in tmp/, then rename into new/ atomically.
        os.rename(tmp, self.maildir / "new" / name)
        with self.envelopes.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"file": name, "mail_from": envelope.mail_from,
                                "rcpt_tos": envelope.rcpt_tos}) + "\n")
        return "250 2.0.0 Stored"


async def serve(sink_dir: Path, port: int) -> None:
    loop = asyncio.get_running_loop()
    handler = MaildirSink(sink_dir)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="sink.xbrig.test", enable_SMTPUTF8=True),
        "127.0.0.1", port)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("sink_dir", type=Path)
    args = parser.parse_args()
    asyncio.run(serve(args.sink_dir, args.port))


if __name__ == "__main__":
    main()
