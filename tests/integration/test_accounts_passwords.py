"""Password login, the legacy hash upgrade, and answers that do not tell
whether an email address is registered."""

from __future__ import annotations

import pytest

from functions.core.accounts.models import UserRecord
from functions.core.passwords import LEGACY_ITERATIONS, hash_password
from tests.fixtures.stack import create_user, unique_email
from tests.integration.accounts_flow import (
    new_person,
    session_of,
    sign_up,
    signed_up_and_confirmed,
)

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")


def test_legacy_50000_iteration_hash_is_upgraded_on_login(stack):
    password = "old-system-secret-7"
    legacy = hash_password(password, iterations=LEGACY_ITERATIONS)
    assert legacy.startswith("pbkdf2:sha256:50000$")
    user = create_user("customer", "verified", password_hash=legacy)

    response = stack.api.post("/auth/login/password", json={"email": user.email,
                                                            "password": password})
    assert response.status_code == 200, response.text
    assert session_of(stack, response.json()).get("/me").status_code == 200

    upgraded = UserRecord.get(user.user_id).password_hash
    assert upgraded != legacy
    assert upgraded.startswith("pbkdf2:sha256:600000$")
    salt = upgraded.split("$")[1]
    assert len(salt) == 16
    # The new hash works; a wrong password still does not.
    again = stack.api.post("/auth/login/password", json={"email": user.email,
                                                         "password": password})
    assert again.status_code == 200
    wrong = stack.api.post("/auth/login/password", json={"email": user.email,
                                                         "password": "old-system-secret-8"})
    assert wrong.status_code == 401
    assert UserRecord.get(user.user_id).password_hash == upgraded


def test_a_failed_login_does_not_upgrade_the_hash(stack):
    legacy = hash_password("right-password-1", iterations=LEGACY_ITERATIONS)
    user = create_user("customer", "verified", password_hash=legacy)
    stack.api.post("/auth/login/password", json={"email": user.email,
                                                 "password": "wrong-password-1"})
    assert UserRecord.get(user.user_id).password_hash == legacy


def test_unknown_email_gets_exactly_the_answer_a_known_one_gets(stack):
    person = new_person(password="harbour-lights-9")
    signed_up_and_confirmed(stack, person)
    unknown = unique_email("unknown")

    known_link = stack.api.post("/auth/login/email-link", json={"email": person.email})
    unknown_link = stack.api.post("/auth/login/email-link", json={"email": unknown})
    assert (known_link.status_code, known_link.content) == (unknown_link.status_code,
                                                            unknown_link.content)
    assert known_link.status_code == 202
    assert stack.emails_to(unknown) == []

    known_pw = stack.api.post("/auth/login/password", json={"email": person.email,
                                                            "password": "wrong-guess-123"})
    unknown_pw = stack.api.post("/auth/login/password", json={"email": unknown,
                                                              "password": "wrong-guess-123"})
    assert (known_pw.status_code, known_pw.content) == (unknown_pw.status_code,
                                                        unknown_pw.content)
    assert known_pw.status_code == 401

    known_resend = stack.api.post("/auth/signup/resend", json={"email": person.email})
    unknown_resend = stack.api.post("/auth/signup/resend", json={"email": unknown})
    assert (known_resend.status_code, known_resend.content) == (unknown_resend.status_code,
                                                                unknown_resend.content)


def test_sign_up_with_a_registered_email_answers_the_same_and_changes_nothing(stack):
    person = new_person()
    signed_up_and_confirmed(stack, person)
    before = UserRecord.by_email.query(person.email).next()

    fresh = sign_up(stack, new_person())
    intruder = new_person(password="takeover-attempt-1")
    intruder.email = person.email
    again = sign_up(stack, intruder)
    assert (again.status_code, again.content) == (fresh.status_code, fresh.content)

    after = UserRecord.get(before.user_id)
    assert (after.mobile, after.status, after.password_hash) == (
        before.mobile, before.status, before.password_hash)
    notice = stack.wait_for_emails(person.email, "Someone tried to sign up")  # queued notice
    assert "already has an account" in notice[-1]["body"]
    assert stack.sms_to(intruder.mobile) == []


def test_signing_up_again_before_confirming_replaces_the_details(stack):
    """A typo in the first attempt (or a lost email) never blocks the address."""
    first = new_person()
    sign_up(stack, first)
    second = new_person()
    second.email = first.email
    assert sign_up(stack, second).status_code == 202
    from tests.integration.accounts_flow import confirm_email, confirm_mobile

    state = confirm_email(stack, second)
    assert confirm_mobile(stack, second, state["sms"]["challenge"])["status"] == "pending_review"
    users = list(UserRecord.by_email.query(first.email))
    assert len(users) == 1 and users[0].mobile == second.mobile


def test_weak_passwords_are_refused_with_the_reason(stack):
    person = new_person(password="short")
    response = sign_up(stack, person)
    assert response.status_code == 400
    details = response.json()["details"]
    assert details[0]["field"] == "password" and "at least" in details[0]["message"]
    person.password = "1234567890"
    assert sign_up(stack, person).json()["details"][0]["field"] == "password"
