"""Templates: every email renders, every SMS matches its DLT registration."""

from __future__ import annotations

import pytest
from jinja2 import UndefinedError

from functions.core.accounts.signup import SMS_WORDING
from functions.core.notifications.templates import (
    TemplateMismatch,
    dlt_registration,
    matches_registration,
    render_email,
    render_sms,
    sms_template_names,
)


@pytest.mark.parametrize("purpose", sorted(SMS_WORDING.values()))
def test_every_one_time_code_sms_matches_its_registered_dlt_template(purpose: str) -> None:
    sms = render_sms("one_time_code", code="123456", purpose=purpose, minutes=10)
    assert sms.text == (f"123456 is your Discom Smart Billing code to {purpose}. "
                        "It expires in 10 min. Never share it with anyone.")
    assert sms.dlt.template_id == dlt_registration("one_time_code").template_id
    assert len(sms.dlt.entity_id) == 19 and sms.dlt.header


def test_an_sms_its_template_does_not_allow_is_refused() -> None:
    with pytest.raises(TemplateMismatch):  # a DLT variable carries at most 30 characters
        render_sms("one_time_code", code="123456", purpose="x" * 31, minutes=10)
    registered = dlt_registration("one_time_code").registered
    assert not matches_registration("Your code is 123456", registered)
    assert matches_registration(registered.replace("{#var#}", "1"), registered)


def test_every_sms_template_is_registered() -> None:
    assert sms_template_names() == ["bill_ready", "daily_balance", "due_reminder",
                                    "low_balance", "one_time_code", "payment_received",
                                    "recharge_received"]


def test_a_missing_variable_is_an_error_not_a_blank() -> None:
    with pytest.raises(UndefinedError):
        render_email("account_rejected", name="Asha")  # no reason


def test_account_notices_read_as_before() -> None:
    email = render_email("account_rejected", name="Asha", reason="ID unreadable")
    assert email.subject == "Your Discom Smart Billing account could not be verified"
    assert email.text == ("Hello Asha,\n\nAn administrator could not verify your account.\n\n"
                          "Reason: ID unreadable\n\nIf you think this is a mistake, please "
                          "contact your distribution company's office.\n")
    admin = render_email("email_verification", name="Ravi", invited_as_admin=True,
                         link="L", token="T", minutes=60)
    assert "You have been invited to be an administrator" in admin.text
    assert "Thank you for signing up" not in admin.text
