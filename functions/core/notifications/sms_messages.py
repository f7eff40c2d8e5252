"""The SMS the platform sends about bills, payments and prepaid balances, in the
customer's language.

Each renders a DLT-registered template (sms_templates.toml) with the bill's consumer
number, the amount (Indian grouping; the currency sign is fixed text of the template)
and the quick pay link of the connection, which shows the amount due and takes the
payment without signing in. Who gets them: customers who chose SMS for non-essential
messages (`wants_sms`); sign-in codes are sent regardless (accounts.mailer), and so is
a prepaid low-balance warning (supply may be cut next); the daily balance SMS goes to
those who switched it on for the connection.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from functions.core.accounts.models import UserRecord
from functions.core.billing_rules.periods import parse_period, to_ist
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


def balance_text(paise: int) -> str:
    """A balance that may be below zero: -1,234.50 (the sign before the digits)."""
    amount = amount_text(abs(Decimal(paise)) / 100)
    return f"-{amount}" if paise < 0 else amount


def paid_on_text(moment: datetime, lang: str) -> str:
    """7 Dec 2026 14:30 IST, the month in the language."""
    return f"{format_date_ist(moment, lang)} {to_ist(moment):%H:%M} IST"


def low_balance_sms(*, consumer_number: str, balance_paise: int, threshold: int,
                    lang: str) -> RenderedSms:
    return render_sms("low_balance", lang, balance=balance_text(balance_paise),
                      consumer_number=consumer_number, threshold=threshold)


def recharge_received_sms(*, consumer_number: str, amount_paise: int, balance_paise: int,
                          paid_at: datetime, payment_id: str, lang: str) -> RenderedSms:
    return render_sms("recharge_received", lang, amount=balance_text(amount_paise),
                      consumer_number=consumer_number, paid_on=paid_on_text(paid_at, lang),
                      balance=balance_text(balance_paise), reference=payment_id[-20:])


def daily_balance_sms(*, consumer_number: str, day: date, charge_paise: int,
                      balance_paise: int, lang: str) -> RenderedSms:
    return render_sms("daily_balance", lang, consumer_number=consumer_number,
                      day=format_date_ist(day, lang), charge=balance_text(charge_paise),
                      balance=balance_text(balance_paise))


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
        "low_balance": dict(consumer_number="1000000017", balance_paise=-1_234_567_890,
                            threshold=10),
        "recharge_received": dict(consumer_number="1000000017", amount_paise=1_234_567_890,
                                  balance_paise=-1_234_567_890,
                                  paid_at=datetime(2026, 12, 30, 18, 29, tzinfo=UTC),
                                  payment_id="pay_QH7x2LmZk9AbCdEf"),
        "daily_balance": dict(consumer_number="1000000017", day=date(2026, 12, 30),
                              charge_paise=1_234_567_890, balance_paise=-1_234_567_890),
    }
