"""The demo accounts: who they are and their (public, demo-only) passwords."""

from __future__ import annotations

from app.demo.data import EMAIL_DOMAIN, MEMBER_PASSWORD, ORGANISATIONS, STAFF_USERS


def demo_accounts() -> list[dict]:
    """Every demo account: email, name, role, organisation slug and name, password."""
    accounts = [
        {"email": f"{local}@{EMAIL_DOMAIN}", "name": name, "role": role,
         "organisation_slug": None, "organisation": None, "password": password}
        for local, name, role, password in STAFF_USERS
    ]
    accounts += [
        {"email": f"{slug}@{EMAIL_DOMAIN}", "name": contact, "role": "member",
         "organisation_slug": slug, "organisation": org_name, "password": MEMBER_PASSWORD}
        for slug, org_name, _sector, _areas, contact, _description in ORGANISATIONS
    ]
    return accounts


def demo_logins(*, existing_only: bool = True) -> list[dict]:
    """The demo accounts to show on the login page.

    With `existing_only` (needs an app context) only accounts present and enabled in
    the database are listed, so a real installation that happens to run with
    DEMO_MODE on never advertises passwords it does not use.
    """
    accounts = demo_accounts()
    if not existing_only:
        return accounts
    from app.auth.models import User
    from app.extensions import db

    enabled = set(db.session.execute(
        db.select(User.email).where(User.email.in_([a["email"] for a in accounts]),
                                    User.enabled.is_(True))).scalars())
    return [account for account in accounts if account["email"] in enabled]
