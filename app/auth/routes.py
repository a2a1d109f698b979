"""Pages of the auth feature: log in, log out, and the account page (password, API tokens).

Sessions: logging in clears the session first, so nothing from before
(including a planted one) survives; logging out, changing the password and
being disabled bump the user's session epoch, which the user loader checks,
so every older session and remember-me cookie stops working.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import reset, services, shown_once
from app.auth.forms import (
    ChangePasswordForm,
    ChooseNewPasswordForm,
    ForgotPasswordForm,
    LoginForm,
    TokenForm,
)
from app.core.errors import ServiceError
from app.core.limits import MIN_PASSWORD_LENGTH
from app.extensions import db
from app.notifications.account import send_password_reset
from app.web.actions import attempt
from app.web.security import no_store

bp = Blueprint("auth", __name__, template_folder="templates")

NEW_TOKEN_KEY = "new_api_token"
_UNSAFE_NEXT = re.compile(r"[\x00-\x1f\x7f\\]")


@bp.before_app_request
def _forget_cached_user() -> None:
    """Load the user afresh on every request.

    Flask-Login caches the user in `g`, which lives as long as the app context.
    Each request normally gets its own context, but a request made while one is
    already pushed (the tests, a CLI task) reuses it, and would otherwise see
    the user of an earlier request, even one from another browser.
    """
    g.pop("_login_user", None)


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None (no open redirects)."""
    if not target or len(target) > 2000 or _UNSAFE_NEXT.search(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _remember_cookie_present() -> bool:
    name = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    return name in request.cookies


def _start_session(user, remember: bool) -> None:
    # A new session: drop whatever the old one carried (including its CSRF token).
    session.clear()
    login_user(user, remember=remember)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    error = None
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data,
                                         request.remote_addr)
        except services.LoginRefused as exc:
            db.session.commit()  # keep the recorded failure: it is what the limit counts
            if exc.status == 429:
                return (render_template("errors/429.html", status=429, error=None,
                                        message=exc.message, retry_url=url_for("auth.login")),
                        429, {"Retry-After": str(exc.retry_after)})
            error, status = exc.message, exc.status
        else:
            _start_session(user, remember=bool(form.remember.data))
            db.session.commit()
            flash(f"Welcome, {user.name}.", "success")
            return redirect(safe_next(form.next.data) or url_for("main.index"))
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        services.end_sessions(current_user._get_current_object())
        db.session.commit()
    session.clear()
    logout_user()  # after clear(): it marks the remember-me cookie for deletion
    flash("You have logged out.", "info")
    return redirect(url_for("auth.login"))


def _render_account(password_form: ChangePasswordForm | None = None,
                    token_form: TokenForm | None = None, status: int = 200):
    new_token = None
    if NEW_TOKEN_KEY in session:
        new_token = shown_once.take(current_user._get_current_object(), NEW_TOKEN_KEY)
        db.session.commit()  # the held token is gone for good, shown or not
    if new_token:
        no_store()
    tokens = db.session.execute(
        services.tokens_query(current_user).limit(200)).scalars().all()
    return render_template(
        "auth/account.html",
        password_form=password_form or ChangePasswordForm(formdata=None),
        token_form=token_form or TokenForm(formdata=None),
        tokens=tokens,
        token_state=services.token_state,
        new_token=new_token,
        min_password_length=MIN_PASSWORD_LENGTH,
    ), status


@bp.get("/account")
@login_required
def account():
    return _render_account()


@bp.post("/account/password")
@login_required
def change_password():
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _render_account(password_form=form, status=422)
    user = current_user._get_current_object()
    outcome = attempt(lambda: services.set_password(
        user, user, form.new_password.data, current_password=form.current_password.data),
        form=form, catch=ServiceError)
    if not outcome.ok:
        return _render_account(password_form=form, status=outcome.error.status)
    # The epoch moved: every other session is now logged out; this one continues afresh.
    _start_session(user, remember=_remember_cookie_present())
    flash("Your password was changed. Your other sessions were logged out.", "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/tokens")
@login_required
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return _render_account(token_form=form, status=422)
    user = current_user._get_current_object()

    def issue_and_hold():
        token, raw = services.issue_api_token(user, form.name.data)
        # Shown once on the next page, then gone: only its hash is kept, and the clear
        # token waits server-side, sealed, never in the session cookie.
        shown_once.hold(user, NEW_TOKEN_KEY, {"name": token.name, "token": raw})
        return token

    outcome = attempt(issue_and_hold, form=form, catch=ServiceError)
    if not outcome.ok:
        return _render_account(token_form=form, status=outcome.error.status)
    return redirect(url_for("auth.account") + "#tokens")


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    attempt(lambda: services.revoke_api_token(current_user._get_current_object(), token_id),
            catch=(), success=lambda token: f"The token {token.name!r} was revoked.")
    return redirect(url_for("auth.account") + "#tokens")


# --- forgotten password --------------------------------------------------------------------

SENT_MESSAGE = ("If an account uses that email, we have sent it a link to choose a new "
                "password. The link works once, for {minutes} minutes.")


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    """Ask for a reset link. The answer is the same for known and unknown emails."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            send_password_reset(form.email.data, request.remote_addr)
        except services.LoginRefused as exc:
            db.session.commit()  # the counted request is what the limit counts
            return (render_template("errors/429.html", status=429, error=None,
                                    message=exc.message,
                                    retry_url=url_for("auth.forgot_password")),
                    429, {"Retry-After": str(exc.retry_after)})
        db.session.commit()
        minutes = int(reset.valid_for().total_seconds() // 60)
        return render_template("auth/forgot_password.html", form=None,
                               sent=SENT_MESSAGE.format(minutes=minutes))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/forgot_password.html", form=form, sent=None), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password through a live link; then log in with it."""
    no_store()
    try:
        reset.user_for_token(token)
    except ServiceError as exc:
        return render_template("auth/reset_password.html", form=None, error=exc.message), 410
    form = ChooseNewPasswordForm()
    if form.validate_on_submit():
        outcome = attempt(lambda: reset.complete_reset(token, form.password.data), form=form,
                          catch=ServiceError)
        if outcome.ok:
            # Every session of the account ended, this browser's too: log in afresh.
            session.clear()
            logout_user()
            flash("Your password was changed and every session of your account was logged "
                  "out. Log in with the new password.", "success")
            return redirect(url_for("auth.login"))
        return render_template("auth/reset_password.html", form=form, error=None), \
            outcome.error.status
    status = 422 if request.method == "POST" else 200
    return render_template("auth/reset_password.html", form=form, error=None), status
