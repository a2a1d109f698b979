"""The demo market: `flask demo seed`, its logins, and the exchanges it guarantees.

The exchanges are checked with an independent brute-force reading of the
compatibility rule (tests/market/market_graph.py), and with the matching engine
when it is importable.
"""

from __future__ import annotations

from datetime import date

import pytest

from app import create_app
from app.auth.models import Role, User
from app.auth.passwords import verify_password
from app.demo import data, demo_logins
from app.demo.history_data import HISTORY
from app.demo.seed import seed_demo
from app.extensions import db
from app.market.models import Currency, Listing, ListingStatus, Organisation
from config import TestingConfig
from tests.market.market_graph import Market, compatible, market_document

SEED_DAY = date(2026, 3, 2)


@pytest.fixture
def seeded(app):
    result = seed_demo(SEED_DAY)
    db.session.commit()
    return result


def legs_of(name: str, ids: dict[str, int]) -> list[tuple[str, str]]:
    return [(str(ids[o]), str(ids[n])) for o, n in data.PLANTED[name][1]]


def count(model) -> int:
    return db.session.execute(db.select(db.func.count(model.id))).scalar_one()


def test_seed_command_then_if_empty(runner):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "admin@northshire.example" in result.output
    assert data.MEMBER_PASSWORD in result.output
    assert "T1 cycle: kingsford-pcn -> carers-network -> nsh-fire" in result.output
    counts = (count(Organisation), count(Listing), count(Currency), count(User))
    # The command also records the demo's past exchanges, each leg with its own offer and need.
    past_listings = sum(2 * len(exchange.legs) for exchange in HISTORY)
    assert counts == (len(data.ORGANISATIONS), len(data.LISTINGS) + past_listings, 4,
                      len(data.ORGANISATIONS) + len(data.STAFF_USERS))
    again = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert again.exit_code == 0 and "skipped" in again.output
    assert (count(Organisation), count(Listing), count(Currency), count(User)) == counts
    refused = runner.invoke(args=["demo", "seed"])
    assert refused.exit_code != 0 and "empty" in refused.output
    assert (count(Organisation), count(Listing), count(Currency), count(User)) == counts


def test_make_run_commands_on_a_fresh_database(tmp_path):
    """What `make run` does before serving: upgrade, then seed if empty (twice is harmless)."""
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'run.db'}")
    runner = app.test_cli_runner()
    with app.app_context():
        assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
        first = runner.invoke(args=["demo", "seed", "--if-empty"])
        second = runner.invoke(args=["demo", "seed", "--if-empty"])
        assert first.exit_code == second.exit_code == 0, first.output
        assert "Seeded the demo market" in first.output and "skipped" in second.output
        assert "admin@northshire.example" in second.output  # logins printed every run
        assert count(Organisation) == len(data.ORGANISATIONS)
        db.session.remove()
        db.engine.dispose()


def test_demo_market_shape(seeded):
    sectors = {org.sector for org in db.session.execute(db.select(Organisation)).scalars()}
    assert {"acute_trust", "community_trust", "mental_health_trust", "primary_care_network",
            "county_council", "district_council", "housing_association", "hospice",
            "voluntary", "college"} <= sectors
    pcns = [o for o in data.ORGANISATIONS if o[2] == "primary_care_network"]
    assert len(pcns) == 2
    assert len([o for o in data.ORGANISATIONS if o[2] == "voluntary"]) >= 2
    assert 75 <= count(Listing) <= 90
    listings = db.session.execute(db.select(Listing)).scalars().all()
    assert all(item.status == ListingStatus.OPEN for item in listings)
    assert all(item.available_until is None or item.available_until > SEED_DAY
               for item in listings)
    assert len({item.title for item in listings}) == len(listings)
    codes = {c.code: c for c in db.session.execute(db.select(Currency)).scalars()}
    assert set(codes) == {"staff", "jobs", "training", "premises"}
    assert {c.unit for c in codes.values()} == {"staff-day", "placement", "training place",
                                                "room-hour"}
    excluded = {(o.slug, x.slug) for o in db.session.execute(db.select(Organisation)).scalars()
                for x in o.excluded}
    assert ("brightwater", "eastmoor-dc") in excluded


def test_demo_logins_exist_and_work(seeded):
    logins = demo_logins()
    roles = [login["role"] for login in logins]
    assert roles.count(Role.ADMIN) == 1 and roles.count(Role.COORDINATOR) == 2
    assert roles.count(Role.AUDITOR) == 1 and roles.count(Role.MEMBER) == len(data.ORGANISATIONS)
    for login in logins:
        user = db.session.execute(
            db.select(User).where(User.email == login["email"])).scalar_one()
        assert user.role == login["role"]
        assert (user.organisation.slug if user.organisation else None) == login[
            "organisation_slug"]
    # one hash check per role keeps the test fast (Argon2 is deliberately slow)
    for role in Role.ALL:
        login = next(item for item in logins if item["role"] == role)
        user = db.session.execute(
            db.select(User).where(User.email == login["email"])).scalar_one()
        assert verify_password(user.password_hash, login["password"])


def test_demo_logins_only_in_demo_mode(app, client):
    assert demo_logins() == []  # nothing seeded: nothing to advertise
    seed_demo(SEED_DAY)
    db.session.commit()
    app.config["DEMO_MODE"] = False
    assert data.ADMIN_PASSWORD not in client.get("/login").get_data(as_text=True)
    app.config["DEMO_MODE"] = True
    page = client.get("/login").get_data(as_text=True)
    assert 'data-testid="demo-logins"' in page
    assert data.ADMIN_PASSWORD in page and "nsh-college@northshire.example" in page


# --- the exchanges the demo guarantees --------------------------------------------------

def test_planted_exchanges_exist_and_are_fair(seeded):
    market = Market(market_document())
    ids = seeded.listing_ids
    cycles = {2: [], 3: []}
    for name, (kind, _legs) in data.PLANTED.items():
        legs = legs_of(name, ids)
        if kind == "cycle":
            assert market.is_cycle(legs), name
            assert market.cycle_fairness(legs) >= 0.5, name
            cycles[len(legs)].append(legs)
        else:
            assert market.is_chain(legs), name
            assert market.chain_fairness(legs) >= 0.5, name
    assert len(cycles[2]) >= 3 and len(cycles[3]) >= 2
    # No two planted exchanges use the same listing, so all can be proposed together.
    assert market.distinct_listings([legs_of(name, ids) for name in data.PLANTED])


def test_brute_force_finds_them_without_being_told(seeded):
    """Search every cycle of the market; the planted ones must be among the fair ones."""
    market = Market(market_document())
    ids = seeded.listing_ids
    fair = {length: [sorted(c) for c in market.cycles(length)
                     if market.cycle_fairness(c) >= 0.5] for length in (2, 3)}
    for name, (kind, _legs) in data.PLANTED.items():
        if kind == "cycle":
            legs = sorted(legs_of(name, ids))
            assert legs in fair[len(legs)], name
    assert len(fair[2]) >= 3 and len(fair[3]) >= 2
    gifts = [item["id"] for item in market.document["listings"] if item["gift"]]
    assert any(arc[0] in gifts for arc in market.arcs)


def test_near_misses_do_not_match(seeded):
    ids = seeded.listing_ids
    document = market_document()
    market = Market(document)
    by_id = {item["id"]: item for item in document["listings"]}
    excludes = {org["id"]: set(org["excludes"]) for org in document["organisations"]}
    pairs = [
        ("near-tag-district-nurses", "near-tag-theatre-nurses"),  # a missing tag
        ("near-dates-meeting-rooms", "near-dates-college-rooms"),  # windows apart
        ("near-area-civic-clinic", "near-area-adhd-clinic"),  # another area (and a tag)
        ("near-min-safeguarding-offer", "near-min-safeguarding"),  # below the minimum
        ("T2-offer-housing-officer", "near-excluded-housing-officer"),  # an exclusion
        ("near-tag-trades", "R2-need-apprentices"),  # the level-3 tag is missing
        ("R2-offer-digital", "near-area-hospice-digital"),  # the college is not in Westdale
    ]
    for offer_key, need_key in pairs:
        offer, need = by_id[str(ids[offer_key])], by_id[str(ids[need_key])]
        assert not compatible(offer, need, excludes), (offer_key, need_key)
    # without the exclusion, Eastmoor's housing officer would have gone to Brightwater
    assert compatible(by_id[str(ids["T2-offer-housing-officer"])],
                      by_id[str(ids["near-excluded-housing-officer"])], {})
    # compatible both ways, but too lopsided to be fair
    lopsided = [(str(ids["near-unfair-training-room"]), str(ids["near-unfair-pcn-room"])),
                (str(ids["near-unfair-work-experience"]),
                 str(ids["near-unfair-college-work-exp"]))]
    assert market.is_cycle(lopsided) and market.cycle_fairness(lopsided) < 0.5


def test_the_matching_engine_proposes_the_planted_exchanges(seeded):
    engine = pytest.importorskip("matching_engine")
    result = engine.solve(market_document(), time_limit=20)
    signatures = [sorted(map(tuple, exchange["signature"])) for exchange in result["exchanges"]]
    for name in data.PLANTED:
        assert sorted(legs_of(name, seeded.listing_ids)) in signatures, name
