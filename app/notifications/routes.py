"""The notifications pages: a user's own messages, newest first, and marking them read.

Everyone logged in sees only their own notifications (the services check it).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.core.errors import ServiceError
from app.core.limits import MAX_PAGE
from app.core.paging import paginate
from app.extensions import csrf, db
from app.notifications import outbox, services
from app.notifications.models import Delivery, EmailCategory
from app.web.actions import attempt
from app.web.security import no_store

bp = Blueprint("notifications", __name__, template_folder="templates")


@bp.get("/notifications")
@login_required
def index():
    page = max(1, min(request.args.get("page", 1, type=int) or 1, MAX_PAGE))
    result = paginate(services.notifications_for(current_user), page, 20, clamp=True)
    return render_template("notifications/index.html", page=result,
                           unread=services.unread_count(current_user))


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def read(notification_id: int):
    # CSRFProtect has checked the token before the view runs.
    try:
        note = services.mark_read(current_user, notification_id)
    except ServiceError as exc:
        db.session.rollback()
        abort(exc.status)
    db.session.commit()
    if request.form.get("open") and note.proposal_id:
        return redirect(url_for("proposals.detail", proposal_id=note.proposal_id))
    return redirect(url_for(".index"))


@bp.post("/notifications/read-all")
@login_required
def read_all():
    attempt(lambda: services.mark_all_read(current_user),
            success=lambda count: f"Marked {count} notification(s) read.")
    return redirect(url_for(".index"))


@bp.route("/notifications/email", methods=["GET", "POST"])
@login_required
def email_preferences():
    """Per category: immediately, daily digest, weekly digest or off."""
    user = current_user._get_current_object()
    if request.method == "POST":
        # CSRFProtect has checked the token before the view runs.
        choices = {category: request.form.get(category, "")
                   for category in EmailCategory.CHOOSABLE}
        outcome = attempt(lambda: outbox.set_preferences(user, choices),
                          success="Your email preferences were saved.")
        if outcome.ok:
            return redirect(url_for(".email_preferences"))
        return render_template("notifications/email_preferences.html", choices=choices,
                               EmailCategory=EmailCategory, Delivery=Delivery), 422
    return render_template("notifications/email_preferences.html",
                           choices=outbox.preferences_for(user),
                           EmailCategory=EmailCategory, Delivery=Delivery)


@bp.route("/notifications/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the authority; mail clients POST without a form (RFC 8058)
def unsubscribe(token: str):
    """GET: a page with one button (link scanners prefetch GETs, so GET changes nothing).
    POST (the button, or a mail client's List-Unsubscribe-Post): turn the category off."""
    no_store()
    if request.method == "GET":
        try:
            user_id, category = outbox.read_unsubscribe_token(token)
        except ServiceError as exc:
            return render_template("notifications/unsubscribe.html", error=exc.message,
                                   done=False, label=None), 400
        return render_template("notifications/unsubscribe.html", error=None, done=False,
                               label=outbox.category_label(category))
    try:
        _, category = outbox.unsubscribe(token)
    except ServiceError as exc:
        db.session.rollback()
        return render_template("notifications/unsubscribe.html", error=exc.message,
                               done=False, label=None), 400
    db.session.commit()
    flash("You are unsubscribed.", "success")
    return render_template("notifications/unsubscribe.html", error=None, done=True,
                           label=outbox.category_label(category))
