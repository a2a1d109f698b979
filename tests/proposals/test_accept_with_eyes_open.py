"""Dead ends fixed on the proposal pages: the accept step shows what the
organisation commits to and needs a ticked box (checked on the server); the next
step is the prominent button and cancelling is a secondary action behind a
confirmation; legs link to their listings; the inbox lists exchanges in progress."""

from __future__ import annotations

import re

from app.extensions import db
from app.proposals import services
from app.proposals.models import Proposal, ProposalStatus, Response
from tests.proposals.helpers import reload


def _approve(market, proposal):
    services.approve(market.coordinator, proposal.id)
    db.session.commit()


def test_accept_shows_what_the_organisation_gives_and_gets(market, cycle, client, login):
    _approve(market, cycle)
    login(market.members["A"])
    page = client.get(f"/proposals/{cycle.id}").get_data(as_text=True)
    summary = page.split('data-testid="accept-summary"')[1].split("</section>")[0]
    gives, gets = summary.split("It gets")
    # A gives 5 staff-days of its offer to Org B, and gets 5 from Org C for its need.
    assert "5 staff-days" in gives and "Org B" in gives and "Offer of A" in gives
    assert "Org C" in gets and "Need of A" in gets
    accept_by = reload(Proposal, cycle.id).accept_by.strftime("%d %b %Y")
    assert accept_by in summary and "60 days to deliver" in summary
    assert f'href="/market/listings/{market.offers["A"].id}"' in gives
    assert re.search(r'<input type="checkbox" id="accept-understood" name="understood"[^>]*'
                     r'required', summary)
    assert '<label for="accept-understood">' in summary


def test_accept_without_the_ticked_box_accepts_nothing(market, cycle, client, login):
    _approve(market, cycle)
    login(market.members["A"])
    response = client.post(f"/proposals/{cycle.id}/accept", data={"reason": "ok"},
                           follow_redirects=True)
    assert response.status_code == 200
    assert "Tick the box" in response.get_data(as_text=True)
    participant = next(p for p in reload(Proposal, cycle.id).participants
                       if p.organisation_id == market.orgs["A"].id)
    assert participant.response == Response.PENDING
    response = client.post(f"/proposals/{cycle.id}/accept",
                           data={"reason": "ok", "understood": "y"})
    assert response.status_code == 302
    participant = next(p for p in reload(Proposal, cycle.id).participants
                       if p.organisation_id == market.orgs["A"].id)
    assert participant.response == Response.ACCEPTED


def test_api_accept_is_unchanged(market, cycle, client, api_headers):
    _approve(market, cycle)
    response = client.post(f"/api/v1/proposals/{cycle.id}/accept", json={},
                           headers=api_headers(market.members["A"]))
    assert response.status_code == 200, response.get_json()


def test_next_step_comes_first_and_cancel_is_secondary(market, cycle, client, login):
    _approve(market, cycle)
    login(market.members["A"])
    page = client.get(f"/proposals/{cycle.id}").get_data(as_text=True)
    accept = page.index('data-testid="accept-button"')
    decline = page.index(f"/proposals/{cycle.id}/decline")
    assert accept < decline
    assert re.search(r'<button type="submit" class="secondary"[^>]*>Decline</button>', page)
    login(market.coordinator)
    page = client.get(f"/proposals/{cycle.id}").get_data(as_text=True)
    actions = page.split('<div class="actions card">')[1].split("</div>")[0]
    # The cancel button sits in a closed <details>, asks to confirm, and is the last action.
    assert '<details class="secondary-action" data-testid="cancel-action">' in actions
    assert re.search(r'class="danger" data-confirm="Cancel exchange #\d+\?', actions)
    assert actions.index("Waiting for every organisation") < actions.index("<details")
    after = actions[actions.rindex("</details>"):]
    assert "<button" not in after and "<form" not in after


def test_legs_link_to_their_listings(market, cycle, client, login):
    login(market.auditor)
    page = client.get(f"/proposals/{cycle.id}").get_data(as_text=True)
    legs = page.split('data-testid="legs"')[1].split("</table>")[0]
    for name in "ABC":
        assert f'href="/market/listings/{market.offers[name].id}"' in legs
        assert f'href="/market/listings/{market.needs[name].id}"' in legs


def test_inbox_lists_every_exchange_in_progress(market, cycle, propose, client, login):
    _approve(market, cycle)
    login(market.members["A"])
    page = client.get("/proposals/inbox").get_data(as_text=True)
    every = page.split("All exchanges involving your organisation")[1]
    assert f'data-proposal="{cycle.id}"' in every  # waiting on A: listed here too
    for name in "ABC":
        services.accept(market.members[name], cycle.id)
    db.session.commit()
    assert reload(Proposal, cycle.id).status == ProposalStatus.AGREED
    page = client.get("/proposals/inbox").get_data(as_text=True)
    every = page.split("All exchanges involving your organisation")[1]
    assert f'data-proposal="{cycle.id}"' in every and "agreed" in every
    assert "deliver by" in every
