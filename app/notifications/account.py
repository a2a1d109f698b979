"""Account emails: the password-reset link, sent from the outbox like every email."""

from __future__ import annotations

from app.auth import reset
from app.core.clock import utcnow
from app.notifications.mail import absolute_url
from app.notifications.models import EmailCategory
from app.notifications.outbox import queue_email


def send_password_reset(email: str | None, remote_addr: str | None) -> bool:
    """Issue a reset link for the account with `email` (if there is one) and queue its
    email. The caller answers the same whatever this returns (True: a link was sent).
    LoginRefused (429) when asked too often."""
    issued = reset.request_reset(email, remote_addr)
    if issued is None:
        return False
    user, token = issued
    queue_email(user, event_key=f"password-reset:{user.reset_nonce}",
                category=EmailCategory.ACCOUNT, template="password_reset",
                subject="Reset your Common Currency password",
                link=absolute_url("auth.reset_password", token=token),
                expires_at=utcnow() + reset.valid_for(),
                minutes=int(reset.valid_for().total_seconds() // 60))
    return True
