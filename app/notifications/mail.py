"""Sending email: Flask-Mailman over SMTP, or the development outbox directory.

With MAIL_SERVER set, mail goes by SMTP to that relay (MAIL_PORT, MAIL_USE_TLS,
MAIL_USERNAME, MAIL_PASSWORD). Without it the embedded default writes each message as
an .eml file under MAIL_OUTBOX_DIR and logs its subject, so `make run` needs no mail
server and a developer can open what would have been sent. Links are absolute, built
from BASE_URL, because an email is read far from any request.
"""

from __future__ import annotations

import logging
import os
import uuid
from urllib.parse import urlsplit

from flask import Flask, current_app
from flask_mailman import EmailMultiAlternatives
from flask_mailman.backends.base import BaseEmailBackend

from app.extensions import mail

log = logging.getLogger(__name__)

OUTBOX_BACKEND = "app.notifications.mail.OutboxEmailBackend"


class OutboxEmailBackend(BaseEmailBackend):
    """Writes each message to `<MAIL_OUTBOX_DIR>/<time>-<random>.eml` and logs its subject."""

    def send_messages(self, email_messages) -> int:
        directory = current_app.config["MAIL_OUTBOX_DIR"]
        os.makedirs(directory, exist_ok=True)
        for message in email_messages:
            name = f"{uuid.uuid1().hex}.eml"  # uuid1 starts with the time: files sort by it
            with open(os.path.join(directory, name), "wb") as handle:
                handle.write(message.message().as_bytes())
            log.info("Email to %s written to %s: %s", ", ".join(message.to), name,
                     message.subject)
        return len(email_messages)


def init_app(app: Flask) -> None:
    if not app.config.get("MAIL_BACKEND"):
        app.config["MAIL_BACKEND"] = "smtp" if app.config.get("MAIL_SERVER") else OUTBOX_BACKEND
    mail.init_app(app)


def absolute_url(endpoint: str, **values) -> str:
    """The URL of `endpoint` under BASE_URL (works outside any request: in jobs)."""
    base = urlsplit(current_app.config["BASE_URL"].rstrip("/"))
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/",
                                       url_scheme=base.scheme or "https")
    return adapter.build(endpoint, values, force_external=True)


def connection():
    """A connection to the configured backend, to send many messages over one session
    (open it with `.open()`, close it with `.close()`)."""
    return mail.get_connection(fail_silently=False)


def send(to: str, subject: str, text: str, html: str, headers: dict[str, str], *,
         over=None) -> None:
    """Send one message now, over the open connection `over` if given (raises on
    failure: the caller retries)."""
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=[to], headers=headers, connection=over)
    if html:
        message.attach_alternative(html, "text/html")
    if message.send(fail_silently=False) != 1:
        raise RuntimeError("The mail server did not take the message.")
