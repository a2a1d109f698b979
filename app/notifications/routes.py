"""The notifications pages: a user's own messages, newest first, and marking them read.

Everyone logged in sees only their own notifications (the services check it).
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.core.errors import ServiceError
from app.core.limits import MAX_PAGE
from app.extensions import db
from app.notifications import services
from app.web.actions import attempt

bp = Blueprint("notifications", __name__, template_folder="templates")


@bp.get("/notifications")
@login_required
def index():
    page = max(1, min(request.args.get("page", 1, type=int) or 1, MAX_PAGE))
    result = db.paginate(services.notifications_for(current_user), page=page, per_page=20,
                         error_out=False)
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
