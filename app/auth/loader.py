"""How Flask-Login finds the user behind a session or remember cookie.

The id stored in the cookie is "<user id>:<session epoch>"; a cookie whose
epoch is older than the user's (after logout, a password change or disabling)
no longer loads anyone.

Every page asks for its user, so the user's row and its organisation's are kept in
memory (`app.core.read_cache`) under the *users* version, which any change to the users
table raises before it commits (the market package adds the organisations table: the
header names the organisation). A cookie is therefore refused at the next request after
a logout, a password change or disabling, in every process, as before; a change made
outside the application (psql) is seen within `read_cache.MAX_AGE_SECONDS`. The rows are
kept as plain values and put into the request's session without a query.
"""

from __future__ import annotations

import copy

from sqlalchemy import inspect
from sqlalchemy.orm import joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app.auth.models import ApiToken, User
from app.core import read_cache
from app.extensions import db, login_manager

login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see that page."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"

#: The signed-in user's kept rows (users and API tokens here; organisations are added by
#: the market package).
USERS = read_cache.watch("users", User, ApiToken)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    user_part, _, epoch_part = user_id.partition(":")
    if not user_part.isdigit() or not epoch_part.isdigit():
        return None
    kept = read_cache.remember(USERS, ("user", int(user_part)),
                               lambda: _read_user(int(user_part)))
    user = None if kept is None else attach_user(kept)
    if user is None or not user.enabled or user.session_epoch != int(epoch_part):
        return None
    return user


def _read_user(user_id: int) -> tuple | None:
    # The organisation in the same query: every page's header names it.
    user = db.session.get(User, user_id, options=[joinedload(User.organisation)])
    return None if user is None else user_values(user)


def user_values(user: User) -> tuple[dict, dict | None]:
    """What is kept of a loaded user: its column values and its organisation's."""
    organisation = user.organisation
    return column_values(user), (None if organisation is None else column_values(organisation))


def attach_user(kept: tuple[dict, dict | None]) -> User:
    """The kept user (`user_values`) in this request's session, as if just loaded with its
    organisation: no query, nothing marked changed."""
    return db.session.merge(detached_user(kept), load=False)


def token_values(token: ApiToken) -> tuple[dict, tuple[dict, dict | None]]:
    """What is kept of a loaded API token: its column values and its user's."""
    return column_values(token), user_values(token.user)


def attach_token(kept: tuple[dict, tuple[dict, dict | None]]) -> ApiToken:
    """The kept token (`token_values`) in this request's session with its user, as
    `attach_user` does for a user."""
    token = detached(ApiToken, kept[0])
    set_committed_value(token, "user", detached_user(kept[1]))
    return db.session.merge(token, load=False)


def detached_user(kept: tuple[dict, dict | None]) -> User:
    user = detached(User, kept[0])
    if kept[1] is not None:
        organisation = detached(User.organisation.property.mapper.class_, kept[1])
        # Set as loaded, without the back-reference: the organisation's users are not
        # known here and are read if asked for.
        set_committed_value(user, "organisation", organisation)
    return user


def column_values(row) -> dict:
    return {column.key: getattr(row, column.key) for column in inspect(row).mapper.column_attrs}


def detached(model, values: dict):
    """An instance of `model` holding `values` (copied: a list changed in place must not
    change the kept one) as a detached row, ready for `Session.merge(load=False)`."""
    row = model(**copy.deepcopy(values))
    make_transient_to_detached(row)
    return row
