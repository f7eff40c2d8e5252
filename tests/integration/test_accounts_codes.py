"""One-time codes and links: expiry, single use, limited tries."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from functions.core.accounts.codes import MAX_ATTEMPTS
from functions.core.accounts.models import OneTimeCodeRecord
from functions.core.clock import epoch, utcnow
from tests.integration.accounts_flow import (
    confirm_email,
    link_token,
    new_person,
    sign_up,
    signed_up_and_confirmed,
    sms_code,
)

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")


def expire(code_id: str) -> None:
    """Move a stored code's expiry into the past (DynamoDB TTL may not have run yet)."""
    record = OneTimeCodeRecord.get(code_id)
    past = utcnow() - timedelta(seconds=1)
    record.update(actions=[OneTimeCodeRecord.expires_at.set(past),
                           OneTimeCodeRecord.expires_at_epoch.set(epoch(past))])


def wrong_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_codes_are_stored_hashed_never_in_clear(stack):
    person = new_person()
    sign_up(stack, person)
    token = link_token(stack, person.email, "verify-email.html")
    code_id, secret = token.split(".")
    record = OneTimeCodeRecord.get(code_id)
    assert secret not in str(record.attribute_values)
    assert len(record.code_hash) == 64 and record.salt


def test_expired_email_link_is_refused(stack):
    person = new_person()
    sign_up(stack, person)
    token = link_token(stack, person.email, "verify-email.html")
    expire(token.split(".")[0])
    response = stack.api.post("/auth/verify-email", json={"token": token})
    assert response.status_code == 400
    assert response.json()["error"] == "code_expired"
    # A new link (asked for by email, with the same answer for anyone) works.
    assert stack.api.post("/auth/signup/resend",
                          json={"email": person.email}).status_code == 202
    assert confirm_email(stack, person)["status"] == "pending_mobile"


def test_login_link_lives_15_minutes_then_is_refused(stack):
    person = new_person()
    signed_up_and_confirmed(stack, person)
    stack.api.post("/auth/login/email-link", json={"email": person.email})
    token = link_token(stack, person.email, "login-link.html")
    record = OneTimeCodeRecord.get(token.split(".")[0])
    assert record.expires_at - record.created_at == timedelta(minutes=15)
    expire(record.code_id)
    response = stack.api.post("/auth/login/link", json={"token": token})
    assert response.status_code == 400 and response.json()["error"] == "code_expired"


def test_expired_sms_code_is_refused(stack):
    person = new_person()
    sign_up(stack, person)
    challenge = confirm_email(stack, person)["sms"]["challenge"]
    expire(challenge)
    response = stack.api.post("/auth/verify-mobile", json={
        "challenge": challenge, "code": sms_code(stack, person.mobile)})
    assert response.status_code == 400 and response.json()["error"] == "code_expired"


def test_links_and_codes_work_once(stack):
    person = new_person()
    sign_up(stack, person)
    email_token = link_token(stack, person.email, "verify-email.html")
    first = stack.api.post("/auth/verify-email", json={"token": email_token})
    assert first.status_code == 200
    again = stack.api.post("/auth/verify-email", json={"token": email_token})
    assert again.status_code == 400 and again.json()["error"] == "code_expired"

    challenge = first.json()["sms"]["challenge"]
    body = {"challenge": challenge, "code": sms_code(stack, person.mobile)}
    assert stack.api.post("/auth/verify-mobile", json=body).status_code == 200
    again = stack.api.post("/auth/verify-mobile", json=body)
    assert again.status_code == 400 and again.json()["error"] == "code_expired"

    stack.api.post("/auth/login/email-link", json={"email": person.email})
    login_token = link_token(stack, person.email, "login-link.html")
    assert stack.api.post("/auth/login/link", json={"token": login_token}).status_code == 200
    again = stack.api.post("/auth/login/link", json={"token": login_token})
    assert again.status_code == 400 and again.json()["error"] == "code_expired"


def test_a_link_used_at_the_same_moment_signs_in_once(stack):
    person = new_person()
    signed_up_and_confirmed(stack, person)
    stack.api.post("/auth/login/email-link", json={"email": person.email})
    token = link_token(stack, person.email, "login-link.html")
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(
            lambda _: stack.api.post("/auth/login/link", json={"token": token}).status_code,
            range(6)))
    assert sorted(statuses) == [200] + [400] * 5


def test_a_code_is_for_its_purpose_only(stack):
    person = new_person()
    sign_up(stack, person)
    state = confirm_email(stack, person)
    response = stack.api.post("/auth/login/mfa", json={
        "challenge": state["sms"]["challenge"], "code": sms_code(stack, person.mobile)})
    assert response.status_code == 400
    # ... and trying it there did not use it up for its own purpose.
    response = stack.api.post("/auth/verify-mobile", json={
        "challenge": state["sms"]["challenge"], "code": sms_code(stack, person.mobile)})
    assert response.status_code == 200


def test_five_wrong_tries_lock_a_code_until_a_new_one_is_sent(stack, admin):
    admin_user, _ = admin
    from tests.integration.accounts_flow import Person, login_by_link

    person = Person(admin_user.name, admin_user.email, admin_user.mobile)
    answer = login_by_link(stack, person)  # admins always get the SMS step
    challenge = answer["mfa"]["challenge"]
    code = sms_code(stack, person.mobile)

    for tries_left in range(MAX_ATTEMPTS - 1, 0, -1):
        response = stack.api.post("/auth/login/mfa", json={"challenge": challenge,
                                                           "code": wrong_code(code)})
        assert response.status_code == 400
        assert response.json()["error"] == "code_wrong"
        assert response.json()["details"]["tries_left"] == tries_left
    response = stack.api.post("/auth/login/mfa", json={"challenge": challenge,
                                                       "code": wrong_code(code)})
    assert response.json()["error"] == "code_locked"
    # The right code no longer helps.
    response = stack.api.post("/auth/login/mfa", json={"challenge": challenge, "code": code})
    assert response.status_code == 400 and response.json()["error"] == "code_locked"

    # A new code replaces the locked one; the old challenge is gone.
    fresh = stack.api.post("/auth/sms/resend", json={"challenge": challenge})
    assert fresh.status_code == 200, fresh.text
    new_code = sms_code(stack, person.mobile)
    response = stack.api.post("/auth/login/mfa", json={"challenge": challenge,
                                                       "code": new_code})
    assert response.status_code == 400 and response.json()["error"] == "code_expired"
    response = stack.api.post("/auth/login/mfa", json={"challenge": fresh.json()["challenge"],
                                                       "code": new_code})
    assert response.status_code == 200 and response.json()["status"] == "signed_in"
