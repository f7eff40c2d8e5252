"""Who may do what: roles, sessions, suspension, admin invitations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from functions.core.accounts.models import SessionRecord, UserRecord
from functions.core.accounts.sessions import hash_token, issue_session
from functions.core.clock import utcnow
from tests.fixtures.stack import create_user, unique_email, unique_mobile
from tests.integration.accounts_flow import (
    Person,
    confirm_email,
    confirm_mobile,
    finish_mfa,
    login_by_link,
    new_person,
    session_of,
    sign_up,
    signed_up_and_confirmed,
)
from tests.integration.paging_support import every_page

ADMIN_ROUTES = [
    ("GET", "/admin/users", None),
    ("GET", "/admin/users/usr_0000000000000000", None),
    ("POST", "/admin/users/usr_0000000000000000/verify", None),
    ("POST", "/admin/users/usr_0000000000000000/reject", {"reason": "no"}),
    ("POST", "/admin/users/usr_0000000000000000/suspend", {"reason": "no"}),
    ("POST", "/admin/users/usr_0000000000000000/reactivate", None),
    ("POST", "/admin/invitations", {"name": "X", "email": "x@example.in",
                                    "mobile": "+919876543210"}),
]

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_customer_token_on_admin_routes_is_403(stack, customer, method, path, body):
    _, api = customer
    response = api.request(method, path, json=body)
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "forbidden"


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES[:2])
def test_admin_routes_without_a_session_are_401(stack, method, path, body):
    assert stack.api.request(method, path, json=body).status_code == 401
    assert stack.api.as_("not-a-session").request(method, path, json=body).status_code == 401


def test_revoked_and_expired_sessions_are_401(stack, customer):
    user, api = customer
    assert api.get("/me").status_code == 200
    assert api.post("/auth/logout").status_code == 200
    assert api.get("/me").status_code == 401

    token = issue_session(user)
    record = SessionRecord.get(hash_token(token))
    record.update(actions=[SessionRecord.expires_at.set(utcnow() - timedelta(seconds=1))])
    assert stack.api.as_(token).get("/me").status_code == 401


def test_suspension_ends_sessions_and_reactivation_restores(stack, admin, customer):
    _, admin_api = admin
    user, api = customer
    response = admin_api.post(f"/admin/users/{user.user_id}/suspend",
                              json={"reason": "Meter tampering under investigation."})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "suspended"
    assert api.get("/me").status_code == 401

    person = Person(user.name, user.email, user.mobile)
    before = len(stack.emails_to(user.email))
    stack.api.post("/auth/login/email-link", json={"email": user.email})
    new_emails = stack.emails_to(user.email)[before:]
    assert [m["subject"] for m in new_emails if "sign-in link" in m["subject"]] == []
    # The notice goes out through the notification sender, a moment after the decision.
    assert stack.wait_for_emails(user.email, "suspended")

    response = admin_api.post(f"/admin/users/{user.user_id}/reactivate")
    assert response.status_code == 200 and response.json()["status"] == "verified"
    api = session_of(stack, login_by_link(stack, person))
    assert api.get("/me").json()["status"] == "verified"


def test_an_admin_cannot_suspend_themselves(stack, admin):
    admin_user, admin_api = admin
    response = admin_api.post(f"/admin/users/{admin_user.user_id}/suspend",
                              json={"reason": "testing"})
    assert response.status_code == 409


def test_unconfirmed_accounts_cannot_sign_in(stack):
    person = new_person(password="banyan-shade-noon")
    sign_up(stack, person)  # email not confirmed yet
    before = len(stack.emails_to(person.email))
    assert stack.api.post("/auth/login/email-link",
                          json={"email": person.email}).status_code == 202
    assert len(stack.emails_to(person.email)) == before
    response = stack.api.post("/auth/login/password", json={"email": person.email,
                                                            "password": person.password})
    assert response.status_code == 403
    assert "confirm" in response.json()["message"]


def test_pending_customer_signs_in_but_is_not_a_verified_customer(stack):
    from functions.core.accounts import require_verified_customer
    from functions.core.errors import Forbidden

    person = new_person()
    signed_up_and_confirmed(stack, person)
    api = session_of(stack, login_by_link(stack, person))
    me = api.get("/me").json()
    assert me["status"] == "pending_review"
    with pytest.raises(Forbidden):
        require_verified_customer(me["user_id"])


def test_invited_admin_confirms_and_always_uses_a_second_factor(stack, admin):
    _, admin_api = admin
    person = Person("Ravi Menon", unique_email("newadmin"), unique_mobile())
    response = admin_api.post("/admin/invitations", json={
        "name": person.name, "email": person.email, "mobile": person.mobile})
    assert response.status_code == 201, response.text
    invited = response.json()
    assert (invited["role"], invited["status"]) == ("admin", "pending_email")

    state = confirm_email(stack, person)
    assert confirm_mobile(stack, person, state["sms"]["challenge"])["status"] == "verified"

    new_admin_api = finish_mfa(stack, person.mobile, login_by_link(stack, person))
    assert new_admin_api.get("/admin/users").status_code == 200
    # Admins cannot turn the second factor off.
    response = new_admin_api.post("/me/mfa", json={"enabled": False})
    assert response.status_code == 400

    # An address that already has an account cannot be invited.
    again = admin_api.post("/admin/invitations", json={
        "name": person.name, "email": person.email, "mobile": person.mobile})
    assert again.status_code == 409


def test_open_sign_up_cannot_make_an_admin(stack):
    person = new_person()
    response = stack.api.post("/auth/signup", json={
        "name": person.name, "email": person.email, "mobile": person.mobile, "role": "admin"})
    assert response.status_code == 400
    assert [d["field"] for d in response.json()["details"]] == ["role"]
    signed_up_and_confirmed(stack, person)
    user = UserRecord.by_email.query(person.email).next()
    assert user.role == "customer"


def test_admin_lists_by_status_and_sees_details(stack, admin):
    _, admin_api = admin
    suspended = create_user("customer", "suspended")
    another = create_user("customer", "suspended")
    listed, _ = every_page(admin_api, "/admin/users", "accounts", status="suspended")
    assert {suspended.user_id, another.user_id} <= {u["user_id"] for u in listed}
    # A page at a time: the first of one account goes on to the next.
    first = admin_api.get("/admin/users", params={"status": "suspended", "limit": 1}).json()
    assert len(first["accounts"]) == 1 and first["cursor"]
    assert admin_api.get("/admin/users?status=nonsense").status_code == 400
    assert admin_api.get("/admin/users/usr_missing").status_code == 404
