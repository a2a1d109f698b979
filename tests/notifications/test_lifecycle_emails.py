"""The emails each role receives along an exchange's life, through the real services
and a real SMTP server: approve → accept → confirm → complete, and decline, cancel,
expiry and supersession."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from app.auth.models import Role
from app.core.clock import frozen_clock
from app.extensions import db
from app.notifications.models import EmailMessage, EmailStatus, Notification
from app.notifications.outbox import london_text
from app.proposals import services
from app.proposals.expiry import expire_due
from app.proposals.models import Proposal, ProposalStatus
from tests.notifications.conftest import html_of, text_of

BASE = "https://cc.example.org"
# Monday 2 November 2026, 10:00 UTC (GMT: London is UTC+0 in winter); in the past, so
# what the frozen clock queued is due for the delivery job at the real time.
T0 = datetime(2026, 11, 2, 10, 0)


def approve(market, cycle) -> Proposal:
    with frozen_clock(T0):
        proposal = services.approve(market.coordinator, cycle.id)
        db.session.commit()
    return proposal


def accept_all(market, proposal_id):
    for name in "ABC":
        with frozen_clock(T0 + timedelta(hours=1)):
            services.accept(market.members[name], proposal_id)
            db.session.commit()


def test_full_lifecycle_mails_each_participant_its_own_side(market, cycle, smtp, deliver):
    approve(market, cycle)
    sent = deliver()
    # One email per member of each participating organisation; none to D or staff.
    assert sorted(m.recipients[0] for m in sent) == sorted(
        market.members[n].email for n in "ABC")
    mail_a = smtp.to(market.members["A"].email)[0]
    assert str(mail_a["Subject"]) == f"Action needed: Org A is asked to accept exchange #{cycle.id}"
    text = text_of(mail_a)
    # What A gives (to B), what A gets (from C), the deadline in London time, one link.
    assert "What Org A gives:\n  - 5 staff-days of Staff time to Org B" in text
    assert "What Org A gets:\n  - 5 staff-days of Staff time from Org C" in text
    assert "Accept or decline by Monday 16 November 2026, 10:00 (UK time)" in text
    assert f"{BASE}/proposals/{cycle.id}" in text
    assert "Test Partnership" in text  # the partnership is named
    html = html_of(mail_a)
    assert f'href="{BASE}/proposals/{cycle.id}"' in html and "<strong>What Org A gives" in html
    assert smtp.to(market.members["D"].email) == []
    assert smtp.to(market.coordinator.email) == []

    accept_all(market, cycle.id)
    sent = deliver()
    assert sorted(str(m["Subject"]) for m in sent) == sorted(
        f"Exchange #{cycle.id} is agreed: what Org {n} delivers and receives" for n in "ABC")
    agreed_b = text_of(smtp.to(market.members["B"].email)[-1])
    deliver_by = db.session.get(Proposal, cycle.id).deliver_by
    assert f"Deliver by {london_text(deliver_by)}." in agreed_b
    assert "confirm receipt" in agreed_b

    proposal = db.session.get(Proposal, cycle.id)
    for leg in proposal.legs:
        receiver = next(m for m in market.members.values() if m.organisation_id == leg.receiver_id)
        with frozen_clock(T0 + timedelta(days=2)):
            services.confirm_leg(receiver, cycle.id, leg.id)
            db.session.commit()
    assert db.session.get(Proposal, cycle.id).status == ProposalStatus.COMPLETED
    sent = deliver()
    assert len(sent) == 3
    done_c = text_of(smtp.to(market.members["C"].email)[-1])
    assert f"Exchange #{cycle.id}" in done_c and "recorded in the ledger" in done_c
    # C's own ledger entries only: it gave to A and received from B.
    assert re.search(r"#\d+: gave 5 staff to Org A, value 500.00 credits", done_c)
    assert re.search(r"#\d+: received 5 staff from Org B, value 500.00 credits", done_c)
    assert "Org B to" not in done_c  # not B's own line (B gave to C is C's "received")
    # The in-app notifications are all still there beside the emails.
    assert db.session.query(Notification).filter_by(user_id=market.members["A"].id).count() >= 3
    # Every email went out exactly once.
    assert len(smtp.messages) == 9
    assert deliver() == []


def test_decline_tells_the_others_why_and_not_the_decliner(market, cycle, smtp, deliver):
    approve(market, cycle)
    deliver()
    with frozen_clock(T0 + timedelta(hours=2)):
        services.decline(market.members["B"], cycle.id, "No staff free in January.")
        db.session.commit()
    sent = deliver()
    assert sorted(m.recipients[0] for m in sent) == sorted(
        [market.members["A"].email, market.members["C"].email])
    text = text_of(sent[0])
    assert str(sent[0]["Subject"]) == f"Exchange #{cycle.id} was declined"
    assert "Why: Org B declined it: No staff free in January." in text


def test_cancel_tells_every_participant(market, cycle, smtp, deliver):
    approve(market, cycle)
    deliver()
    services.cancel(market.coordinator, cycle.id, "The partnership board paused staff swaps.")
    db.session.commit()
    sent = deliver()
    assert sorted(m.recipients[0] for m in sent) == sorted(
        market.members[n].email for n in "ABC")
    assert all("A coordinator cancelled it: The partnership board paused staff swaps."
               in text_of(m) for m in sent)


def test_expiry_mails_participants_at_once_and_coordinators_in_their_digest(
        market, cycle, smtp, deliver, make_user):
    other = make_user(Role.COORDINATOR)
    approve(market, cycle)
    deliver()
    with frozen_clock(T0 + timedelta(days=14, minutes=1)):
        assert expire_due() == [cycle.id]
        db.session.commit()
    sent = deliver()
    assert sorted(m.recipients[0] for m in sent) == sorted(
        market.members[n].email for n in "ABC")
    assert "Why: The acceptance deadline (16 Nov 2026) passed." in text_of(sent[0])
    # Coordinators' news ("stalled") defaults to the daily digest: held, not sent.
    held = db.session.execute(db.select(EmailMessage).where(
        EmailMessage.user_id == market.coordinator.id)).scalar_one()
    assert held.status == EmailStatus.HELD
    assert "waited on Org A, Org B, Org C" in held.summary_text
    # In-app: the approver has "expired"; every other coordinator "stalled".
    [note] = db.session.execute(db.select(Notification.message).where(
        Notification.user_id == other.id)).scalars().all()
    assert note == (f"Exchange #{cycle.id} stalled: its acceptance deadline passed while it "
                    "waited on Org A, Org B, Org C.")


def test_superseded_proposals_are_told_why(market, cycle, propose, smtp, deliver):
    rival = propose([(market.offers["A"], market.needs["B"], 10),
                     (market.offers["B"], market.needs["A"], 10)])
    approve(market, cycle)  # takes 5 of A's 10: the rival's 10 can no longer be given
    assert db.session.get(Proposal, rival.id).status == ProposalStatus.SUPERSEDED
    sent = deliver()
    superseded = [m for m in sent if str(m["Subject"]) == f"Exchange #{rival.id} was superseded"]
    assert sorted(m.recipients[0] for m in superseded) == sorted(
        [market.members["A"].email, market.members["B"].email])
    assert f"Proposal #{cycle.id} was approved and reserved listing" in text_of(superseded[0])
    notes = db.session.execute(db.select(Notification.message).where(
        Notification.proposal_id == rival.id)).scalars().all()
    assert len(notes) == 2 and "superseded" in notes[0]
