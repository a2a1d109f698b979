"""The email outbox: queueing an email for an event, sending it from a job, digests.

Invariants:
* An email is queued in the same transaction as the event it reports
  (`queue_email` adds a row and flushes), so a rolled-back transition sends nothing,
  and sending never happens inside that transaction: a mail server that is down
  cannot break the transition or lose the in-app notification written beside it.
* At most once per event and recipient: (`event_key`, `user_id`) is unique and
  `queue_email` skips a pair it already holds; a delivery job claims a row with a
  conditional UPDATE (pending → sending), so two jobs never send the same row, and a
  row interrupted mid-send (a worker killed) is marked failed, never resent blind.
* A failed send goes back to pending with a doubling back-off
  (EMAIL_RETRY_SECONDS · 2^(attempts-1), at most an hour) until EMAIL_MAX_ATTEMPTS.
* The user's preference is read when the email is queued: immediately → pending,
  daily or weekly → held for the digest, off → skipped (kept, so the event stays
  recorded as handled). The digest job reads it again when it composes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup
from sqlalchemy import event, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.core.clock import utcnow
from app.core.errors import Invalid
from app.extensions import db
from app.notifications import mail
from app.notifications.models import (
    DEFAULT_DELIVERY,
    Delivery,
    EmailCategory,
    EmailMessage,
    EmailPreference,
    EmailStatus,
)

log = logging.getLogger(__name__)
LONDON = ZoneInfo("Europe/London")
_QUEUED = "emails_queued"
STALE_SENDING = timedelta(minutes=15)
DIGEST = "digest"  # the unsubscribe link of a digest names this instead of a category


# --- dates -------------------------------------------------------------------------------

def london(moment: datetime | None) -> datetime | None:
    """A stored naive-UTC time as the wall-clock time in Europe/London."""
    if moment is None:
        return None
    return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(LONDON)


def london_text(moment: datetime | None) -> str:
    """'Friday 18 December 2026, 14:05 (UK time)'; the same words in every email."""
    local = london(moment)
    if local is None:
        return "no deadline"
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M} (UK time)"


# --- preferences -------------------------------------------------------------------------

def preferences_for(user: User) -> dict[str, str]:
    """Every choosable category → the user's delivery choice (or the default)."""
    chosen = dict(db.session.execute(
        db.select(EmailPreference.category, EmailPreference.delivery)
        .where(EmailPreference.user_id == user.id)).all())
    return {category: chosen.get(category, DEFAULT_DELIVERY[category])
            for category in EmailCategory.CHOOSABLE}


def delivery_for(user_id: int, category: str) -> str:
    if category == EmailCategory.ACCOUNT:
        return Delivery.IMMEDIATE
    chosen = db.session.execute(
        db.select(EmailPreference.delivery).where(EmailPreference.user_id == user_id,
                                                  EmailPreference.category == category)
    ).scalar_one_or_none()
    return chosen or DEFAULT_DELIVERY[category]


def set_preferences(user: User, choices: dict[str, object]) -> dict[str, str]:
    """Store the user's choices (category → delivery); unknown names are refused whole."""
    errors = {}
    for category, delivery in choices.items():
        if category not in EmailCategory.CHOOSABLE:
            errors[str(category)[:40]] = ["Unknown email category."]
        elif delivery not in Delivery.ALL:
            errors[category] = [f"Choose one of: {', '.join(Delivery.ALL)}."]
    if errors:
        raise Invalid("Some email preferences are not valid.", errors=errors)
    for category, delivery in choices.items():
        row = db.session.execute(
            db.select(EmailPreference).where(EmailPreference.user_id == user.id,
                                             EmailPreference.category == category)
        ).scalar_one_or_none()
        if row is None:
            db.session.add(EmailPreference(user_id=user.id, category=category,
                                           delivery=delivery))
        else:
            row.delivery = delivery
    db.session.flush()
    return preferences_for(user)


# --- unsubscribe links ---------------------------------------------------------------------

def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="email-unsubscribe")


def unsubscribe_token(user_id: int, category: str) -> str:
    """A signed (user, category) pair: the one-click link needs no login. It does not
    expire: an old email's link must still work."""
    return _serializer().dumps([user_id, category])


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    """(user id, category) of a signed link, or Invalid."""
    try:
        user_id, category = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        raise Invalid("This unsubscribe link is not valid.") from None
    if not isinstance(user_id, int) or category not in (*EmailCategory.CHOOSABLE, DIGEST):
        raise Invalid("This unsubscribe link is not valid.")
    return user_id, category


def category_label(category: str) -> str:
    return "every digest" if category == DIGEST else EmailCategory.label(category)


def unsubscribe(token: str) -> tuple[User, str]:
    """Turn off the category named in a signed link (a digest's: every category that
    goes to a digest); idempotent."""
    user_id, category = read_unsubscribe_token(token)
    user = db.session.get(User, user_id)
    if user is None or category not in (*EmailCategory.CHOOSABLE, DIGEST):
        raise Invalid("This unsubscribe link is not valid.")
    if category == DIGEST:  # a digest's link: every category that goes to a digest
        chosen = preferences_for(user)
        set_preferences(user, {c: Delivery.OFF for c, d in chosen.items()
                               if d in Delivery.DIGESTS})
    else:
        set_preferences(user, {category: Delivery.OFF})
    return user, category


# --- queueing ------------------------------------------------------------------------------

# True inside `suppressed()`: events are recorded (in-app notifications too) but mail none.
_suppressed: ContextVar[bool] = ContextVar("emails_suppressed", default=False)


@contextmanager
def suppressed() -> Iterator[None]:
    """Queue no email in this context (the demo's backdated history: what ended months
    ago is not news to anyone)."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def _render(name: str, **context) -> tuple[str, str]:
    """(text, html) of `email/<name>.txt` and `email/<name>.html`."""
    context.setdefault("partnership", current_app.config.get("PARTNERSHIP_NAME", ""))
    context.setdefault("london_text", london_text)
    return (render_template(f"email/{name}.txt", **context).strip() + "\n",
            render_template(f"email/{name}.html", **context))


def queue_email(user: User, *, event_key: str, category: str, template: str,
                subject: str, deadline: datetime | None = None,
                proposal_id: int | None = None, **context) -> EmailMessage | None:
    """Queue the email `template` about `event_key` for `user` (once per pair).

    The template renders the item's body (`email/<template>.txt|html`); it is wrapped
    in the layout (greeting, footer, the category's unsubscribe link) here. Returns the
    row, or None when this user already has this event or has no usable address.
    """
    if user is None or not user.enabled or not user.email or _suppressed.get():
        return None
    event_key = event_key[:200]
    exists = db.session.execute(
        db.select(EmailMessage.id).where(EmailMessage.event_key == event_key,
                                         EmailMessage.user_id == user.id)
    ).first()
    if exists is not None:
        return None
    delivery = delivery_for(user.id, category)
    try:
        body_text, body_html = _render(template, user=user, deadline=deadline, **context)
        links = _links(user.id, category)
        text, html = _render("layout", user=user, subject=subject, body_text=body_text,
                             body_html=Markup(body_html), category=category,
                             category_label=EmailCategory.label(category), **links)
    except Exception:  # a broken template must not break the transition it reports
        log.exception("Could not render email %s for %s; not queued", template, event_key)
        return None
    status = (EmailStatus.PENDING if delivery == Delivery.IMMEDIATE
              else EmailStatus.SKIPPED if delivery == Delivery.OFF else EmailStatus.HELD)
    row = EmailMessage(
        event_key=event_key, user_id=user.id, category=category, status=status,
        to_address=user.email, subject=subject[:300], body_text=text, body_html=html,
        summary_text=body_text, summary_html=body_html, deadline=deadline,
        proposal_id=proposal_id, next_attempt_at=utcnow())
    db.session.add(row)
    db.session.flush()
    if status == EmailStatus.PENDING:
        db.session.info[_QUEUED] = current_app._get_current_object()
    return row


def _links(user_id: int, category: str) -> dict[str, str | None]:
    preferences = mail.absolute_url("notifications.email_preferences")
    if category == EmailCategory.ACCOUNT:
        return {"unsubscribe_url": None, "preferences_url": preferences}
    return {"unsubscribe_url": mail.absolute_url(
                "notifications.unsubscribe", token=unsubscribe_token(user_id, category)),
            "preferences_url": preferences}


# --- sending -------------------------------------------------------------------------------

def _headers(row: EmailMessage) -> dict[str, str]:
    headers = {"X-Common-Currency-Event": row.event_key}
    if row.category != EmailCategory.ACCOUNT:
        what = DIGEST if row.event_key.startswith("digest:") else row.category
        url = mail.absolute_url("notifications.unsubscribe",
                                token=unsubscribe_token(row.user_id, what))
        # RFC 8058 one-click: the mail client POSTs "List-Unsubscribe=One-Click" to it.
        headers["List-Unsubscribe"] = f"<{url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


def retry_delay(attempts: int) -> timedelta:
    base = int(current_app.config.get("EMAIL_RETRY_SECONDS", 60))
    return timedelta(seconds=min(base * 2 ** max(0, attempts - 1), 3600))


def fail_interrupted(now: datetime | None = None) -> int:
    """Rows left `sending` by a job that died: the server may have taken them, so they
    are marked failed rather than sent again (at most once)."""
    now = now or utcnow()
    result = db.session.execute(
        update(EmailMessage)
        .where(EmailMessage.status == EmailStatus.SENDING,
               EmailMessage.next_attempt_at < now - STALE_SENDING)
        .values(status=EmailStatus.FAILED,
                last_error="Interrupted while sending; not resent to avoid a duplicate.")
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount or 0


def deliver_due(now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Send every pending email that is due; commits after each one (a job's body).

    Returns counts of sent, retried and failed rows.
    """
    now = now or utcnow()
    counts = {"sent": 0, "retry": 0, "failed": 0, "interrupted": fail_interrupted(now)}
    max_attempts = int(current_app.config.get("EMAIL_MAX_ATTEMPTS", 6))
    ids = db.session.execute(
        db.select(EmailMessage.id)
        .where(EmailMessage.status == EmailStatus.PENDING, EmailMessage.next_attempt_at <= now)
        .order_by(EmailMessage.id).limit(limit)).scalars().all()
    db.session.commit()
    smtp = None  # one SMTP session for the batch, reopened after a failure
    try:
        for row_id in ids:
            smtp = _deliver_one(row_id, now, max_attempts, counts, smtp)
    finally:
        if smtp is not None:
            smtp.close()
    return counts


def _deliver_one(row_id: int, now: datetime, max_attempts: int, counts: dict, smtp):
    """Claim, send and record one row; returns the connection to use for the next."""
    claimed = db.session.execute(
        update(EmailMessage)
        .where(EmailMessage.id == row_id, EmailMessage.status == EmailStatus.PENDING)
        .values(status=EmailStatus.SENDING, attempts=EmailMessage.attempts + 1,
                next_attempt_at=now)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if claimed != 1:
        return smtp  # another job has it
    row = db.session.get(EmailMessage, row_id)
    db.session.refresh(row)
    try:
        if smtp is None:
            smtp = mail.connection()
            smtp.open()
        mail.send(row.to_address, row.subject, row.body_text, row.body_html, _headers(row),
                  over=smtp)
    except Exception as exc:  # any failure of the relay: retry later, never raise
        if smtp is not None:
            with suppress(Exception):  # already broken
                smtp.close()
            smtp = None
        db.session.rollback()
        row = db.session.get(EmailMessage, row_id)
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= max_attempts:
            row.status = EmailStatus.FAILED
            counts["failed"] += 1
            log.error("Email %s to user %s failed for good: %s", row.event_key,
                      row.user_id, row.last_error)
        else:
            row.status = EmailStatus.PENDING
            row.next_attempt_at = now + retry_delay(row.attempts)
            counts["retry"] += 1
            log.warning("Email %s to user %s failed (attempt %s), retrying at %s: %s",
                        row.event_key, row.user_id, row.attempts, row.next_attempt_at,
                        row.last_error)
        db.session.commit()
        return smtp
    row.status, row.sent_at, row.last_error = EmailStatus.SENT, utcnow(), ""
    if row.category == EmailCategory.ACCOUNT:
        # A password-reset link is a secret: keep no copy once it has left.
        row.body_text = row.body_html = row.summary_text = row.summary_html = ""
    db.session.commit()
    counts["sent"] += 1
    return smtp


# --- digests -------------------------------------------------------------------------------

def digest_due(now: datetime) -> tuple[str, ...]:
    """Which digests go out at `now`: daily after DIGEST_HOUR (London), weekly too on
    DIGEST_WEEKDAY. The digest's event key names the day: one digest per user a day."""
    local = london(now)
    if local.hour < int(current_app.config.get("DIGEST_HOUR", 7)):
        return ()
    if local.weekday() == int(current_app.config.get("DIGEST_WEEKDAY", 0)):
        return (Delivery.DAILY, Delivery.WEEKLY)
    return (Delivery.DAILY,)


def compose_digests(now: datetime | None = None) -> int:
    """Gather each user's held emails into one digest per user (deadlines first, soonest
    first; then the rest, oldest first) and queue it for sending. Held items of a
    category now turned off are skipped; of one now immediate, they join this digest.
    Flushes; the caller commits. Returns how many digests were queued."""
    now = now or utcnow()
    due = digest_due(now)
    if not due:
        return 0
    held = db.session.execute(
        db.select(EmailMessage).where(EmailMessage.status == EmailStatus.HELD)
        .order_by(EmailMessage.user_id, EmailMessage.id)).scalars().all()
    by_user: dict[int, list[EmailMessage]] = {}
    for row in held:
        delivery = delivery_for(row.user_id, row.category)
        if delivery == Delivery.OFF:
            row.status = EmailStatus.SKIPPED
        elif delivery == Delivery.IMMEDIATE or delivery in due:
            by_user.setdefault(row.user_id, []).append(row)
    queued = 0
    day = london(now).date().isoformat()
    already = set(db.session.execute(
        db.select(EmailMessage.user_id).where(EmailMessage.event_key == f"digest:{day}")
    ).scalars())
    for user_id, items in by_user.items():
        user = db.session.get(User, user_id)
        if user is None or not user.enabled or user_id in already:
            continue  # one digest a day: what came after today's waits for tomorrow's
        far = datetime.max
        items.sort(key=lambda r: (r.deadline is None, r.deadline or far, r.id))
        with_deadline = [r for r in items if r.deadline is not None]
        others = [r for r in items if r.deadline is None]
        count = len(items)
        subject = (f"Your {current_app.config.get('PARTNERSHIP_NAME', '')} digest: "
                   f"{count} update{'s' if count != 1 else ''}")
        text, html = _render("digest", user=user, subject=subject, deadlines=with_deadline,
                             others=others, Markup=Markup,
                             preferences_url=mail.absolute_url(
                                 "notifications.email_preferences"),
                             unsubscribe_url=mail.absolute_url(
                                 "notifications.unsubscribe",
                                 token=unsubscribe_token(user_id, DIGEST)))
        digest = EmailMessage(
            event_key=f"digest:{day}", user_id=user_id, category=EmailCategory.NEWS
            if all(r.category == EmailCategory.NEWS for r in items) else items[0].category,
            status=EmailStatus.PENDING, to_address=user.email, subject=subject[:300],
            body_text=text.strip() + "\n", body_html=html, next_attempt_at=now)
        db.session.add(digest)
        db.session.flush()
        for row in items:
            row.status, row.digest_id = EmailStatus.DIGESTED, digest.id
        queued += 1
        db.session.info[_QUEUED] = current_app._get_current_object()
    db.session.flush()
    return queued


# --- after commit: start a delivery job ------------------------------------------------------

THREADS: list[threading.Thread] = []


@event.listens_for(Session, "after_commit")
def _kick_delivery(session: Session) -> None:
    """A transaction that queued emails committed: have them sent soon, off the request
    (the job queue with REDIS_URL, else a thread of this process). EMAIL_DELIVERY
    "manual" leaves them to the scheduler's sweep (and the tests)."""
    app = session.info.pop(_QUEUED, None)
    if app is None or app.config.get("EMAIL_DELIVERY", "background") != "background":
        return
    queue = app.extensions.get("job_queue")
    if queue is not None:
        try:
            queue.enqueue_email_delivery()
            return
        except Exception:  # Redis away: the scheduler's sweep sends them later
            log.exception("Could not enqueue email delivery; sending from a thread")
    thread = threading.Thread(target=_deliver_in_thread, args=(app,), daemon=True,
                              name="email-delivery")
    THREADS[:] = [t for t in THREADS if t.is_alive()] + [thread]
    thread.start()


@event.listens_for(Session, "after_rollback")
def _forget_queued(session: Session) -> None:
    session.info.pop(_QUEUED, None)


def _deliver_in_thread(app) -> None:
    with app.app_context():
        try:
            deliver_due()
        except Exception:
            log.exception("Email delivery failed; the scheduler's sweep will retry")
        finally:
            db.session.remove()
