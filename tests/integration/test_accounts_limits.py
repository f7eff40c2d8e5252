"""Rate limits per account and per client address, answered 429 with Retry-After."""

from __future__ import annotations

import time

import pytest

from functions.core.accounts import limits
from functions.core.clock import epoch, utcnow
from functions.core.passwords import hash_password
from functions.core.ratelimit import Limit
from tests.fixtures.stack import create_user, unique_email
from tests.integration.accounts_flow import (
    new_person,
    sign_up,
    signed_up_and_confirmed,
    sms_code,
)

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")


def fresh_window(limit: Limit, needed_seconds: int = 30) -> None:
    """Start a burst early in a window, so it cannot straddle two windows."""
    left = limit.window_seconds - epoch(utcnow()) % limit.window_seconds
    if left < needed_seconds:
        time.sleep(left + 1)


def assert_rate_limited(response, limit: Limit) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "rate_limited"
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= limit.window_seconds


def test_email_link_requests_are_limited_per_account_known_or_not(stack):
    person = new_person()
    signed_up_and_confirmed(stack, person)
    limit = limits.SEND_PER_ACCOUNT
    fresh_window(limit)
    for address in (person.email, unique_email("nobody")):
        for _ in range(limit.max_hits):
            response = stack.api.post("/auth/login/email-link", json={"email": address})
            assert response.status_code == 202
        assert_rate_limited(stack.api.post("/auth/login/email-link", json={"email": address}),
                            limit)
    # The limit is per account: someone else can still ask.
    other = stack.api.post("/auth/login/email-link", json={"email": unique_email("other")})
    assert other.status_code == 202


def test_one_client_cannot_spray_many_addresses(stack):
    limit = limits.SEND_PER_CLIENT
    fresh_window(limit, 60)
    for _ in range(limit.max_hits):
        response = stack.api.post("/auth/login/email-link",
                                  json={"email": unique_email("spray")})
        assert response.status_code == 202
    assert_rate_limited(stack.api.post("/auth/login/email-link",
                                       json={"email": unique_email("spray")}), limit)


def test_sign_up_is_limited_per_email(stack):
    limit = limits.SIGNUP_PER_EMAIL
    fresh_window(limit)
    person = new_person()
    for _ in range(limit.max_hits):
        assert sign_up(stack, person).status_code == 202
    assert_rate_limited(sign_up(stack, person), limit)


def test_password_guessing_is_limited_per_account(stack):
    person = new_person(password="lotus-pond-evening")
    signed_up_and_confirmed(stack, person)
    limit = limits.LOGIN_PER_ACCOUNT
    fresh_window(limit, 60)
    for _ in range(limit.max_hits):
        response = stack.api.post("/auth/login/password", json={
            "email": person.email, "password": "guess-guess-guess"})
        assert response.status_code == 401
    # Even the right password waits for the window now.
    assert_rate_limited(stack.api.post("/auth/login/password", json={
        "email": person.email, "password": person.password}), limit)


def test_code_checking_is_limited_per_account_across_fresh_codes(stack):
    """Asking for new codes does not buy unlimited guesses."""
    password = "signal-tower-at-dusk"
    admin_user = create_user("admin", password_hash=hash_password(password))
    check = limits.CHECK_PER_ACCOUNT
    fresh_window(check, 60)
    answer = stack.api.post("/auth/login/password", json={"email": admin_user.email,
                                                          "password": password})
    challenge = answer.json()["mfa"]["challenge"]
    for _ in range(check.max_hits):
        code = sms_code(stack, admin_user.mobile)
        response = stack.api.post("/auth/login/mfa", json={
            "challenge": challenge, "code": f"{(int(code) + 1) % 1_000_000:06d}"})
        assert response.status_code == 400, response.text
        if response.json()["error"] == "code_locked":
            fresh = stack.api.post("/auth/sms/resend", json={"challenge": challenge})
            assert fresh.status_code == 200, fresh.text
            challenge = fresh.json()["challenge"]
    response = stack.api.post("/auth/login/mfa", json={
        "challenge": challenge, "code": sms_code(stack, admin_user.mobile)})
    assert_rate_limited(response, check)
