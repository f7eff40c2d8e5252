"""Steps of the account journeys, done the way a person does them: through the
HTTP API, reading links and codes from the emulator's captured email and SMS."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from tests.fixtures.stack import ApiClient, Stack, unique_email, unique_mobile

TOKEN_IN_LINK = re.compile(r"/([\w-]+\.html)\?token=([^\s]+)")
SMS_CODE = re.compile(r"\b(\d{6})\b")


def last_email(stack: Stack, address: str, subject_part: str = "") -> dict[str, Any]:
    """The newest email to `address` about `subject_part`; account notices go out through
    the notification sender a moment after the request, so this waits for one."""
    try:
        return stack.wait_for_emails(address, subject_part)[-1]
    except AssertionError:
        raise AssertionError(f"no email to {address} about {subject_part!r}") from None


def link_token(stack: Stack, address: str, page: str) -> str:
    """The token of the newest link to ``page`` emailed to ``address``."""
    for message in reversed(stack.emails_to(address)):
        for found_page, token in TOKEN_IN_LINK.findall(message["body"]):
            if found_page == page:
                return unquote(token)
    raise AssertionError(f"no {page} link emailed to {address}")


def sms_code(stack: Stack, mobile: str) -> str:
    messages = stack.sms_to(mobile)
    assert messages, f"no SMS to {mobile}"
    match = SMS_CODE.search(messages[-1]["message"])
    assert match, messages[-1]["message"]
    return match.group(1)


@dataclass
class Person:
    name: str
    email: str
    mobile: str
    password: str | None = None


def new_person(password: str | None = None) -> Person:
    return Person("Asha Verma", unique_email("acct"), unique_mobile(), password)


def sign_up(stack: Stack, person: Person) -> Any:
    body: dict[str, Any] = {"name": person.name, "email": person.email, "mobile": person.mobile}
    if person.password:
        body["password"] = person.password
    return stack.api.post("/auth/signup", json=body)


def confirm_email(stack: Stack, person: Person) -> dict[str, Any]:
    token = link_token(stack, person.email, "verify-email.html")
    response = stack.api.post("/auth/verify-email", json={"token": token})
    assert response.status_code == 200, response.text
    return dict(response.json())


def confirm_mobile(stack: Stack, person: Person, challenge: str) -> dict[str, Any]:
    response = stack.api.post("/auth/verify-mobile", json={
        "challenge": challenge, "code": sms_code(stack, person.mobile)})
    assert response.status_code == 200, response.text
    return dict(response.json())


def signed_up_and_confirmed(stack: Stack, person: Person) -> None:
    """Sign-up, email link, SMS code: the account waits for an admin's review."""
    assert sign_up(stack, person).status_code == 202
    state = confirm_email(stack, person)
    assert state["status"] == "pending_mobile"
    assert confirm_mobile(stack, person, state["sms"]["challenge"])["status"] == "pending_review"


def login_by_link(stack: Stack, person: Person) -> dict[str, Any]:
    """Ask for a link, open it; the answer is signed_in or mfa_required."""
    def links() -> int:  # sign-in links only: a queued notice may land meanwhile
        return len([m for m in stack.emails_to(person.email) if "sign-in link" in m["subject"]])

    before = links()
    response = stack.api.post("/auth/login/email-link", json={"email": person.email})
    assert response.status_code == 202, response.text
    assert links() == before + 1, "no sign-in link was sent"
    token = link_token(stack, person.email, "login-link.html")
    response = stack.api.post("/auth/login/link", json={"token": token})
    assert response.status_code == 200, response.text
    return dict(response.json())


def finish_mfa(stack: Stack, mobile: str, answer: dict[str, Any]) -> ApiClient:
    assert answer["status"] == "mfa_required", answer
    assert answer.get("token") is None
    response = stack.api.post("/auth/login/mfa", json={
        "challenge": answer["mfa"]["challenge"], "code": sms_code(stack, mobile)})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "signed_in"
    return stack.api.as_(response.json()["token"])


def session_of(stack: Stack, answer: dict[str, Any]) -> ApiClient:
    assert answer["status"] == "signed_in", answer
    return stack.api.as_(answer["token"])
