"""Access control for pages: who may open a view at all, read from the policy table.

Object-level checks ("is this listing my organisation's?") are the services' own
(`policy.require(actor, action, obj)`), so the API and the pages share them.
"""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from app.auth import policy


def permission_required(action: str):
    """Anonymous → login page; a role the policy refuses for `action` → 403."""
    policy.POLICY[action]  # an unknown action fails at import, not at the first request

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not policy.role_may(current_user, action):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
