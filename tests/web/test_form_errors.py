"""Forms that help: an error summary at the top linking to each faulty field, the
fields marked aria-invalid and described by their message, typed values kept
(passwords never, and the page says so), and the admin's new-user form showing
every problem at once."""

from __future__ import annotations

import re

from app.auth.models import Role, User
from app.extensions import db


def count_users() -> int:
    return db.session.execute(db.select(db.func.count(User.id))).scalar_one()


def test_new_user_form_shows_every_problem_at_once_and_keeps_values(
        client, login, make_user, make_org):
    make_org("Somewhere")
    login(make_user(Role.ADMIN))
    before = count_users()
    response = client.post("/admin/users/new", data={
        "email": "not-an-email", "name": "Typed Name", "role": "member", "organisation": "",
        "password": "short"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert count_users() == before
    summary = page.split('data-testid="error-summary"')[1].split("</div>")[0]
    # Email, organisation and password all at once, each linking to its field.
    assert 'href="#email"' in summary and 'href="#organisation"' in summary
    assert 'href="#password"' in summary and "are 3 problems" in summary
    assert 'role="alert"' in page.split('data-testid="error-summary"')[0][-200:]
    assert re.search(r'<input[^>]*aria-describedby="email-error"[^>]*aria-invalid="true"'
                     r'|<input[^>]*aria-invalid="true"[^>]*aria-describedby="email-error"', page)
    assert 'id="email-error"' in page
    # Typed values come back, the password does not, and the page says so.
    assert 'value="not-an-email"' in page and 'value="Typed Name"' in page
    assert 'value="short"' not in page
    assert 'data-testid="retype-note"' in page


def test_new_user_service_errors_also_come_all_at_once(client, login, make_user, make_org):
    org = make_org("Somewhere")
    login(make_user(Role.ADMIN))
    # Passes the form's own checks; the service finds two problems.
    response = client.post("/admin/users/new", data={
        "email": "bad@@example", "name": "Someone", "role": "coordinator",
        "organisation": str(org.id), "password": ""})
    assert response.status_code == 422
    summary = response.get_data(as_text=True).split('data-testid="error-summary"')[1]
    assert 'href="#email"' in summary and 'href="#organisation"' in summary


def test_a_valid_form_has_no_summary(client, login, make_user):
    login(make_user(Role.ADMIN))
    page = client.get("/admin/users/new").get_data(as_text=True)
    assert 'data-testid="error-summary"' not in page and 'aria-invalid' not in page
    assert 'data-testid="retype-note"' not in page


def test_login_error_keeps_the_email_not_the_password(client):
    page = client.post("/login", data={"email": "x" * 300, "password": "secret-typed"}
                       ).get_data(as_text=True)
    assert 'data-testid="error-summary"' in page and 'href="#email"' in page
    assert "secret-typed" not in page and 'data-testid="retype-note"' in page
