"""Pages of the ledger feature: the auditor's workspace and the trust pages.

Everything here is read-only except the coordinator's reversal form. Who sees
what is decided in the services (the API shares them):
* the workspace (ledger browse, entries, verification, exports, audit trail,
  exchange timelines) and the trust network: auditors, coordinators, admins;
* an organisation's trust page: its own members and those three roles see the
  full figures; members of other organisations see only its public reputation.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError

from app.api.ledger import stream_export
from app.auth.decorators import permission_required
from app.auth.models import Role, User
from app.core.errors import ServiceError
from app.core.paging import paginate
from app.extensions import db
from app.ledger import chain, services, trust
from app.ledger.drawing import network_svg, over_time_svg
from app.ledger.forms import ReverseForm
from app.ledger.models import EntryKind, LedgerEntry
from app.ledger.schemas import (
    LedgerFilterSchema,
    TransitionQuerySchema,
    VerifyQuerySchema,
    anchors_from,
)
from app.market.models import Currency, Organisation
from app.proposals.models import Proposal, ProposalStatus

bp = Blueprint("ledger", __name__, template_folder="templates")

READERS = services.READER_ROLES
MAX_PAGE = 100_000


def _actor() -> User:
    return current_user._get_current_object()


def _page() -> int:
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() and 0 < int(value) <= MAX_PAGE else 1


def _parse(schema, args: dict) -> tuple[dict, dict]:
    """(parsed arguments, errors). Unknown and empty arguments are ignored on pages."""
    known = {k: v for k, v in args.items()
             if v != "" and k in {f.data_key or name for name, f in schema.fields.items()}}
    try:
        return schema.load(known), {}
    except ValidationError as exc:
        return {}, exc.messages


def _filter_choices() -> dict:
    return {
        "organisations": db.session.execute(
            db.select(Organisation.id, Organisation.name).order_by(Organisation.name)).all(),
        "currencies": db.session.execute(
            db.select(Currency.code).order_by(Currency.code)).scalars().all(),
    }


@bp.get("/ledger/")
@permission_required("ledger.read_all")
def workspace():
    """Browse and filter the ledger (paged), with exports and verification."""
    raw = {k: v for k, v in request.args.items() if k != "page"}
    args, errors = _parse(LedgerFilterSchema(), raw)
    filters = services.LedgerFilter.from_args(args)
    statement = services.entries_statement(_actor(), filters)
    page = paginate(statement, _page(), current_app.config["PAGE_SIZE"])
    head = db.session.execute(
        db.select(db.func.max(LedgerEntry.sequence))).scalar_one()
    months = trust.exchanges_over_time_view(_actor())
    return render_template(
        "ledger/workspace.html", page=page, args=raw, errors=errors, filters=filters,
        head=head, EntryKind=EntryKind, months=months, over_time=over_time_svg(months),
        **_filter_choices(),
    ), (400 if errors else 200)


@bp.get("/ledger/entries/<int:sequence>")
@login_required
def entry(sequence: int):
    """One entry, its canonical encoding and hash; the reversal form for coordinators."""
    item = services.get_entry(_actor(), sequence)
    fields = chain.canonical_fields(item)
    return render_template(
        "ledger/entry.html", entry=item, canonical=chain.encode(fields).decode("ascii"),
        recomputed=chain.compute_hash(fields), reversal=services.reversal_of(sequence),
        reverses=services.get_entry(_actor(), item.reverses_sequence)
        if item.reverses_sequence else None,
        form=ReverseForm() if services.can_reverse(_actor()) else None,
        can_read=services.can_read_ledger(_actor()),
    )


@bp.post("/ledger/entries/<int:sequence>/reverse")
@permission_required("ledger.reverse")
def reverse(sequence: int):
    """A coordinator appends a reversing entry, with a reason."""
    form = ReverseForm()
    if not form.validate_on_submit():
        item = services.get_entry(_actor(), sequence)
        fields = chain.canonical_fields(item)
        return render_template(
            "ledger/entry.html", entry=item, canonical=chain.encode(fields).decode("ascii"),
            recomputed=chain.compute_hash(fields), reversal=services.reversal_of(sequence),
            reverses=None, form=form, can_read=True,
        ), 422
    try:
        created = services.reverse_entry(_actor(), sequence, form.reason.data)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        if exc.status in (403, 404):
            raise
        flash(exc.message, "error")
        return redirect(url_for("ledger.entry", sequence=sequence))
    flash(f"Entry {sequence} reversed by entry {created.sequence}.", "success")
    return redirect(url_for("ledger.entry", sequence=created.sequence))


@bp.get("/ledger/verify")
@permission_required("ledger.read_all")
def verify():
    """Verify the whole chain now and show the result (nothing is written)."""
    args, errors = _parse(VerifyQuerySchema(), dict(request.args))
    if errors:
        return render_template("ledger/verify.html", result=None, errors=errors,
                               anchor=request.args.get("anchor", "")), 400
    result = services.verify_ledger(_actor(), anchors=anchors_from(args))
    return render_template("ledger/verify.html", result=result, errors={},
                           anchor=args.get("anchor", ""))


@bp.get("/ledger/export.<any(json, csv):fmt>")
@permission_required("ledger.read_all")
def export(fmt: str):
    """The same streamed export as the API, for the workspace's buttons."""
    args, errors = _parse(LedgerFilterSchema(), dict(request.args))
    if errors:
        flash("The export filters are invalid: " + "; ".join(
            f"{k}: {' '.join(v)}" for k, v in errors.items()), "error")
        return redirect(url_for("ledger.workspace"))
    return stream_export(fmt, services.LedgerFilter.from_args(args))


@bp.get("/ledger/audit")
@permission_required("ledger.read_all")
def audit_trail():
    """Every proposal transition, newest first, filterable."""
    raw = {k: v for k, v in request.args.items() if k != "page"}
    args, errors = _parse(TransitionQuerySchema(), raw)
    args.pop("page", None)
    args.pop("per_page", None)
    statement = services.transitions_statement(_actor(), services.TransitionFilter.from_args(
        args))
    page = paginate(statement, _page(), current_app.config["PAGE_SIZE"])
    return render_template(
        "ledger/audit.html", page=page, args=raw, errors=errors,
        actions=services.transition_actions(), statuses=ProposalStatus.ALL,
        **_filter_choices(),
    ), (400 if errors else 200)


@bp.get("/ledger/exchanges/<int:proposal_id>")
@permission_required("ledger.read_all")
def timeline(proposal_id: int):
    """One exchange's whole story, oldest first."""
    story = services.exchange_timeline(_actor(), proposal_id)
    return render_template("ledger/timeline.html", timeline=story,
                           history=trust.history_for(
                               [p.organisation_id for p in story.proposal.participants]))


@bp.get("/ledger/exchanges")
@permission_required("ledger.read_all")
def find_exchange():
    """Jump to an exchange's timeline by proposal number."""
    value = request.args.get("proposal", "").strip().lstrip("#")
    if value.isdigit() and db.session.get(Proposal, int(value)) is not None:
        return redirect(url_for("ledger.timeline", proposal_id=int(value)))
    flash(f"No proposal {value!r}.", "error")
    return redirect(url_for("ledger.workspace"))


@bp.get("/trust/")
@login_required
def my_trust():
    """Members land on their own organisation's figures; other roles on the network."""
    actor = _actor()
    if actor.role == Role.MEMBER:
        return redirect(url_for("ledger.organisation_trust",
                                organisation_id=actor.organisation_id))
    return redirect(url_for("ledger.trust_network"))


@bp.get("/trust/organisations/<int:organisation_id>")
@login_required
def organisation_trust(organisation_id: int):
    """An organisation's trust figures (full or public, see the module docstring)."""
    actor = _actor()
    view = trust.trust_view(actor, organisation_id)
    entries = months = over_time = None
    if view["scope"] == "full":
        filters = services.LedgerFilter(organisation_id=organisation_id)
        entries = paginate(services.entries_statement(actor, filters), _page(),
                           current_app.config["PAGE_SIZE"])
        months = trust.exchanges_over_time_view(actor, organisation_id)
        over_time = over_time_svg(months, organisation=view["name"])
    return render_template("ledger/organisation.html", trust=view, entries=entries,
                           see_all=trust.sees_everything(actor), months=months,
                           over_time=over_time)


@bp.get("/trust/network")
@permission_required("ledger.read_all")
def trust_network():
    """Organisations as nodes, exchanges completed together as weighted edges."""
    network = trust.network()
    picture = network_svg(network, link=lambda org_id: url_for(
        "ledger.organisation_trust", organisation_id=org_id))
    return render_template("ledger/network.html", network=network, picture=picture)
