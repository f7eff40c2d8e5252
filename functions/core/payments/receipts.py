"""The emails a payer gets about a bill's payment status (plain text, IST times)."""

from __future__ import annotations

from datetime import date, datetime

from functions.core.billing_rules.periods import BillingPeriod, format_ist, format_ist_date
from functions.core.money import format_inr, from_paise
from functions.core.payments.provider import METHOD_LABELS


def period_label(period: str) -> str:
    """'2026-10' -> 'Oct 2026' (format_ist_date is locale-independent; drop the day)."""
    return format_ist_date(BillingPeriod.parse(period).first_day)[3:]


def receipt_email(*, name: str, bill_id: str, period: str, amount_paise: int, method: str,
                  payment_id: str, paid_at: datetime, reference: str | None) -> tuple[str, str]:
    subject = f"Payment received: electricity bill for {period_label(period)}"
    lines = [
        f"Dear {name},",
        "",
        f"We have received your payment of {format_inr(from_paise(amount_paise))} "
        f"for your electricity bill for {period_label(period)}. Thank you.",
        "",
        f"Bill:        {bill_id}",
        f"Paid on:     {format_ist(paid_at)}",
        f"Method:      {METHOD_LABELS.get(method, method)}",
        f"Payment id:  {payment_id}",
    ]
    if reference:
        lines.append(f"Reference:   {reference}")
    lines += ["", "Keep this email as your receipt."]
    return subject, "\n".join(lines)


def overdue_email(*, name: str, bill_id: str, period: str, due: date, total_paise: int,
                  surcharge_paise: int) -> tuple[str, str]:
    subject = f"Overdue: electricity bill for {period_label(period)}"
    text = "\n".join([
        f"Dear {name},",
        "",
        f"Your electricity bill for {period_label(period)} was due on {format_ist_date(due)} "
        "and has not been paid.",
        "",
        f"Bill:                    {bill_id}",
        f"Bill amount:             {format_inr(from_paise(total_paise))}",
        f"Late-payment surcharge:  {format_inr(from_paise(surcharge_paise))}",
        f"Amount due now:          {format_inr(from_paise(total_paise + surcharge_paise))}",
        "",
        "Please pay it on the customer portal.",
    ])
    return subject, text


def refund_email(*, name: str, bill_id: str, period: str, amount_paise: int, payment_id: str,
                 status: str, reason: str) -> tuple[str, str]:
    """The payer's news of a refund: started (pending) or done (processed)."""
    amount = format_inr(from_paise(amount_paise))
    if status == "processed":
        subject = f"Refund processed: {amount} for your electricity bill ({period_label(period)})"
        opening = (f"The refund of {amount} for your electricity bill for {period_label(period)} "
                   "has been processed. It reaches your account within a few working days, "
                   "as your bank credits it.")
    else:
        subject = f"Refund started: {amount} for your electricity bill ({period_label(period)})"
        opening = (f"We have started a refund of {amount} of your payment for your electricity "
                   f"bill for {period_label(period)}. The payment gateway usually completes it "
                   "within 5 to 7 working days; we will email you when it is done.")
    lines = [
        f"Dear {name},",
        "",
        opening,
        "",
        f"Bill:        {bill_id}",
        f"Payment id:  {payment_id}",
        f"Refund:      {amount}",
        f"Reason:      {reason}",
        "",
        "You can follow the refund on the bill in the customer portal.",
    ]
    return subject, "\n".join(lines)
