"""SMS under TRAI's DLT rules: every SMS the code can send, rendered in every language
the portal offers with the longest values it carries, matches the text registered for
its DLT template id (each variable 1-30 characters, a link 1-50), and goes to SNS with
the entity id, template id and sender header AWS documents for India."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from functions.core.accounts.signup import SMS_WORDING
from functions.core.i18n import language_codes
from functions.core.notifications import sms_messages
from functions.core.notifications.models import OutboxRecord
from functions.core.notifications.sender import AwsGateway
from functions.core.notifications.templates import (
    DLT_URL,
    DLT_VARIABLE,
    RenderedSms,
    dlt_registration,
    matches_registration,
    registered_text,
    render_sms,
    sms_languages,
    sms_template_names,
)

ROOT = Path(__file__).resolve().parents[2]
SENDS = re.compile(r"""(?:render_sms|send_secret_sms|queue_sms)\(\s*["'](\w+)["']""")
BUILDERS: dict[str, Callable[..., RenderedSms]] = {
    "bill_ready": sms_messages.bill_ready_sms,
    "payment_received": sms_messages.payment_received_sms,
    "due_reminder": sms_messages.due_reminder_sms,
    "low_balance": sms_messages.low_balance_sms,
    "recharge_received": sms_messages.recharge_received_sms,
    "daily_balance": sms_messages.daily_balance_sms}
DEVANAGARI = re.compile("[\u0900-\u097f]")


def every_sms(lang: str) -> list[RenderedSms]:
    """Each SMS the code sends, in `lang`, with the longest values it carries."""
    samples = sms_messages.sample_contexts()
    rendered = [render_sms("one_time_code", lang, code="123456", purpose=purpose, minutes=15)
                for purpose in SMS_WORDING.values()]
    rendered += [build(**samples[name], lang=lang) for name, build in BUILDERS.items()]
    return rendered


def test_the_code_sends_only_registered_templates_and_each_is_tested():
    used = {match for path in (ROOT / "functions").rglob("*.py")
            for match in SENDS.findall(path.read_text(encoding="utf-8"))}
    assert used <= set(sms_template_names())
    assert set(sms_template_names()) == {"one_time_code", *BUILDERS}


@pytest.mark.parametrize("lang", language_codes())
def test_every_sms_matches_its_registered_template_in_every_language(lang):
    for sms in every_sms(lang):
        registration = dlt_registration(sms.template, lang)
        assert sms.lang == lang and sms.dlt == registration
        assert matches_registration(sms.text, registration.registered), sms.text
        # The registered text is the template's own text, variables as {#var#}/{#url#}.
        assert "{" not in registration.registered.replace(DLT_VARIABLE, "").replace(
            DLT_URL, "")
        assert "Discom Smart Billing" in sms.text  # the brand, as DLT requires
        if lang != "en":
            assert DEVANAGARI.search(sms.text), f"{sms.template} is not in {lang}"
        # Multi-part SMS: 153 GSM-7 or 67 UCS-2 characters a part; at most three parts.
        part = 153 if sms.text.isascii() else 67
        assert -(-len(sms.text) // part) <= 3, (sms.template, lang, len(sms.text))


def test_each_language_of_a_template_is_a_registration_of_its_own():
    ids = [dlt_registration(name, lang).template_id for name in sms_template_names()
           for lang in sms_languages(name)]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"\d{19}", i) for i in ids)
    for name in sms_template_names():
        assert set(sms_languages(name)) == set(language_codes())
        assert dlt_registration(name).category in ("transactional", "service_implicit",
                                                   "service_explicit")


def test_a_value_too_long_for_its_variable_is_refused_not_sent():
    from functions.core.notifications.templates import TemplateMismatch

    with pytest.raises(TemplateMismatch):
        render_sms("bill_ready", "hi", month="x" * 31, consumer_number="1000000017",
                   amount="1", due="1", link="http://x")
    assert not matches_registration("Your code is 1", registered_text("one_time_code"))


def test_an_unknown_language_falls_back_to_english():
    sms = sms_messages.bill_ready_sms(**sms_messages.sample_contexts()["bill_ready"],
                                      lang="ta")
    assert sms.lang == "en" and sms.text.startswith("Your September 2026 electricity bill")


def test_sns_gets_the_entity_template_and_sender_of_the_sms_language(monkeypatch):
    """The attribute names AWS documents for SMS to India (SNS Publish)."""
    published = {}

    class FakeSns:
        def publish(self, **kwargs):
            published.update(kwargs)
            return {"MessageId": "m-1"}

    monkeypatch.setattr("functions.core.notifications.sender.client", lambda name: FakeSns())
    sms = sms_messages.bill_ready_sms(**sms_messages.sample_contexts()["bill_ready"],
                                      lang="mr")
    record = OutboxRecord(message_key="k", channel="sms", template="bill_ready",
                          recipient="+919800000000", dlt_template_id=sms.dlt.template_id)
    assert AwsGateway().sms(record, sms.text) == "m-1"
    attributes = {k: v["StringValue"] for k, v in published["MessageAttributes"].items()}
    assert attributes == {"AWS.SNS.SMS.SMSType": "Transactional",
                          "AWS.SNS.SMS.SenderID": "DISCOM",
                          "AWS.MM.SMS.EntityId": "1101000000000000000",
                          "AWS.MM.SMS.TemplateId": "1107000000000000013"}
    assert published["Message"] == sms.text


def test_a_bill_is_announced_by_email_and_or_sms_as_the_payer_chose():
    from datetime import UTC, datetime

    from functions.core.accounts.models import UserRecord
    from functions.core.bills.models import BillRecord
    from functions.core.bills.service import BillingService
    from functions.core.properties.models import PropertyRecord

    bill = BillRecord(bill_id="BILL-prp_1-2026-11", property_id="prp_1", period="2026-11",
                      consumer_number="1000000017", payer_id="usr_1", owner_id="usr_1",
                      due_date="2026-12-16", total="1380.00", total_paise=138_000,
                      arrears_paise=20_000, issued_at=datetime(2026, 12, 1, tzinfo=UTC),
                      share_first_day="2026-11-01", share_last_day="2026-11-30", units=300,
                      late_payment_surcharge_percent="2")
    prop = PropertyRecord(property_id="prp_1", line1="7 Residency Road", city="Pune")

    def sent(notify_by, language="hi"):
        payer = UserRecord(user_id="usr_1", name="Asha", email="a@example.in",
                           mobile="+919800000000", notify_by=notify_by, language=language)
        return {r.channel: r for r in BillingService().bill_emails([bill], prop,
                                                                   {"usr_1": payer})}

    assert set(sent(None)) == {"email"}
    assert set(sent("sms")) == {"sms"}
    both = sent("email+sms")
    sms = both["sms"]
    assert set(both) == {"email", "sms"} and sms.recipient == "+919800000000"
    assert sms.dlt_template_id == dlt_registration("bill_ready", "hi").template_id
    assert "1000000017" in sms.body and "₹1,580.00" in sms.body  # bill + arrears
    assert matches_registration(sms.body, registered_text("bill_ready", "hi"))


def test_the_developer_outbox_shows_each_sms_dlt_ids():
    from devstack.outbox import render

    sms = sms_messages.due_reminder_sms(**sms_messages.sample_contexts()["due_reminder"],
                                        lang="hi")
    shown = render({"emails": [], "sms": [{"to": "+919800000000", "message": sms.text},
                                          {"to": "+919800000000", "message": "Hello"}]})
    assert (f"DLT: template {sms.dlt.template_id} (due_reminder, hi, service_implicit), "
            "entity 1101000000000000000, header DISCOM") in shown
    assert "matches no registered template" in shown
