"""Pages of the ledger: the auditor's workspace (browse, one entry, verification,
exports) and the coordinator's reversal form.

Who sees what is decided in the services (the API shares them): the workspace,
verification and exports need the policy's "ledger.read_all"; a member reads one
entry their organisation gave or received; reversals need "ledger.reverse". The
trust pages, audit trail and timelines are `app.reporting.routes`.

`stream_export` is the streamed download both these pages and the API serve.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required
from marshmallow import ValidationError

from app.auth.decorators import permission_required
from app.auth.models import User
from app.core.errors import Conflict, Invalid
from app.core.limits import MAX_PAGE
from app.core.paging import paginate
from app.extensions import db
from app.ledger import chain, services
from app.ledger.forms import ReverseForm
from app.ledger.models import EntryKind, LedgerEntry
from app.ledger.schemas import LedgerFilterSchema, VerifyQuerySchema, anchors_from
from app.market.models import Currency, Organisation
from app.reporting.audit import verify_ledger
from app.reporting.drawing import over_time_svg
from app.reporting.over_time import exchanges_over_time_view
from app.web.actions import attempt

bp = Blueprint("ledger", __name__, template_folder="templates")


def stream_export(fmt: str, filters: services.LedgerFilter) -> Response:
    """A streamed download of the ledger (JSON or CSV), shared by these pages and the API.

    The first chunk is produced before the response starts, so the access check
    (and any refusal) happens while an error can still be answered.
    """
    producer = services.export_json if fmt == "json" else services.export_csv
    chunks = producer(current_user, filters)
    first = next(chunks)  # runs the access check before the response starts
    mimetype = "application/json" if fmt == "json" else "text/csv"

    def body():
        yield first
        yield from chunks

    response = Response(stream_with_context(body()), mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{services.export_filename(filters, fmt)}"')
    response.headers["Cache-Control"] = "no-store"
    return response


def _actor() -> User:
    return current_user._get_current_object()


def current_page() -> int:
    """The `page` query argument of a page view (1 when absent or out of range)."""
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() and 0 < int(value) <= MAX_PAGE else 1


def parse_args(schema, args: dict) -> tuple[dict, dict]:
    """(parsed arguments, errors). Unknown and empty arguments are ignored on pages."""
    known = {k: v for k, v in args.items()
             if v != "" and k in {f.data_key or name for name, f in schema.fields.items()}}
    try:
        return schema.load(known), {}
    except ValidationError as exc:
        return {}, exc.messages


def filter_choices() -> dict:
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
    args, errors = parse_args(LedgerFilterSchema(), raw)
    filters = services.LedgerFilter.from_args(args)
    statement = services.entries_statement(_actor(), filters)
    page = paginate(statement, current_page(), current_app.config["PAGE_SIZE"], clamp=True)
    head = db.session.execute(
        db.select(db.func.max(LedgerEntry.sequence))).scalar_one()
    months = exchanges_over_time_view(_actor())
    return render_template(
        "ledger/workspace.html", page=page, args=raw, errors=errors, filters=filters,
        head=head, EntryKind=EntryKind, months=months, over_time=over_time_svg(months),
        **filter_choices(),
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
    # A refusal for the entry's state is flashed; 403 and 404 become error pages.
    outcome = attempt(lambda: services.reverse_entry(_actor(), sequence, form.reason.data),
                      catch=(Conflict, Invalid),
                      success=lambda created: f"Entry {sequence} reversed by entry "
                                              f"{created.sequence}.")
    if not outcome.ok:
        return redirect(url_for("ledger.entry", sequence=sequence))
    return redirect(url_for("ledger.entry", sequence=outcome.value.sequence))


@bp.get("/ledger/verify")
@permission_required("ledger.read_all")
def verify():
    """Verify the whole chain now and show the result (nothing is written)."""
    args, errors = parse_args(VerifyQuerySchema(), dict(request.args))
    if errors:
        return render_template("ledger/verify.html", result=None, errors=errors,
                               anchor=request.args.get("anchor", "")), 400
    result = verify_ledger(_actor(), anchors=anchors_from(args))
    return render_template("ledger/verify.html", result=result, errors={},
                           anchor=args.get("anchor", ""))


@bp.get("/ledger/export.<any(json, csv):fmt>")
@permission_required("ledger.read_all")
def export(fmt: str):
    """The same streamed export as the API, for the workspace's buttons."""
    args, errors = parse_args(LedgerFilterSchema(), dict(request.args))
    if errors:
        flash("The export filters are invalid: " + "; ".join(
            f"{k}: {' '.join(v)}" for k, v in errors.items()), "error")
        return redirect(url_for("ledger.workspace"))
    return stream_export(fmt, services.LedgerFilter.from_args(args))
