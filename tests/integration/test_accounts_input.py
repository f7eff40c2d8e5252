"""Bad input gets a 4xx with the field errors, never a 500, never half an account."""

from __future__ import annotations

import pytest

from functions.core.accounts.models import UserEmailRecord, UserRecord
from functions.core.aws import client
from functions.core.settings import get_settings
from tests.integration.accounts_flow import (
    confirm_email,
    new_person,
    sign_up,
)

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")


def no_account(email: str) -> bool:
    return (list(UserRecord.by_email.query(email.lower())) == []
            and UserEmailRecord.count(email.lower()) == 0)


def good_body(**changes):
    person = new_person()
    body = {"name": person.name, "email": person.email, "mobile": person.mobile}
    body.update(changes)
    return body


@pytest.mark.parametrize(("changes", "field"), [
    ({"email": "not-an-email"}, "email"),
    ({"email": "a@b"}, "email"),
    ({"email": 42}, "email"),
    ({"mobile": "9876543210"}, "mobile"),  # no +91
    ({"mobile": "+15551234567"}, "mobile"),  # not Indian
    ({"mobile": "+915876543210"}, "mobile"),  # starts with 5
    ({"mobile": "+91987654321"}, "mobile"),  # 9 digits
    ({"mobile": "+9198765432101"}, "mobile"),  # 11 digits
    ({"mobile": 919876543210}, "mobile"),  # a number, not a string
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 500}, "name"),
    ({"name": ["Asha"]}, "name"),
    ({"password": 1234567890}, "password"),
    ({"is_admin": True}, "is_admin"),
])
def test_bad_sign_up_fields_are_400_with_the_field_and_create_nothing(stack, changes, field):
    body = good_body(**changes)
    response = stack.api.post("/auth/signup", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_input"
    assert field in [d["field"] for d in response.json()["details"]]
    email = body["email"] if isinstance(body["email"], str) else ""
    if "@" in email:
        assert no_account(email)
        assert stack.emails_to(email) == []


def test_missing_fields_are_named(stack):
    response = stack.api.post("/auth/signup", json={})
    assert response.status_code == 400
    assert {d["field"] for d in response.json()["details"]} == {"name", "email", "mobile"}


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\"text\"", b"", b"\xff\xfe"])
def test_malformed_bodies_are_400(stack, raw):
    response = stack.api.post("/auth/signup", data=raw,
                              headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text


def test_oversized_bodies_are_refused_before_parsing(stack):
    body = good_body(name="x" * 70_000)
    response = stack.api.post("/auth/signup", json=body)
    assert response.status_code == 413
    assert no_account(body["email"])


def test_mobile_with_spaces_is_accepted_in_its_plain_form(stack):
    person = new_person()
    spaced = f"{person.mobile[:3]} {person.mobile[3:8]}-{person.mobile[8:]}"
    assert sign_up(stack, new_person()).status_code == 202
    response = stack.api.post("/auth/signup", json={
        "name": person.name, "email": person.email, "mobile": spaced})
    assert response.status_code == 202
    assert confirm_email(stack, person)["sms"]["mobile_hint"].endswith(person.mobile[-2:])
    assert stack.sms_to(person.mobile)


@pytest.mark.parametrize(("path", "body"), [
    ("/auth/verify-email", {"token": "short"}),
    ("/auth/verify-email", {"token": "x" * 500}),
    ("/auth/verify-mobile", {"challenge": "abcdefghij", "code": "12345"}),
    ("/auth/verify-mobile", {"challenge": "abcdefghij", "code": 123456}),
    ("/auth/verify-mobile", {"challenge": "../../etc", "code": "123456"}),
    ("/auth/login/mfa", {"challenge": "abcdefghij", "code": "12345a"}),
    ("/auth/login/password", {"email": "a@example.in", "password": ""}),
    ("/auth/login/email-link", {"email": "a@example.in", "remember": True}),
    ("/auth/sms/resend", {}),
])
def test_bad_code_and_login_bodies_are_400(stack, path, body):
    response = stack.api.post(path, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["details"]


def test_unknown_tokens_are_400_not_500(stack):
    for path, body in [("/auth/verify-email", {"token": "abcdefghijkl.mnopqrstuvwx"}),
                       ("/auth/login/link", {"token": "no-dot-in-this-token"}),
                       ("/auth/verify-mobile", {"challenge": "abcdefghij", "code": "123456"}),
                       ("/auth/sms/resend", {"challenge": "abcdefghij"})]:
        response = stack.api.post(path, json=body)
        assert response.status_code == 400, (path, response.text)
        assert response.json()["error"] == "code_expired"


def test_profile_bodies_are_checked(stack, customer):
    _, api = customer
    assert api.patch("/me", json={"name": "", "extra": 1}).status_code == 400
    assert api.post("/me/mfa", json={"enabled": "yes"}).status_code == 400
    assert api.post("/me/mobile", json={"mobile": "+910000000000"}).status_code == 400
    response = api.put("/me/password", json={"new_password": "short"})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "new_password"


def test_sign_up_is_undone_when_the_email_cannot_be_sent(stack):
    ses, sender = client("ses"), get_settings().mail_from
    person = new_person()
    ses.delete_identity(Identity=sender)  # SES now refuses to send
    try:
        response = sign_up(stack, person)
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "delivery_failed"
        assert no_account(person.email)
    finally:
        ses.verify_email_identity(EmailAddress=sender)
    # Nothing blocks the address: signing up again works end to end.
    assert sign_up(stack, person).status_code == 202
    assert confirm_email(stack, person)["status"] == "pending_mobile"
