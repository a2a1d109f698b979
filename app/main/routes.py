"""The start page: what matters to each role and what is waiting on you.

Other features add their own panels without touching this module: the page
includes `proposals/_waiting_on_you.html` (proposals for a member to accept or
decline, for a coordinator to review) when that template exists, and a
placeholder otherwise.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from app.auth import policy
from app.extensions import db
from app.market import browse as market_browse

bp = Blueprint("main", __name__, template_folder="templates")


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return render_template("main/index.html", summary=None)
    own = policy.allows(current_user, "organisation.own")
    organisation = current_user.organisation if own else None
    summary = market_browse.market_summary(organisation)
    recent = market_browse.listings_query(market_browse.ListingFilters()).limit(5)
    return render_template("main/index.html", summary=summary, organisation=organisation,
                           recent=list(db.session.execute(recent).scalars()))


@bp.get("/help/glossary")
def glossary():
    """The words the application uses, in plain language (open to everyone)."""
    return render_template("main/glossary.html")
