"""What pricing needs from a reading and the property's history beyond the units,
and what the bill records of it (issue 17). No I/O: everything comes from the
batch load that already exists (the reading's snapshot fields and the property's
bills of the last 12 periods), so pricing adds no call per billed meter.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from functions.core.billing_rules.readings import RegisterReading
from functions.core.billing_rules.tariff import PricedBill, TariffVersion, Usage
from functions.core.bills.history import PropertyHistory
from functions.core.bills.models import BillRecord
from functions.core.bills.snapshots import bill_fields


def usage_of(current: RegisterReading | None) -> Usage | None:
    """The snapshot's export, zone and demand registers (None for v1 and estimates:
    ToD at the normal rate, demand at the contract demand, no export)."""
    fields = bill_fields(current)
    if not fields:
        return None
    md_w = fields.get("md_w")
    zones = fields.get("tod_units")
    return Usage(export_units=fields.get("export_units"),
                 tod_units=tuple(int(z) for z in zones) if zones else None,
                 max_demand_kw=None if md_w is None else Decimal(int(md_w)) / 1000)


def banked_before(history: PropertyHistory, period: str) -> int:
    """Net-metering units banked by the property's latest bill before `period`."""
    earlier = history.before(period)
    if not earlier:
        return 0
    return int(earlier[-1].first.banked_units_out or 0)


def set_tariff_fields(bill: BillRecord, priced: PricedBill, tariff: TariffVersion,
                      banked_in: int) -> None:
    net = priced.net_metering
    if net is not None:
        bill.billed_units = net.billed_units
        bill.banked_units_in = net.banked_in
        bill.banked_units_out = net.banked_out
        bill.settled_units = net.settled_units or None
    elif tariff.metering is not None and tariff.metering.scheme == "net":
        # No export register this period (an estimate, a v1 meter): the bank is kept.
        bill.banked_units_in = bill.banked_units_out = banked_in
    if priced.billing_demand_kw is not None:
        bill.billing_demand_kw = str(priced.billing_demand_kw)
    if priced.segments:
        segments: list[Any] = list(priced.segments)
        bill.tariff_segments = segments
