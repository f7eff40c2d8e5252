"""Issue 23: a customer's language is kept in the profile (the portal's switch and
the profile page set it; emails and SMS follow it)."""

from __future__ import annotations

from functions.core.accounts.sessions import issue_session
from tests.fixtures.stack import create_user


def test_the_profile_keeps_a_configured_language(stack):
    person = create_user("customer", name="Sunita Patil")
    api = stack.api.as_(issue_session(person))
    assert api.get("/me").json()["language"] == "en"

    chosen = api.put("/me/language", json={"language": "mr"})
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["language"] == "mr"
    assert api.get("/me").json()["language"] == "mr"

    unknown = api.put("/me/language", json={"language": "fr"})
    assert unknown.status_code == 400
    assert "en, hi, mr" in unknown.json()["message"]
    assert api.get("/me").json()["language"] == "mr"
