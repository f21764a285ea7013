"""An SMTP server for the event suite (aiosmtpd): accepts mail and appends
each message to a JSON-lines file; answers 451 (try again later) to any
recipient whose address starts with `fail-`, so a test can make delivery fail.

Usage: python smtp_server.py PORT LOG_FILE; prints `ready` once listening and
runs until its standard input closes.
"""

import json
import sys

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, log):
        self.log = log

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("fail-"):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
        }
        with open(self.log, "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
        return "250 Message accepted for delivery"


def main():
    port, log = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Handler(log), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
