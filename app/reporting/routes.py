"""Pages of reporting: the trust pages, the audit trail and exchange timelines.

Read-only. Who sees what is decided in the services (the API shares them):
* the audit trail, exchange timelines and the trust network: auditors,
  coordinators, admins (the policy's "ledger.read_all");
* an organisation's trust page: its own members and those three roles see the
  full figures; members of other organisations see only its public reputation.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.auth import admin_log
from app.auth.decorators import permission_required
from app.auth.models import AdminActionKind
from app.auth.policy import role_may
from app.core.paging import paginate
from app.extensions import db
from app.ledger import services as ledger
from app.ledger.routes import current_page, filter_choices, parse_args
from app.proposals.models import Proposal, ProposalStatus
from app.reporting import audit, over_time, trust
from app.reporting.drawing import network_svg, over_time_svg
from app.reporting.schemas import AdminActionQuerySchema, TransitionQuerySchema

bp = Blueprint("reporting", __name__, template_folder="templates")


def _actor():
    return current_user._get_current_object()


def _filtered_page(schema, statement_for):
    """A filtered list page's rows: the query string checked by `schema` (errors shown
    above an unfiltered list, answered 400), `statement_for(args)` paged."""
    raw = {k: v for k, v in request.args.items() if k != "page"}
    args, errors = parse_args(schema, raw)
    args.pop("page", None)
    args.pop("per_page", None)
    page = paginate(statement_for(args), current_page(), current_app.config["PAGE_SIZE"],
                    clamp=True)
    return {"page": page, "args": raw, "errors": errors}, (400 if errors else 200)


@bp.get("/ledger/audit")
@permission_required("ledger.read_all")
def audit_trail():
    """Every proposal transition, newest first, filterable."""
    listing, status = _filtered_page(TransitionQuerySchema(), lambda args: (
        audit.transitions_statement(_actor(), audit.TransitionFilter.from_args(args))))
    return render_template(
        "reporting/audit.html", actions=audit.transition_actions(),
        statuses=ProposalStatus.ALL, **listing, **filter_choices()), status


@bp.get("/ledger/admin-actions")
@permission_required("admin_log.read")
def admin_actions():
    """The audit log of administrative actions, newest first, filterable."""
    listing, status = _filtered_page(AdminActionQuerySchema(), lambda args: (
        admin_log.actions_statement(_actor(), admin_log.AdminActionFilter.from_args(args))))
    return render_template(
        "reporting/admin_actions.html", actions=AdminActionKind.choices(),
        targets=admin_log.TARGET_LABELS, action_label=AdminActionKind.label, **listing), status


@bp.get("/ledger/exchanges/<int:proposal_id>")
@permission_required("ledger.read_all")
def timeline(proposal_id: int):
    """One exchange's whole story, oldest first."""
    story = audit.exchange_timeline(_actor(), proposal_id)
    return render_template("reporting/timeline.html", timeline=story,
                           history=trust.history_for(
                               [p.organisation_id for p in story.proposal.participants]))


@bp.get("/ledger/exchanges")
@permission_required("ledger.read_all")
def find_exchange():
    """Jump to an exchange's timeline by proposal number."""
    value = request.args.get("proposal", "").strip().lstrip("#")
    if value.isdigit() and db.session.get(Proposal, int(value)) is not None:
        return redirect(url_for(".timeline", proposal_id=int(value)))
    flash(f"No proposal {value!r}.", "error")
    return redirect(url_for("ledger.workspace"))


@bp.get("/trust/")
@login_required
def my_trust():
    """Members land on their own organisation's figures; other roles on the network."""
    actor = _actor()
    if role_may(actor, "organisation.own"):
        return redirect(url_for(".organisation_trust", organisation_id=actor.organisation_id))
    return redirect(url_for(".trust_network"))


@bp.get("/trust/organisations/<int:organisation_id>")
@login_required
def organisation_trust(organisation_id: int):
    """An organisation's trust figures (full or public, see the module docstring)."""
    actor = _actor()
    view = trust.trust_view(actor, organisation_id)
    entries = months = over_time_picture = None
    if view["scope"] == "full":
        filters = ledger.LedgerFilter(organisation_id=organisation_id)
        entries = paginate(ledger.entries_statement(actor, filters), current_page(),
                           current_app.config["PAGE_SIZE"])
        months = over_time.exchanges_over_time_view(actor, organisation_id)
        over_time_picture = over_time_svg(months, organisation=view["name"])
    return render_template("reporting/organisation.html", trust=view, entries=entries,
                           see_all=trust.sees_everything(actor), months=months,
                           over_time=over_time_picture)


@bp.get("/trust/network")
@permission_required("ledger.read_all")
def trust_network():
    """Organisations as nodes, exchanges completed together as weighted edges."""
    network = trust.network()
    ranked = sorted(network.nodes, key=lambda node: (-node[2], node[1]))
    partners: dict[int, int] = {}
    for pair in network.edges:
        partners[pair.a_id] = partners.get(pair.a_id, 0) + 1
        partners[pair.b_id] = partners.get(pair.b_id, 0) + 1
    return render_template("reporting/network.html", network=network,
                           picture=network_svg(network), ranked=ranked, partners=partners)
