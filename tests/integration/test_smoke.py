from app.extensions import db
from app.market.models import Listing


def test_factories_build_a_listing(make_listing):
    listing = make_listing(quantity=5)
    assert db.session.get(Listing, listing.id).remaining == 5


def test_fresh_database_per_test(app):
    assert db.session.execute(db.select(db.func.count(Listing.id))).scalar_one() == 0


def test_logged_in_page(client, login, users):
    login(users["member"])
    assert client.get("/").status_code == 200
