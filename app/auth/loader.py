"""How Flask-Login finds the user behind a session or remember cookie.

The id stored in the cookie is "<user id>:<session epoch>"; a cookie whose
epoch is older than the user's (after logout, a password change or disabling)
no longer loads anyone.
"""

from __future__ import annotations

from sqlalchemy.orm import joinedload

from app.auth.models import User
from app.extensions import db, login_manager

login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see that page."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    user_part, _, epoch_part = user_id.partition(":")
    if not user_part.isdigit() or not epoch_part.isdigit():
        return None
    # The organisation in the same query: every page's header names it.
    user = db.session.get(User, int(user_part), options=[joinedload(User.organisation)])
    if user is None or not user.enabled or user.session_epoch != int(epoch_part):
        return None
    return user
