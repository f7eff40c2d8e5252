"""Prepaid storage: one account item per connection, one ledger item per entry.

The ledger is append-only: an entry's key says what caused it
("recharge#<payment id>", "debit#<YYYY-MM-DD>", "adjust#<key>"), and it is
written with a condition that the key is new, in the same transaction that adds
its amount to the account's balance. So a redelivered webhook or a second run of
the same day finds the entry there, the whole transaction is cancelled, and
nothing is applied twice; the balance is always the ledger's sum.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    NumberSetAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from functions.core.db import gsi_meta, registered, table_meta

MODE_POSTPAID = "postpaid"
MODE_PREPAID = "prepaid"

ENTRY_RECHARGE = "recharge"
ENTRY_DEBIT = "debit"
ENTRY_ADJUSTMENT = "adjustment"

RELAY_CONNECTED = "connected"
RELAY_DISCONNECTED = "disconnected"


class AccountsByNegative(GlobalSecondaryIndex["PrepaidAccountRecord"]):
    Meta = gsi_meta("by_negative")
    negative_shard = UnicodeAttribute(hash_key=True)
    balance_paise = NumberAttribute(range_key=True)


@registered
class PrepaidAccountRecord(Model):
    Meta = table_meta("prepaid_accounts")

    connection_id = UnicodeAttribute(hash_key=True)  # the property (one meter, one supply)
    mode = UnicodeAttribute(default=MODE_POSTPAID)
    mode_from = UnicodeAttribute(null=True)  # IST date the current mode took effect
    # [{"mode", "from", "by", "at"}]: each change an admin made, oldest first.
    mode_history = JSONAttribute(default=list)
    payer_id = UnicodeAttribute(null=True)
    meter_id = UnicodeAttribute(null=True)
    balance_paise = NumberAttribute(default=0)  # == sum of the ledger's amounts
    entries = NumberAttribute(default=0)
    emergency_credit_paise = NumberAttribute(default=0)
    # What the low-balance thresholds are percentages of (the average monthly charge).
    monthly_reference_paise = NumberAttribute(default=0)
    # Thresholds (percent) already alerted since the balance was last above them.
    alerted = NumberSetAttribute(null=True)
    disputed = BooleanAttribute(default=False)  # a ticket disputing the balance is open
    # The payer asked for the daily balance SMS (after each day's debit); null: no.
    daily_sms = BooleanAttribute(null=True)
    relay = UnicodeAttribute(default=RELAY_CONNECTED)  # as the meter last acknowledged
    pending_command = UnicodeAttribute(null=True)  # command id awaiting its ack
    updated_at = UTCDateTimeAttribute(null=True)
    # by_negative (the admin's negative balances, most negative first in each shard):
    # "negative#<shard>", set in the transaction of every debit that takes the balance
    # below 0 (LedgerRepository.append), so a balance below 0 always has it; removed by
    # the review once the balance is >= 0.
    negative_shard = UnicodeAttribute(null=True)

    by_negative = AccountsByNegative()


class LedgerByPosted(GlobalSecondaryIndex["LedgerEntryRecord"]):
    Meta = gsi_meta("by_posted")
    connection_id = UnicodeAttribute(hash_key=True)
    posted_key = UnicodeAttribute(range_key=True)


@registered
class LedgerEntryRecord(Model):
    Meta = table_meta("prepaid_ledger")

    connection_id = UnicodeAttribute(hash_key=True)
    entry_key = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()  # recharge | debit | adjustment
    amount_paise = NumberAttribute()  # signed: credits > 0, debits < 0
    day = UnicodeAttribute()  # IST date the entry belongs to
    explanation = UnicodeAttribute(default="")
    payment_id = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    # Debits: what the month-to-date charge was, so the statement can show it.
    charge_to_date_paise = NumberAttribute(null=True)
    units_to_date = UnicodeAttribute(null=True)
    # "<created_at UTC>#<entry_key>": the statement's order. The entry key says what
    # caused an entry (so it stays idempotent) but sorts by kind, not by time.
    posted_key = UnicodeAttribute(null=True)

    by_posted = LedgerByPosted()


def posted_key(entry: LedgerEntryRecord) -> str:
    return f"{entry.created_at:%Y-%m-%dT%H:%M:%S.%fZ}#{entry.entry_key}"
