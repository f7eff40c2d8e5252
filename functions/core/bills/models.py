"""Bills in DynamoDB.

One bill per property per billing period. Its id is deterministic:
`BILL-<property_id>-<period>`, so writing it with a condition
(attribute_not_exists) makes SQS redelivery, concurrent handlers and a re-run
harmless. When the occupant changed inside the period the bill is split by
days into shares (billing_rules.occupancy.split_by_days): the first share
keeps the plain id and share n (n >= 2) is `BILL-<property_id>-<period>-<n>`.
All shares are written in one transaction that includes the plain id, so the
plain id existing means "this property is billed for this period", whatever
the split.

Money: every amount is a Decimal in rupees written as text with two decimals
("1380.00"); the amount to pay is also kept as integer paise (`total_paise`)
for sums and comparisons. See functions/core/money.py for the rounding rule.

Dates: `issued_at` (and the readings' times) are UTC instants; `due_date` is
an IST calendar date "YYYY-MM-DD": the last day to pay without surcharge.

Status: issued -> paid, or issued -> overdue (after the due date) -> paid.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from functions.core.db import gsi_meta, registered, table_meta
from functions.core.money import from_paise
from functions.core.shards import sharded

BILL_ISSUED = "issued"
BILL_PAID = "paid"
BILL_OVERDUE = "overdue"
BILL_STATUSES = (BILL_ISSUED, BILL_PAID, BILL_OVERDUE)
UNPAID_STATUSES = (BILL_ISSUED, BILL_OVERDUE)


def bill_id_for(property_id: str, period: str, share: int = 1) -> str:
    """`BILL-<property_id>-<period>`; shares after the first get `-<n>`."""
    base = f"BILL-{property_id}-{period}"
    return base if share == 1 else f"{base}-{share}"


class LineItemAttribute(MapAttribute[str, str]):
    """One printed line: quantity x rate = amount (see billing_rules.tariff.LineItem).

    kind: energy | credit | fixed | percentage | flat. Numbers are Decimal text."""

    kind = UnicodeAttribute()
    label = UnicodeAttribute()
    quantity = UnicodeAttribute(null=True)
    unit = UnicodeAttribute(null=True)  # kWh, kW, or INR (the base of a percentage)
    rate = UnicodeAttribute(null=True)  # rupees per unit, or the percent
    amount = UnicodeAttribute()  # rupees, two decimals; negative for a credit
    # On a split share: the whole property's amount for this line (amount is the share).
    property_amount = UnicodeAttribute(null=True)


class BillsByPayer(GlobalSecondaryIndex["BillRecord"]):
    Meta = gsi_meta("by_payer")
    payer_id = UnicodeAttribute(hash_key=True)
    period = UnicodeAttribute(range_key=True)


class BillsByProperty(GlobalSecondaryIndex["BillRecord"]):
    Meta = gsi_meta("by_property")
    property_id = UnicodeAttribute(hash_key=True)
    period = UnicodeAttribute(range_key=True)


class BillsByPeriod(GlobalSecondaryIndex["BillRecord"]):
    """"<period>#<shard of the bill id>" -> bills: a run's bills spread over shards."""

    Meta = gsi_meta("by_period")
    period_shard = UnicodeAttribute(hash_key=True)
    bill_id = UnicodeAttribute(range_key=True)


class BillsByStatus(GlobalSecondaryIndex["BillRecord"]):
    """"<status>#<shard of the bill id>" -> bills by due date."""

    Meta = gsi_meta("by_status")
    status_shard = UnicodeAttribute(hash_key=True)
    due_date = UnicodeAttribute(range_key=True)


@registered
class BillRecord(Model):
    Meta = table_meta("bills")

    bill_id = UnicodeAttribute(hash_key=True)
    property_id = UnicodeAttribute()
    # The property's consumer number (printed on the bill, the PDF and the SMS); null
    # on bills issued before consumer numbers existed.
    consumer_number = UnicodeAttribute(null=True)
    period = UnicodeAttribute()  # "YYYY-MM", a calendar month in IST
    payer_id = UnicodeAttribute()  # the user who pays this bill (owner or tenant)
    owner_id = UnicodeAttribute()  # the property's owner when the bill was issued
    meter_id = UnicodeAttribute()
    run_id = UnicodeAttribute()
    status = UnicodeAttribute(default=BILL_ISSUED)  # issued | paid | overdue
    # Index keys, set from period/status and the bill id's shard (functions/core/shards.py).
    period_shard = UnicodeAttribute(null=True)
    status_shard = UnicodeAttribute(null=True)
    issued_at = UTCDateTimeAttribute()
    due_date = UnicodeAttribute()  # IST date "YYYY-MM-DD"

    # Tariff: the version that priced it (never edited afterwards, only superseded).
    category = UnicodeAttribute()  # residential | commercial
    tariff_name = UnicodeAttribute()
    tariff_version = UnicodeAttribute()  # "<category>@<effective_from>"
    sanctioned_load_kw = UnicodeAttribute()  # Decimal text
    late_payment_surcharge_percent = UnicodeAttribute()  # Decimal text

    # Consumption of the whole property in the period (shares repeat it).
    previous_register_wh = NumberAttribute(null=True)
    previous_read_at = UTCDateTimeAttribute(null=True)
    current_register_wh = NumberAttribute(null=True)  # null on an estimated bill
    current_read_at = UTCDateTimeAttribute(null=True)
    reading_key = UnicodeAttribute(null=True)  # the raw reading billed (readings table)
    units = NumberAttribute()  # kWh billed for the whole property this period
    actual_units = NumberAttribute(null=True)  # kWh measured since the last actual reading
    estimated = BooleanAttribute(default=False)  # units estimated: the meter was silent
    # True-up: estimated periods this actual bill corrects, and the units they billed.
    trued_up_periods = ListAttribute(of=UnicodeAttribute, null=True)
    estimated_units_trued_up = NumberAttribute(null=True)
    # Protocol v2 meters (null for v1): where the current register came from ("snapshot":
    # latched at 00:00 IST of the billing date; "live_prorated": live registers prorated to
    # it), the meter's other registers then, and what they measured in the period.
    register_source = UnicodeAttribute(null=True)
    current_export_wh = NumberAttribute(null=True)
    current_tod_wh = ListAttribute[int](of=NumberAttribute, null=True)  # type: ignore[arg-type]
    export_units = NumberAttribute(null=True)  # whole kWh exported in the period
    tod_units = ListAttribute[int](of=NumberAttribute, null=True)  # type: ignore[arg-type]
    md_w = NumberAttribute(null=True)  # maximum demand of the period, W
    md_at = UTCDateTimeAttribute(null=True)
    # The run got no usable reading, so the registers are the daily cycle's meter-day
    # latched at the billing date (bills/daily_read.py): its day, "YYYY-MM-DD" (IST).
    meter_day = UnicodeAttribute(null=True)

    # Tariff rules of issue 17 (null when the tariff has none): net metering's units priced
    # (import - export - banked used) and the bank carried from bill to bill (the next
    # bill of the property starts from banked_units_out), units settled at the year's end,
    # the billing demand priced, and the versions of a tariff revised inside the period.
    billed_units = NumberAttribute(null=True)
    banked_units_in = NumberAttribute(null=True)
    banked_units_out = NumberAttribute(null=True)
    settled_units = NumberAttribute(null=True)
    billing_demand_kw = UnicodeAttribute(null=True)
    tariff_segments = ListAttribute(of=UnicodeAttribute, null=True)

    # The share of this payer when the occupant changed inside the period.
    share = NumberAttribute(default=1)
    share_count = NumberAttribute(default=1)
    share_first_day = UnicodeAttribute()  # IST date "YYYY-MM-DD"
    share_last_day = UnicodeAttribute()
    days_fraction = UnicodeAttribute(null=True)  # "12/31" for a share, null if whole
    share_units = UnicodeAttribute(null=True)  # this share of `units`, to 0.001 kWh
    property_total = UnicodeAttribute(null=True)  # on a share: the whole property's total

    line_items = ListAttribute(of=LineItemAttribute, default=list)
    total = UnicodeAttribute()  # rupees, two decimals, e.g. "1380.00"
    total_paise = NumberAttribute()  # the same amount in paise

    # Credits and arrears (issue 16; functions/core/bills/netting.py). `charges_paise`:
    # this bill's own charges for the period, negative after an over-estimate's
    # true-up; `total_paise` is what the bill asks to be paid, never negative.
    charges_paise = NumberAttribute(null=True)  # null on older bills: = total_paise
    credit_brought_forward_paise = NumberAttribute(null=True)  # from the payer's last bill
    credit_brought_forward_from = UnicodeAttribute(null=True)
    credit_to_open_bills_paise = NumberAttribute(null=True)  # netted against earlier bills
    credit_carried_paise = NumberAttribute(null=True)  # left over, for the next bill
    credit_taken_by = UnicodeAttribute(null=True)  # the bill that took credit_carried
    # On an open bill a later credit was netted against (total_paise is reduced by it).
    credit_applied_paise = NumberAttribute(null=True)
    credit_applied_from = ListAttribute(of=UnicodeAttribute, null=True)
    # Arrears brought forward when issued: the payer's unpaid earlier bills of the
    # property, with their late-payment surcharges. Total payable = total + arrears.
    arrears_paise = NumberAttribute(null=True)
    arrears_surcharge_paise = NumberAttribute(null=True)
    arrears_bill_ids = ListAttribute(of=UnicodeAttribute, null=True)

    # Registers a clerk expects (issue 16): a first bill's previous register is the
    # meter's installation register; across a meter replacement the old meter's final
    # register and the new meter's first are rows of their own.
    previous_is_installation = BooleanAttribute(null=True)
    replaced_meter_id = UnicodeAttribute(null=True)
    replaced_meter_final_register_wh = NumberAttribute(null=True)
    replaced_at = UTCDateTimeAttribute(null=True)
    meter_first_register_wh = NumberAttribute(null=True)

    # Payment (the payments service sets these).
    paid_at = UTCDateTimeAttribute(null=True)
    payment_id = UnicodeAttribute(null=True)
    overdue_at = UTCDateTimeAttribute(null=True)
    late_surcharge_paise = NumberAttribute(null=True)  # added once when it went overdue
    # What this overdue bill adds to its payer's arrears item (bills/arrears.py); set
    # and cleared in the same transactions as the item. Null: not counted there.
    in_arrears_paise = NumberAttribute(null=True)

    by_payer = BillsByPayer()
    by_property = BillsByProperty()
    by_period = BillsByPeriod()
    by_status = BillsByStatus()

    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        self.period_shard = sharded(self.period, self.bill_id)
        self.status_shard = sharded(self.status, self.bill_id)
        return super().serialize(null_check)

    @staticmethod
    def status_actions(status: str, bill_id: str) -> list[Any]:
        """The update actions that move bill `bill_id` to `status` (and its index shard)."""
        return [BillRecord.status.set(status),
                BillRecord.status_shard.set(sharded(status, bill_id))]

    @property
    def amount(self) -> Decimal:
        """The bill total in rupees (Decimal, two decimals)."""
        return from_paise(int(self.total_paise))

    @property
    def late_surcharge(self) -> Decimal:
        return from_paise(int(self.late_surcharge_paise or 0))

    @property
    def amount_due(self) -> Decimal:
        """What the payer owes now: the total plus any late-payment surcharge,
        zero once paid."""
        if self.status == BILL_PAID:
            return from_paise(0)
        return from_paise(int(self.total_paise) + int(self.late_surcharge_paise or 0))
