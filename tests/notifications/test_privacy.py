"""Every email template, rendered with two (and more) organisations' data, carries no
organisation's private fields (contact email and phone, internal notes): each event of
the product is driven through the real services and every message the SMTP server
received, and every stored outbox row, is searched for them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from flask import template_rendered

from app.auth.models import Role
from app.core.clock import frozen_clock
from app.extensions import db
from app.market.models import Listing, ListingKind, ListingStatus
from app.matching import services as matching
from app.notifications import account, outbox
from app.notifications.models import EmailMessage
from app.proposals import emails as proposal_emails
from app.proposals import services
from app.proposals.expiry import expire_due
from app.proposals.models import Proposal, ProposalStatus
from app.reporting.alerts import verify_and_alert
from tests.ledger.conftest import bypass_triggers
from tests.notifications.conftest import html_of, text_of

TEMPLATES = Path(__file__).resolve().parents[2] / "app/notifications/templates/email"
T0 = datetime(2026, 9, 1, 9, 0)


def secrets_of(org) -> list[str]:
    return [org.contact_email, org.contact_phone, org.internal_notes]


def test_no_email_carries_private_fields(app, market, propose, make_listing, make_user,
                                         client, smtp, deliver):
    orgs = market.orgs
    for n, (name, org) in enumerate(orgs.items()):
        org.contact_email = f"private-{name.lower()}@secret.example"
        org.contact_phone = f"0700 900 00{n}"
        org.internal_notes = f"INTERNAL NOTE OF {name}: do not share"
        org.contact_name = f"Contact {name}"
    db.session.commit()
    private = [value for org in orgs.values() for value in secrets_of(org)]
    rendered: set[str] = set()

    def record(sender, template, context, **extra):
        rendered.add(template.name)

    template_rendered.connect(record, app)
    try:
        _drive_every_event(market, propose, make_listing, make_user, client)
        sent = deliver()
    finally:
        template_rendered.disconnect(record, app)

    # Every template was used (so every one was searched); `_legs` are macros the
    # proposal templates import, so they render inside them.
    expected = {f"email/{path.name}" for path in TEMPLATES.iterdir()
                if not path.name.startswith("_")}
    assert expected <= rendered, expected - rendered
    assert len(sent) >= 25
    for message in sent:
        whole = "\n".join([str(message["Subject"]), text_of(message), html_of(message)])
        leaked = [value for value in private if value in whole]
        assert not leaked, (message["Subject"], leaked)
    for row in db.session.execute(db.select(EmailMessage)).scalars():
        whole = "\n".join([row.subject, row.body_text, row.body_html, row.summary_text,
                           row.summary_html])
        assert not [value for value in private if value in whole], row.event_key


def _listing(make_listing, org, kind, title):
    return make_listing(org, kind, quantity=10, title=title)


def _drive_every_event(market, propose, make_listing, make_user, client):
    a, b = market.orgs["A"], market.orgs["B"]
    coordinator = market.coordinator
    # A round with one exchange (A ↔ B): the coordinators' news.
    for listing in (market.offers["C"], market.needs["C"]):
        db.session.get(Listing, listing.id).status = ListingStatus.WITHDRAWN
    db.session.commit()
    with frozen_clock(T0):
        run = matching.start_run(coordinator, {"max_cycle": 2})
        db.session.commit()
    [proposal] = run.proposals
    # Its whole life: approve, reminders, agree, reminders, confirm, complete.
    with frozen_clock(T0):
        services.approve(coordinator, proposal.id)
        db.session.commit()
    proposal = db.session.get(Proposal, proposal.id)
    moment = proposal.accept_by - timedelta(days=2, hours=23)
    with frozen_clock(moment):
        assert proposal_emails.send_reminders(moment) == 2
        db.session.commit()
    for name in "AB":
        with frozen_clock(T0 + timedelta(hours=1)):
            services.accept(market.members[name], proposal.id)
            db.session.commit()
    proposal = db.session.get(Proposal, proposal.id)
    moment = proposal.deliver_by - timedelta(days=2, hours=23)
    with frozen_clock(moment):
        assert proposal_emails.send_reminders(moment) == 2
        db.session.commit()
    for leg in proposal.legs:
        member = market.members["A" if leg.receiver_id == a.id else "B"]
        with frozen_clock(T0 + timedelta(days=2)):
            services.confirm_leg(member, proposal.id, leg.id)
            db.session.commit()
    assert db.session.get(Proposal, proposal.id).status == ProposalStatus.COMPLETED

    def pair(tag):
        return propose([(_listing(make_listing, a, ListingKind.OFFER, f"A offers {tag}"),
                         _listing(make_listing, b, ListingKind.NEED, f"B needs {tag}"), 5),
                        (_listing(make_listing, b, ListingKind.OFFER, f"B offers {tag}"),
                         _listing(make_listing, a, ListingKind.NEED, f"A needs {tag}"), 5)])

    declined, cancelled, expired = pair("one"), pair("two"), pair("three")
    with frozen_clock(T0):
        for p in (declined, cancelled, expired):
            services.approve(coordinator, p.id)
            db.session.commit()
        services.decline(market.members["B"], declined.id, "No capacity this quarter.")
        services.cancel(coordinator, cancelled.id, "Paused by the board.")
        db.session.commit()
    with frozen_clock(T0 + timedelta(days=15)):
        assert expire_due() == [expired.id]
        db.session.commit()
    # Supersession: two proposals want all of one offer; approving one supersedes the other.
    offer = _listing(make_listing, a, ListingKind.OFFER, "A offers four")
    first = propose([(offer, _listing(make_listing, b, ListingKind.NEED, "B needs four"), 10),
                     (_listing(make_listing, b, ListingKind.OFFER, "B offers four"),
                      _listing(make_listing, a, ListingKind.NEED, "A needs four"), 10)])
    second = propose([(offer, _listing(make_listing, b, ListingKind.NEED, "B needs five"), 10),
                      (_listing(make_listing, b, ListingKind.OFFER, "B offers five"),
                       _listing(make_listing, a, ListingKind.NEED, "A needs five"), 10)])
    services.approve(coordinator, first.id)
    db.session.commit()
    assert db.session.get(Proposal, second.id).status == ProposalStatus.SUPERSEDED
    # The auditors' alert: someone changed an entry behind the ledger's back.
    bypass_triggers(["UPDATE ledger_entries SET quantity = 4 WHERE sequence = 1"])
    assert verify_and_alert()["alerted"] == 1
    db.session.commit()
    # A password reset, and the coordinators' digest of their news.
    assert account.send_password_reset(market.members["A"].email, "10.0.0.9")
    db.session.commit()
    with frozen_clock(datetime(2026, 10, 1, 8, 0)):
        assert outbox.compose_digests() >= 1
        db.session.commit()
    assert market.auditor.role == Role.AUDITOR
