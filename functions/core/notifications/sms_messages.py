"""The SMS the platform sends about bills and payments, in the customer's language.

Each renders a DLT-registered template (sms_templates.toml) with the bill's consumer
number, the amount (Indian grouping; the currency sign is fixed text of the template)
and the quick pay link of the connection, which shows the amount due and takes the
payment without signing in. Who gets them: customers who chose SMS for non-essential
messages (`wants_sms`); sign-in codes are sent regardless (accounts.mailer).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from functions.core.accounts.models import UserRecord
from functions.core.billing_rules.periods import parse_period
from functions.core.i18n import format_date_ist
from functions.core.money import format_inr
from functions.core.notifications.templates import RenderedSms, render_sms
from functions.core.settings import get_settings


def language_of(user: UserRecord) -> str:
    """The customer's language (the profile's, issue 23 item 1), English by default."""
    return str(getattr(user, "language", None) or "en")


def wants_sms(user: UserRecord) -> bool:
    return "sms" in (user.notify_by or "email").split("+") and bool(user.mobile)


def wants_email(user: UserRecord) -> bool:
    return "email" in (user.notify_by or "email").split("+")


def amount_text(amount: Decimal) -> str:
    """1,23,456.78: the template carries the currency sign as fixed text."""
    return format_inr(amount).lstrip("₹")


def quick_pay_link(consumer_number: str) -> str:
    return f"{get_settings().portal_origin}/quick-pay.html?n={quote(consumer_number, safe='')}"


def month_text(period: str, lang: str) -> str:
    billing = parse_period(period)
    return format_date_ist(date(billing.year, billing.month, 1), lang, month="long")


def bill_ready_sms(*, period: str, consumer_number: str, amount: Decimal, due_date: str,
                   lang: str) -> RenderedSms:
    return render_sms("bill_ready", lang, month=month_text(period, lang),
                      consumer_number=consumer_number, amount=amount_text(amount),
                      due=format_date_ist(date.fromisoformat(due_date), lang),
                      link=quick_pay_link(consumer_number))


def payment_received_sms(*, period: str, consumer_number: str, amount: Decimal,
                         reference: str, lang: str) -> RenderedSms:
    return render_sms("payment_received", lang, month=month_text(period, lang),
                      consumer_number=consumer_number, amount=amount_text(amount),
                      reference=reference[-20:])


def due_reminder_sms(*, consumer_number: str, amount: Decimal, due_date: str,
                     lang: str) -> RenderedSms:
    return render_sms("due_reminder", lang, consumer_number=consumer_number,
                      amount=amount_text(amount),
                      due=format_date_ist(date.fromisoformat(due_date), lang),
                      link=quick_pay_link(consumer_number))


def sample_contexts() -> dict[str, dict[str, Any]]:
    """The longest values each SMS carries (for the DLT test and the docs)."""
    return {
        "bill_ready": dict(period="2026-09", consumer_number="1000000017",
                           amount=Decimal("12345678.90"), due_date="2026-12-30"),
        "payment_received": dict(period="2026-09", consumer_number="1000000017",
                                 amount=Decimal("12345678.90"),
                                 reference="pay_QH7x2LmZk9AbCdEf"),
        "due_reminder": dict(consumer_number="1000000017", amount=Decimal("12345678.90"),
                             due_date="2026-12-30"),
    }
