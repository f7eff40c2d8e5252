"""The register a protocol v2 reading bills, and what its bill records of the other registers.

For a v1 reading billing takes the live register the meter answered with. For a v2 reading
it takes the billing snapshot latched at 00:00 IST of the billing date (the period's end),
so a run started days later bills exactly the period; the snapshot's registers are first
checked by billing_rules.snapshots.check_snapshot (VEE). Live registers (no snapshot: the
meter was fitted after the date or lost its memory) bill the daily cycle's snapshot of the
billing date when it kept one; else they are prorated to the billing date from the last
billed register (the documented fallback), or held if there is none.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from functions.core.billing_rules.periods import BillingPeriod
from functions.core.billing_rules.readings import RegisterReading
from functions.core.billing_rules.snapshots import (
    LIVE,
    SNAPSHOT,
    PreviousRegisters,
    SnapshotCheck,
    SnapshotRegisters,
    check_snapshot,
    export_units,
    live_without_history,
    prorate_register,
    zone_units,
)
from functions.core.bills.models import BillRecord
from functions.core.daily.models import MeterDayRecord
from functions.core.meters.models import RawReadingRecord

REGISTER_SOURCE_SNAPSHOT = "snapshot"
REGISTER_SOURCE_PRORATED = "live_prorated"


@dataclass(frozen=True)
class SnapshotRegister(RegisterReading):
    """The import register billed (at the billing date) and the bill's v2 fields."""

    bill_fields: dict[str, Any] = field(default_factory=dict, compare=False)
    meter_day: str | None = field(default=None, compare=False)  # read from the daily cycle


def registers_of(stored: RawReadingRecord) -> SnapshotRegisters | None:
    """The v2 registers of a stored reading (None for a v1 reading)."""
    if stored.protocol_version != 2 or stored.snapshot_at is None or stored.md_at is None:
        return None
    return SnapshotRegisters(
        source=str(stored.source), snapshot_at=stored.snapshot_at,
        import_wh=int(stored.register_wh), export_wh=int(stored.export_wh or 0),
        tod_wh=tuple(int(zone) for zone in stored.tod_wh or ()), md_w=int(stored.md_w or 0),
        md_at=stored.md_at)


def previous_registers(last_bill: BillRecord | None, meter_id: str) -> PreviousRegisters | None:
    """The other registers of the last actual bill, if it was of the same v2 meter."""
    if last_bill is None or last_bill.meter_id != meter_id or not last_bill.register_source:
        return None
    return PreviousRegisters(
        export_wh=None if last_bill.current_export_wh is None
        else int(last_bill.current_export_wh),
        tod_wh=None if last_bill.current_tod_wh is None
        else tuple(int(zone) for zone in last_bill.current_tod_wh))


def billed_register(stored: RawReadingRecord, *, previous: RegisterReading | None,
                    last_bill: BillRecord | None, replaced: bool, period: BillingPeriod,
                    sanctioned_load_kw: Decimal, rollover_wh: int | None,
                    day: tuple[str, SnapshotRegisters] | None = None
                    ) -> SnapshotRegister | SnapshotCheck | None:
    """What a v2 reading bills: the register at the billing date with the bill's v2 fields;
    a SnapshotCheck when a VEE rule stops it; None for a v1 reading (bill it as before).

    A v2 reading with live registers only (`lacks_snapshot`) bills `day`, the daily
    cycle's snapshot latched at the billing date (`daily_snapshot`, read by the caller),
    when there is one: measured, not prorated. The result then names that `meter_day`
    (the bill says where the read came from)."""
    registers = registers_of(stored)
    if registers is None or registers.source != LIVE:
        day = None  # a snapshot of its own, or v1: the reading's registers
    result = billed_registers(registers if day is None else day[1], stored.meter_id,
                              previous=previous, last_bill=last_bill, replaced=replaced,
                              period=period, sanctioned_load_kw=sanctioned_load_kw,
                              rollover_wh=rollover_wh)
    if day is not None and isinstance(result, SnapshotRegister):
        return replace(result, meter_day=day[0])
    return result


def lacks_snapshot(stored: RawReadingRecord) -> bool:
    """A v2 reading that answered with live registers only (no billing-date snapshot)."""
    registers = registers_of(stored)
    return registers is not None and registers.source == LIVE


def daily_snapshot(meter_id: str, period: BillingPeriod
                   ) -> tuple[str, SnapshotRegisters] | None:
    """The meter-day latched at the period's billing date, if the daily cycle kept it with
    its snapshot registers (one GetItem: for a reading that `lacks_snapshot` only)."""
    try:
        item = MeterDayRecord.get(meter_id, billing_day(period))
    except MeterDayRecord.DoesNotExist:
        return None
    registers = registers_of_day(item, period.end_utc)
    if registers is None or registers.source != SNAPSHOT:
        return None
    return str(item.day), registers


def billed_registers(registers: SnapshotRegisters | None, meter_id: str, *,
                     previous: RegisterReading | None, last_bill: BillRecord | None,
                     replaced: bool, period: BillingPeriod, sanctioned_load_kw: Decimal,
                     rollover_wh: int | None) -> SnapshotRegister | SnapshotCheck | None:
    """billed_register for registers from anywhere (a reading, or the daily cycle's
    meter-day when the billing run got no usable reading)."""
    if registers is None:
        return None
    earlier = None if replaced else previous_registers(last_bill, meter_id)
    check = check_snapshot(registers, earlier, billing_at=period.end_utc,
                           period_start=period.start_utc, sanctioned_load_kw=sanctioned_load_kw,
                           replaced=replaced, rollover_wh=rollover_wh)
    if check is not None:
        return check
    billing_at = period.end_utc
    import_wh, export_wh, tod = registers.import_wh, registers.export_wh, registers.tod_wh
    source = REGISTER_SOURCE_SNAPSHOT
    if registers.source == LIVE:
        if previous is None:
            return live_without_history()
        live_at = registers.snapshot_at
        import_wh = prorate_register(previous, RegisterReading(import_wh, live_at), billing_at)
        if earlier is not None and earlier.export_wh is not None:
            export_wh = _prorate(earlier.export_wh, export_wh, previous.read_at, live_at,
                                 billing_at)
        if earlier is not None and earlier.tod_wh is not None and len(earlier.tod_wh) == len(tod):
            tod = tuple(_prorate(before, now, previous.read_at, live_at, billing_at)
                        for before, now in zip(earlier.tod_wh, tod, strict=True))
        source = REGISTER_SOURCE_PRORATED
    assert registers.source in (SNAPSHOT, LIVE)
    fields: dict[str, Any] = dict(
        register_source=source, current_export_wh=export_wh, current_tod_wh=list(tod),
        export_units=export_units(earlier.export_wh if earlier else None, export_wh),
        tod_units=zone_units(earlier.tod_wh if earlier else None, tod),
        md_w=registers.md_w, md_at=registers.md_at)
    return SnapshotRegister(import_wh, billing_at, bill_fields=fields)


def billing_day(period: BillingPeriod) -> str:
    """The daily cycle's meter-day latched at the period's billing date (00:00 IST after
    its last day): the period's last day."""
    return period.last_day.isoformat()


def registers_of_day(day: MeterDayRecord, billing_at: datetime) -> SnapshotRegisters | None:
    """A meter-day's v2 registers (None for a v1 meter's day: no zone registers)."""
    if not day.tod_wh:
        return None
    source = str(day.source or SNAPSHOT)
    snapshot_at = day.snapshot_at or (billing_at if source == SNAPSHOT else day.read_at)
    return SnapshotRegisters(
        source=source, snapshot_at=snapshot_at,
        import_wh=int(day.import_wh), export_wh=int(day.export_wh or 0),
        tod_wh=tuple(int(zone) for zone in cast(list[int], day.tod_wh)),
        md_w=int(day.md_w or 0), md_at=day.md_at or snapshot_at)


def bill_fields(current: RegisterReading | None) -> dict[str, Any]:
    """The v2 fields for the bill whose current register is ``current`` ({} for v1)."""
    return dict(current.bill_fields) if isinstance(current, SnapshotRegister) else {}


def _prorate(before: int, now: int, start: datetime, end: datetime, at: datetime) -> int:
    return prorate_register(RegisterReading(before, start), RegisterReading(now, end), at)
