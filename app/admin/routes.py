"""Administration pages (admins only): the landing page and user management.

Organisation, currency and market-settings pages belong to the market
feature; the landing page links to them when their endpoints exist.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from app.auth import services, shown_once
from app.auth.decorators import permission_required
from app.auth.forms import ResetPasswordForm, UserCreateForm, UserEditForm
from app.auth.models import ApiToken, Role, User
from app.core.clock import utcnow
from app.core.errors import ServiceError
from app.core.limits import MAX_ID, MAX_PAGE
from app.core.paging import paginate
from app.extensions import db
from app.market import organisations as organisation_rules
from app.web.actions import attempt
from app.web.security import no_store

bp = Blueprint("admin", __name__, template_folder="templates", url_prefix="/admin")

NEW_PASSWORD_KEY = "admin_new_password"

# The market feature's admin pages, by the endpoint names they may carry; the first
# registered one is linked, and a card whose endpoints are all missing is not shown.
MARKET_LINKS = (
    ("Organisations", "Partner organisations: profiles, areas, exclusions.",
     ("market.organisations", "market.admin_organisations")),
    ("Currencies", "Staff, jobs, training, premises… and their exchange values.",
     ("market.currencies", "admin.currencies", "market.admin_currencies")),
    ("Market settings", "Cycle and chain lengths, fairness threshold, time limits.",
     ("market.settings", "market.market_settings", "admin.market_settings",
      "market.admin_settings")),
)


def _organisations():
    return organisation_rules.all_organisations()


def _chosen_organisation(form):
    """The organisation picked on a user form (None for none); Invalid when unknown."""
    chosen = form.organisation_id()
    return organisation_rules.find_organisation(organisation_id=chosen) if chosen else None


def _actor():
    return current_user._get_current_object()


def _int_arg(name: str, *, lo: int = 1, hi: int = MAX_ID) -> int | None:
    value = request.args.get(name, "").strip()
    if not value.isdigit() or len(value) > 10:
        return None
    number = int(value)
    return number if lo <= number <= hi else None


@bp.get("/")
@permission_required("user.manage")
def index():
    counts = dict(db.session.execute(
        db.select(User.role, db.func.count(User.id)).group_by(User.role)).all())
    disabled = db.session.execute(
        db.select(db.func.count(User.id)).where(User.enabled.is_(False))).scalar_one()
    links = []
    for title, blurb, endpoints in MARKET_LINKS:
        url = next((u for u in (_nav(e) for e in endpoints) if u), None)
        if url:
            links.append((title, blurb, url))
    return render_template("admin/index.html", counts=counts, disabled=disabled,
                           market_links=links)


def _nav(endpoint: str) -> str | None:
    return url_for(endpoint) if endpoint in current_app.view_functions else None


@bp.get("/users")
@permission_required("user.manage")
def users():
    filters = {
        "q": request.args.get("q", "").strip()[:100],
        "role": request.args.get("role", "") if request.args.get("role") in Role.ALL else "",
        "organisation": _int_arg("organisation"),
        "status": request.args.get("status", "") if request.args.get("status") in (
            "enabled", "disabled") else "",
    }
    statement = services.users_query(
        _actor(), text=filters["q"], role=filters["role"] or None,
        organisation_id=filters["organisation"],
        enabled={"enabled": True, "disabled": False}.get(filters["status"]))
    page = paginate(statement, _int_arg("page", hi=MAX_PAGE) or 1,
                    int(current_app.config.get("PAGE_SIZE", 20)), clamp=True)
    args = {k: v for k, v in filters.items() if v}
    return render_template("admin/users.html", page=page, filters=filters, args=args,
                           organisations=_organisations())


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required("user.manage")
def create_user():
    form = UserCreateForm()
    form.set_organisations(_organisations())
    status = 200
    if form.validate_on_submit():
        password = form.password.data or services.generate_password()

        def create_and_hold():
            user = services.create_user(
                _actor(), email=form.email.data, name=form.name.data, role=form.role.data,
                organisation=_chosen_organisation(form), password=password)
            if not form.password.data:
                # Shown once on the next page: held server-side, sealed, never in the
                # session cookie; the account itself keeps only the hash.
                shown_once.hold(_actor(), NEW_PASSWORD_KEY,
                                {"user_id": user.id, "password": password})
            return user

        outcome = attempt(create_and_hold, form=form, catch=ServiceError)
        if not outcome.ok:
            status = outcome.error.status
        else:
            user = outcome.value
            flash(f"Account {user.email} created.", "success")
            return redirect(url_for("admin.edit_user", user_id=user.id))
    elif request.method == "POST":
        status = 422
        _add_service_problems(form)
    return render_template("admin/user_new.html", form=form), status


def _add_service_problems(form: UserCreateForm) -> None:
    """The form's own checks failed, so the service was not asked: ask it now what
    else is wrong (writing nothing), so every problem shows at once. A field the
    form already faults keeps the form's message only."""
    try:
        organisation = None if form.organisation.errors else _chosen_organisation(form)
    except (ServiceError, ValueError):
        organisation = None
    problems = services.new_user_problems(
        email=form.email.data, name=form.name.data, role=form.role.data,
        organisation=organisation, password=form.password.data or None)
    for name, messages in problems.items():
        field = form._fields.get(name)
        if field is not None and not field.errors:
            field.errors = list(messages)


def _render_edit(user: User, form: UserEditForm | None = None,
                 password_form: ResetPasswordForm | None = None, status: int = 200):
    if form is None:
        form = UserEditForm(formdata=None, obj=user)
        form.organisation.data = str(user.organisation_id or "")
    form.set_organisations(_organisations())
    now = utcnow()
    live_tokens = db.session.execute(
        db.select(db.func.count(ApiToken.id)).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None),
            db.or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))
    ).scalar_one()
    new_password = None
    if NEW_PASSWORD_KEY in session:
        new_password = shown_once.take(_actor(), NEW_PASSWORD_KEY)
        db.session.commit()  # the held password is gone for good, shown or not
        if new_password and new_password.get("user_id") != user.id:
            new_password = None
    if new_password:
        no_store()
    return render_template(
        "admin/user_edit.html", user=user, form=form,
        password_form=password_form or ResetPasswordForm(formdata=None),
        live_tokens=live_tokens, new_password=new_password,
        is_self=user.id == current_user.id), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@permission_required("user.manage")
def edit_user(user_id: int):
    user = services.get_user(_actor(), user_id)
    if request.method == "GET":
        return _render_edit(user)
    form = UserEditForm()
    form.set_organisations(_organisations())
    if not form.validate_on_submit():
        return _render_edit(user, form=form, status=422)
    outcome = attempt(lambda: services.update_user(
        _actor(), user, name=form.name.data, role=form.role.data,
        organisation=_chosen_organisation(form), enabled=form.enabled.data),
        form=form, catch=ServiceError, success=f"Account {user.email} saved.")
    if not outcome.ok:
        return _render_edit(db.session.get(User, user_id), form=form,
                            status=outcome.error.status)
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.post("/users/<int:user_id>/password")
@permission_required("user.manage")
def reset_password(user_id: int):
    user = services.get_user(_actor(), user_id)
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        return _render_edit(user, password_form=form, status=422)
    outcome = attempt(lambda: services.set_password(
        _actor(), user, form.password.data, revoke_tokens=bool(form.revoke_tokens.data)),
        form=form, catch=ServiceError,
        success=f"The password of {user.email} was reset and their sessions ended"
                + (" and API tokens revoked." if form.revoke_tokens.data else "."))
    if not outcome.ok:
        return _render_edit(db.session.get(User, user_id), password_form=form,
                            status=outcome.error.status)
    return redirect(url_for("admin.edit_user", user_id=user.id))
