"""A real SMTP server (aiosmtpd on a free local port) and an app that sends to it.

`smtp.messages` holds every message the server accepted, parsed; `smtp.fail` makes it
answer DATA with a temporary failure (451), as a relay that is down for a while does.
`deliver()` runs the delivery job's body (the tests set EMAIL_DELIVERY="manual", so
nothing is sent until it runs) and returns the messages that arrived meanwhile.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller

from app.notifications import outbox
from tests.conftest import free_port
from tests.jobs.conftest import queued_app, redis_url, work  # noqa: F401
from tests.proposals.helpers import cycle_fixture, market_fixture, propose_fixture  # noqa: F401


@dataclass
class Recorder:
    messages: list = field(default_factory=list)
    fail: bool = False
    refused: int = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.fail:
            self.refused += 1
            return "451 4.3.0 Relay unavailable, try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message.recipients = list(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in m.recipients]

    def subjects(self, address: str) -> list[str]:
        return [str(m["Subject"]) for m in self.to(address)]


@pytest.fixture
def smtp():
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    recorder.port = controller.port
    yield recorder
    controller.stop()


@pytest.fixture
def mailed_app(app, smtp):
    """The test app, its mail pointed at the real SMTP server."""
    state = app.extensions["mailman"]
    state.backend, state.server, state.port = "smtp", "127.0.0.1", smtp.port
    state.timeout = 5
    return app


@pytest.fixture
def deliver(mailed_app, smtp):
    def run(now=None) -> list:
        before = len(smtp.messages)
        outbox.deliver_due(now)
        return smtp.messages[before:]

    return run


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()
