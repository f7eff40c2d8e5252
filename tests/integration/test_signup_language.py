"""Issue 23: a person who signs up on the Hindi or Marathi page gets the confirmation
email in that language, and the account keeps it (the portal opens in it)."""

from __future__ import annotations

import pytest

from tests.fixtures.stack import Stack
from tests.integration.accounts_flow import new_person

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fresh_rate_limits")]


def test_the_confirmation_email_is_in_the_sign_up_pages_language(stack: Stack) -> None:
    person = new_person()
    answer = stack.api.post("/auth/signup", json={
        "name": person.name, "email": person.email, "mobile": person.mobile, "language": "mr"})
    assert answer.status_code == 202, answer.text
    mail = stack.wait_for_emails(person.email)[0]
    assert "तुमच्या ईमेल पत्त्याची पुष्टी करा" in mail["subject"]
    assert "हा लिंक उघडून तुमच्या ईमेल पत्त्याची पुष्टी करा:" in mail["body"]
