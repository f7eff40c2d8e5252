"""The customer's whole journey through the HTTP API, and what its logs hold."""

from __future__ import annotations

import io
import logging

import pytest

from functions.core.accounts.models import UserRecord
from functions.core.logs import logger
from functions.core.settings import get_settings
from tests.integration.accounts_flow import (
    confirm_email,
    confirm_mobile,
    finish_mfa,
    last_email,
    link_token,
    login_by_link,
    new_person,
    session_of,
    sign_up,
    sms_code,
)
from tests.integration.paging_support import every_page

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")


@pytest.fixture
def app_logs():
    """Everything the app logs, rendered by its own JSON formatter."""
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(logger.registered_formatter)
    logger._logger.addHandler(handler)
    yield sink
    logger._logger.removeHandler(handler)


def test_customer_journey_from_sign_up_to_profile(stack, admin, app_logs, capfd):
    _, admin_api = admin
    person = new_person()
    secrets_used: list[str] = []

    # Sign up; the email link points at the portal's confirmation page.
    response = sign_up(stack, person)
    assert response.status_code == 202, response.text
    verify_email = last_email(stack, person.email, "Confirm your email")
    assert f"{get_settings().portal_origin}/verify-email.html?token=" in verify_email["body"]
    secrets_used.append(link_token(stack, person.email, "verify-email.html"))

    # The email link's token works through the API; then the SMS code.
    state = confirm_email(stack, person)
    assert state["status"] == "pending_mobile"
    assert state["sms"]["mobile_hint"].endswith(person.mobile[-2:])
    assert person.mobile not in state["sms"]["mobile_hint"]
    secrets_used.append(sms_code(stack, person.mobile))
    assert confirm_mobile(stack, person, state["sms"]["challenge"])["status"] == "pending_review"

    # Waiting for review: may sign in, but only to see the status.
    pending_api = session_of(stack, login_by_link(stack, person))
    secrets_used += [pending_api.token or "", link_token(stack, person.email, "login-link.html")]
    me = pending_api.get("/me").json()
    assert me["status"] == "pending_review" and me["email_verified"] and me["mobile_verified"]

    # The admin finds the customer in the review queue and verifies them.
    queue, _ = every_page(admin_api, "/admin/users", "accounts")
    assert me["user_id"] in [user["user_id"] for user in queue]
    detail = admin_api.get(f"/admin/users/{me['user_id']}").json()
    assert (detail["email"], detail["mobile"]) == (person.email, person.mobile)
    response = admin_api.post(f"/admin/users/{me['user_id']}/verify")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "verified"
    last_email(stack, person.email, "account is verified")
    assert me["user_id"] not in [u["user_id"] for u in every_page(
        admin_api, "/admin/users", "accounts")[0]]

    # Sign in by email link, turn MFA on with a fresh SMS code.
    api = session_of(stack, login_by_link(stack, person))
    secrets_used += [api.token or "", link_token(stack, person.email, "login-link.html")]
    assert api.get("/me").json()["status"] == "verified"
    start = api.post("/me/mfa", json={"enabled": True})
    assert start.status_code == 200, start.text
    code = sms_code(stack, person.mobile)
    secrets_used.append(code)
    confirmed = api.post("/me/mfa/confirm", json={"challenge": start.json()["challenge"],
                                                  "code": code})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["mfa_enabled"] is True

    # Now the email link alone is not enough: the SMS code completes the login.
    answer = login_by_link(stack, person)
    assert answer["status"] == "mfa_required" and not answer.get("token")
    secrets_used += [link_token(stack, person.email, "login-link.html"),
                     sms_code(stack, person.mobile)]
    api = finish_mfa(stack, person.mobile, answer)
    secrets_used.append(api.token or "")

    # Profile: name.
    renamed = api.patch("/me", json={"name": "  Asha   Verma-Rao "})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Asha Verma-Rao"

    # Mobile: nothing changes until the code sent to the new number comes back.
    new_mobile = new_person().mobile
    start = api.post("/me/mobile", json={"mobile": new_mobile})
    assert start.status_code == 200, start.text
    assert api.get("/me").json()["mobile"] == person.mobile
    code = sms_code(stack, new_mobile)
    secrets_used.append(code)
    changed = api.post("/me/mobile/confirm", json={"challenge": start.json()["challenge"],
                                                   "code": code})
    assert changed.status_code == 200, changed.text
    assert changed.json()["mobile"] == new_mobile
    last_email(stack, person.email, "mobile number was changed")
    old_mobile, person.mobile = person.mobile, new_mobile

    # Password: set one (none yet), then change it (needs the current one).
    first_password, second_password = "tulsi-garden-42", "monsoon-kite-97"
    secrets_used += [first_password, second_password]
    response = api.put("/me/password", json={"new_password": first_password})
    assert response.status_code == 200 and response.json()["has_password"] is True
    wrong = api.put("/me/password", json={"new_password": second_password,
                                          "current_password": "not-the-password"})
    assert wrong.status_code == 400
    assert wrong.json()["details"][0]["field"] == "current_password"
    response = api.put("/me/password", json={"new_password": second_password,
                                             "current_password": first_password})
    assert response.status_code == 200, response.text

    # Password login, then the second factor to the *new* mobile number.
    answer = stack.api.post("/auth/login/password", json={"email": person.email,
                                                          "password": second_password})
    assert answer.status_code == 200, answer.text
    before_old = len(stack.sms_to(old_mobile))
    api = finish_mfa(stack, person.mobile, answer.json())
    assert len(stack.sms_to(old_mobile)) == before_old
    secrets_used += [api.token or "", sms_code(stack, person.mobile)]
    profile = api.get("/me").json()
    assert profile["name"] == "Asha Verma-Rao" and profile["mfa_enabled"] is True

    # Log out: the token stops working.
    assert api.post("/auth/logout").status_code == 200
    assert api.get("/me").status_code == 401

    # The logs of all this hold none of the secrets and no full mobile number.
    logged = app_logs.getvalue() + capfd.readouterr().out
    assert "signed in" in logged  # the capture did see the app's logs
    for secret in [*secrets_used, person.mobile, old_mobile]:
        assert secret and secret not in logged, "a secret or a full mobile number was logged"
    assert person.email not in logged


def test_rejected_customer_is_told_why_and_cannot_sign_in(stack, admin):
    _, admin_api = admin
    person = new_person(password="rain-on-tin-roof")
    assert sign_up(stack, person).status_code == 202
    state = confirm_email(stack, person)
    confirm_mobile(stack, person, state["sms"]["challenge"])
    user_id = UserRecord.by_email.query(person.email).next().user_id

    # A reason is required.
    assert admin_api.post(f"/admin/users/{user_id}/reject", json={}).status_code == 400
    response = admin_api.post(f"/admin/users/{user_id}/reject",
                              json={"reason": "The address proof is unreadable."})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "rejected"
    assert "The address proof is unreadable." in last_email(stack, person.email,
                                                            "could not be verified")["body"]

    # No sign-in link is sent; the right password gets a 403 that says why.
    before = len(stack.emails_to(person.email))
    assert stack.api.post("/auth/login/email-link",
                          json={"email": person.email}).status_code == 202
    assert len(stack.emails_to(person.email)) == before
    response = stack.api.post("/auth/login/password", json={"email": person.email,
                                                            "password": person.password})
    assert response.status_code == 403
    assert "not approved" in response.json()["message"]

    # Deciding twice is a conflict, not a silent overwrite.
    assert admin_api.post(f"/admin/users/{user_id}/reject",
                          json={"reason": "again"}).status_code == 409


def test_logout_everywhere_ends_every_session(stack):
    person = new_person(password="copper-wire-lamp")
    from tests.integration.accounts_flow import signed_up_and_confirmed

    signed_up_and_confirmed(stack, person)
    tokens = []
    for _ in range(2):
        answer = stack.api.post("/auth/login/password", json={"email": person.email,
                                                              "password": person.password})
        tokens.append(session_of(stack, answer.json()))
    link_api = session_of(stack, login_by_link(stack, person))
    assert all(api.get("/me").status_code == 200 for api in [*tokens, link_api])
    response = link_api.post("/auth/logout-all")
    assert response.status_code == 200
    assert all(api.get("/me").status_code == 401 for api in [*tokens, link_api])
