"""What a prepaid customer is told by email and SMS, in their language (issue 24 items
4 and 5): low balance, recharge receipts, and the daily balance SMS.

Each message is an outbox item keyed by the event that caused it, so a redelivered
webhook, a second run of the same day or two workers at once send it once:
- low balance: "<template>#<connection>#<threshold>#<ledger length>", written after
  the account's conditional claim of that crossing (AccountRepository.mark_alerted);
- recharge receipt: "<template>#<payment id>";
- daily balance: "daily_balance#<connection>#<day>".
Who gets what: email as every notice; SMS (DLT templates in sms_templates.toml) - the
low-balance warning to every payer with a mobile (supply may be cut next), the
receipt to payers who chose SMS (as a bill's payment SMS), the daily balance to those
who switched it on for the connection (PrepaidAccountRecord.daily_sms).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from functions.core.accounts.models import UserRecord
from functions.core.accounts.users import UserRepository
from functions.core.i18n import format_time_ist
from functions.core.logs import logger
from functions.core.money import format_inr, from_paise
from functions.core.notifications.service import Notifications
from functions.core.notifications.sms_messages import (
    daily_balance_sms,
    language_of,
    low_balance_sms,
    recharge_received_sms,
    wants_sms,
)
from functions.core.prepaid.models import PrepaidAccountRecord
from functions.core.properties.repositories import PropertyRepository

TOPIC = "prepaid"
LOW_BALANCE_EMAIL = "prepaid_low_balance"
RECHARGE_EMAIL = "prepaid_recharge"


@dataclass(frozen=True)
class Recipient:
    user: UserRecord
    consumer_number: str  # what the customer quotes; the connection id until assigned
    lang: str


def recipient(account: PrepaidAccountRecord, payer_id: str | None = None
              ) -> Recipient | None:
    """Who is told about the connection: `payer_id` (who paid a recharge), else the
    account's payer, else the property's owner."""
    prop = PropertyRepository().get(account.connection_id)
    users = UserRepository()
    user = users.get(payer_id) if payer_id else None
    user = user or users.get(account.payer_id or (prop.owner_id if prop else ""))
    if user is None:
        return None
    number = (prop.consumer_number if prop else None) or account.connection_id
    return Recipient(user, number[-30:], language_of(user))  # a DLT variable: <= 30


def low_balance_alert(account: PrepaidAccountRecord, threshold: int, balance: int) -> None:
    """The low-balance email and SMS, once per crossing (the caller claimed it)."""
    to = recipient(account)
    if to is None:
        logger.info("low balance: nobody to tell", extra={
            "connection_id": account.connection_id, "threshold": threshold})
        return
    event = f"{account.connection_id}#{threshold}#{int(account.entries)}"
    notifications = Notifications()
    notifications.queue_email(
        LOW_BALANCE_EMAIL, event, to.user.email, topic=TOPIC, recipient_id=to.user.user_id,
        ref=account.connection_id, lang=to.lang, name=to.user.name,
        connection=account.connection_id, balance=format_inr(from_paise(balance)),
        threshold=threshold,
        emergency_credit=format_inr(from_paise(int(account.emergency_credit_paise))))
    if to.user.mobile:
        notifications.queue_sms(
            low_balance_sms(consumer_number=to.consumer_number, balance_paise=balance,
                            threshold=threshold, lang=to.lang),
            event, to.user.mobile, topic=TOPIC, recipient_id=to.user.user_id,
            ref=account.connection_id)


def recharge_receipt(account: PrepaidAccountRecord, payment_id: str, amount_paise: int,
                     paid_at: datetime, payer_id: str | None = None) -> None:
    """The receipt of a credited recharge (email, and SMS to payers who chose it), once
    per payment however often the webhook comes. `account`: read after the credit."""
    to = recipient(account, payer_id)
    if to is None:
        logger.warning("no recharge receipt: payer missing", extra={"payment_id": payment_id})
        return
    balance = int(account.balance_paise)
    paid_on = format_time_ist(paid_at, to.lang)
    notifications = Notifications()
    notifications.queue_email(
        RECHARGE_EMAIL, payment_id, to.user.email, topic=TOPIC, recipient_id=to.user.user_id,
        ref=account.connection_id, lang=to.lang, name=to.user.name,
        connection=to.consumer_number, amount=format_inr(from_paise(amount_paise)),
        balance=format_inr(from_paise(balance)), paid_on=paid_on, payment_id=payment_id)
    if wants_sms(to.user):
        notifications.queue_sms(
            recharge_received_sms(consumer_number=to.consumer_number,
                                  amount_paise=amount_paise, balance_paise=balance,
                                  paid_at=paid_at, payment_id=payment_id, lang=to.lang),
            payment_id, to.user.mobile, topic=TOPIC, recipient_id=to.user.user_id,
            ref=account.connection_id)


def daily_balance_notice(account: PrepaidAccountRecord, day: date, charge_paise: int
                         ) -> bool:
    """The day's balance SMS after its debit (the caller checked the opt-in): once per
    connection and day. `account`: read after the debit."""
    to = recipient(account)
    if to is None or not to.user.mobile:
        return False
    return Notifications().queue_sms(
        daily_balance_sms(consumer_number=to.consumer_number, day=day,
                          charge_paise=charge_paise,
                          balance_paise=int(account.balance_paise), lang=to.lang),
        f"{account.connection_id}#{day.isoformat()}", to.user.mobile, topic=TOPIC,
        recipient_id=to.user.user_id, ref=account.connection_id)
