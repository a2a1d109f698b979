"""Email outbox throughput: queueing (rendering both parts, in the event's transaction)
and sending to a real SMTP server (aiosmtpd on a free local port).

    .venv/bin/python bench/outbox.py              # 2,000 emails
    .venv/bin/python bench/outbox.py --count 200  # a quick run

In a temporary SQLite file migrated like production: N members of one organisation;
1. time `queue_email` for each (the cost a transition pays per recipient: the
   duplicate check, rendering text and HTML from the templates, the INSERT), one commit;
2. time `deliver_due()` sending all N over SMTP, one connection per message (claim,
   send, mark sent, commit each), i.e. what the `send_emails` job does.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiosmtpd.controller import Controller  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from app.auth.models import Role, User  # noqa: E402
from app.extensions import db  # noqa: E402
from app.market.models import Organisation  # noqa: E402
from app.notifications import outbox  # noqa: E402
from app.notifications.models import EmailCategory  # noqa: E402
from config import TestingConfig  # noqa: E402


class Sink:
    count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        Sink.count += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    controller = Controller(Sink(), hostname="127.0.0.1", port=free_port())
    controller.start()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.db")
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}",
                         MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1",
                         MAIL_PORT=controller.port)
        with app.app_context():
            upgrade()
            org = Organisation(name="Bench Trust", slug="bench", sector="other",
                               areas=["north"])
            db.session.add(org)
            db.session.flush()
            users = [User(email=f"member{i}@bench.example", name=f"Member {i}",
                          password_hash="x", role=Role.MEMBER, organisation_id=org.id)
                     for i in range(args.count)]
            db.session.add_all(users)
            db.session.commit()
            started = time.perf_counter()
            for user in users:
                outbox.queue_email(user, event_key="bench:1", category=EmailCategory.OUTCOMES,
                                   template="run_finished", subject="Bench", run=org,
                                   count=3, link="https://cc.example.org/proposals/")
            db.session.commit()
            queued = time.perf_counter() - started
            started = time.perf_counter()
            counts = outbox.deliver_due()
            sent = time.perf_counter() - started
    controller.stop()
    n = args.count
    print(f"emails: {n}; received by the SMTP server: {Sink.count}; {counts}")
    print(f"queue (render + insert): {queued:.2f} s, {1000 * queued / n:.2f} ms per email")
    print(f"send (SMTP, claim + mark): {sent:.2f} s, {1000 * sent / n:.2f} ms per email, "
          f"{n / sent:.0f} emails/s")


if __name__ == "__main__":
    main()
