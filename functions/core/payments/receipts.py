"""The emails a payer gets about a bill's payment status: what each template
(notifications/templates/email/payment_receipt, refund_started, refund_processed,
bill_overdue) is given. Amounts in rupees with Indian grouping, times in IST."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from functions.core.billing_rules.periods import BillingPeriod, format_ist_date
from functions.core.i18n import DEFAULT_LANGUAGE, format_date_ist, format_moment_ist, normalise
from functions.core.money import format_inr, from_paise
from functions.core.payments.provider import METHOD_LABELS


def period_label(period: str) -> str:
    """'2026-10' -> 'Oct 2026' (format_ist_date is locale-independent; drop the day)."""
    return format_ist_date(BillingPeriod.parse(period).first_day)[3:]


def _month(period: str, lang: str | None) -> str:
    """The bill's month as the payer reads it: 'Oct 2026', 'अक्टूबर 2026'."""
    if normalise(lang) == DEFAULT_LANGUAGE:
        return period_label(period)
    return format_date_ist(BillingPeriod.parse(period).first_day, lang, month="long")


def receipt_context(*, name: str, bill_id: str, period: str, amount_paise: int, method: str,
                    payment_id: str, paid_at: datetime, reference: str | None,
                    lang: str | None = None) -> dict[str, Any]:
    """In the payer's language `lang`: month names in it (amounts as in every language)."""
    month, paid_on = _month(period, lang), format_moment_ist(paid_at, lang)
    return {"name": name, "bill_id": bill_id, "month": month,
            "amount": format_inr(from_paise(amount_paise)), "paid_on": paid_on,
            "method": METHOD_LABELS.get(method, method), "payment_id": payment_id,
            "reference": reference}


def overdue_context(*, name: str, bill_id: str, period: str, due: date, total_paise: int,
                    surcharge_paise: int, lang: str | None = None) -> dict[str, Any]:
    english = normalise(lang) == DEFAULT_LANGUAGE
    return {"name": name, "bill_id": bill_id, "month": _month(period, lang),
            "due": format_ist_date(due) if english else format_date_ist(due, lang),
            "total": format_inr(from_paise(total_paise)),
            "surcharge": format_inr(from_paise(surcharge_paise)),
            "amount_due": format_inr(from_paise(total_paise + surcharge_paise))}


def refund_template(status: str) -> str:
    """The payer's news of a refund: started (pending) or done (processed)."""
    return "refund_processed" if status == "processed" else "refund_started"


def refund_context(*, name: str, bill_id: str, period: str, amount_paise: int,
                   payment_id: str, reason: str, lang: str | None = None) -> dict[str, Any]:
    return {"name": name, "bill_id": bill_id, "month": _month(period, lang),
            "amount": format_inr(from_paise(amount_paise)), "payment_id": payment_id,
            "reason": reason}
