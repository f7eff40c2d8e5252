"""VEE of protocol v2 readings (billing_rules.snapshots) and what a v2 reading bills
(bills.snapshots): one test per rule, the live-register fallback and the units per zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from functions.core.billing_rules.periods import parse_period
from functions.core.billing_rules.readings import ReadingStatus, RegisterReading
from functions.core.billing_rules.snapshots import (
    PreviousRegisters,
    SnapshotRegisters,
    check_snapshot,
    prorate_register,
    zone_units,
)
from functions.core.bills.models import BillRecord
from functions.core.bills.snapshots import SnapshotRegister, billed_register
from functions.core.meters.models import RawReadingRecord

PERIOD = parse_period("2026-10")
BILLING_AT = PERIOD.end_utc  # 2026-10-31T18:30Z = 1 November 00:00 IST
ROLLOVER = 1_000_000_000


def registers(**changes: object) -> SnapshotRegisters:
    values: dict[str, object] = dict(
        source="snapshot", snapshot_at=BILLING_AT, import_wh=1_486_250, export_wh=212_400,
        tod_wh=(301_200, 402_650, 250_100, 532_300), md_w=4_380,
        md_at=datetime(2026, 10, 14, 14, 0, tzinfo=UTC))
    values.update(changes)
    return SnapshotRegisters(**values)  # type: ignore[arg-type]


PREVIOUS = PreviousRegisters(export_wh=200_000, tod_wh=(290_000, 390_000, 240_000, 510_000))


def check(current: SnapshotRegisters, previous: PreviousRegisters | None = PREVIOUS, **kw):
    return check_snapshot(current, previous, billing_at=BILLING_AT,
                          period_start=PERIOD.start_utc,
                          sanctioned_load_kw=kw.pop("load", Decimal(5)),
                          rollover_wh=ROLLOVER, **kw)


def test_a_consistent_snapshot_passes():
    assert check(registers()) is None


@pytest.mark.parametrize("current, reason, status", [
    (registers(snapshot_at=BILLING_AT + timedelta(days=3)), "snapshot_time_mismatch",
     ReadingStatus.REJECTED),
    (registers(tod_wh=(301_200, 402_650, 250_100, 537_300)), "tod_zone_sum_mismatch",
     ReadingStatus.REJECTED),
    (registers(tod_wh=(703_850, 250_100, 532_300)), "tod_zone_count_changed",
     ReadingStatus.REJECTED),
    (registers(tod_wh=(289_000, 403_850, 260_800, 532_600)), "tod_zone_decrease",
     ReadingStatus.REJECTED),
    (registers(export_wh=199_000), "export_decrease", ReadingStatus.REJECTED),
    (registers(md_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC)), "demand_time_outside",
     ReadingStatus.REJECTED),
    (registers(md_at=datetime(2026, 9, 20, 9, 0, tzinfo=UTC)), "demand_time_outside",
     ReadingStatus.REJECTED),
    (registers(md_w=15_001), "demand_above_limit", ReadingStatus.HELD),
])
def test_each_rule(current, reason, status):
    found = check(current)
    assert found is not None and (found.reason, found.status) == (reason, status)


def test_zones_may_differ_from_import_by_their_rounding_only():
    assert check(registers(import_wh=1_486_254)) is None  # four zones, each floored
    assert check(registers(import_wh=1_486_255)).reason == "tod_zone_sum_mismatch"


def test_a_demand_at_the_limit_passes_and_the_limit_scales_with_the_load():
    assert check(registers(md_w=15_000)) is None  # 3 x 5 kW
    assert check(registers(md_w=15_001), load=Decimal(10)) is None


def test_registers_may_wrap_and_a_replaced_meter_starts_afresh():
    near_top = PreviousRegisters(export_wh=ROLLOVER - 1_000, tod_wh=None)
    assert check(registers(export_wh=5_000), near_top) is None
    assert check(registers(export_wh=1), PREVIOUS, replaced=True) is None


def test_live_registers_are_checked_against_their_own_read_time():
    live_at = BILLING_AT + timedelta(days=3)
    live = registers(source="live", snapshot_at=live_at, md_at=live_at - timedelta(hours=5))
    assert check(live) is None


def test_prorating_to_the_billing_date():
    before = RegisterReading(1_000_000, BILLING_AT - timedelta(days=30))
    live = RegisterReading(1_040_000, BILLING_AT + timedelta(days=10))
    assert prorate_register(before, live, BILLING_AT) == 1_030_000
    assert prorate_register(before, live, live.read_at + timedelta(days=1)) == 1_040_000


def test_units_per_zone_carry_the_remainder_of_each_register():
    assert zone_units((999, 1_500), (2_001, 2_499)) == [2, 1]
    assert zone_units(None, (2_001,)) is None


def _stored(**changes: object) -> RawReadingRecord:
    values: dict[str, object] = dict(
        run_id="2026-10", period="2026-10", nonce="n", counter=1, register_wh=1_486_250,
        read_at=BILLING_AT + timedelta(days=3), received_at=BILLING_AT + timedelta(days=3),
        envelope="{}", payload="{}", server_key_id="k", protocol_version=2, source="snapshot",
        snapshot_at=BILLING_AT, export_wh=212_400, tod_wh=[301_200, 402_650, 250_100, 532_300],
        md_w=4_380, md_at=datetime(2026, 10, 14, 14, 0, tzinfo=UTC))
    values.update(changes)
    return RawReadingRecord("mtr-1", "reading#x", **values)  # type: ignore[arg-type]


def _last_bill() -> BillRecord:
    return BillRecord(bill_id="b", meter_id="mtr-1", register_source="snapshot",
                      current_register_wh=1_342_000, current_read_at=PERIOD.start_utc,
                      current_export_wh=200_000,
                      current_tod_wh=[290_000, 390_000, 240_000, 422_000])


def test_a_v2_reading_bills_the_snapshot_not_the_live_register():
    previous = RegisterReading(1_342_000, PERIOD.start_utc)
    billed = billed_register(_stored(), previous=previous, last_bill=_last_bill(),
                             replaced=False, period=PERIOD, sanctioned_load_kw=Decimal(5),
                             rollover_wh=ROLLOVER)
    assert isinstance(billed, SnapshotRegister)
    assert (billed.register_wh, billed.read_at) == (1_486_250, BILLING_AT)
    assert billed.bill_fields["tod_units"] == [11, 12, 10, 110]
    assert billed.bill_fields["export_units"] == 12
    assert billed.bill_fields["md_w"] == 4_380 and billed.bill_fields["register_source"] == \
        "snapshot"


def test_a_live_v2_reading_is_prorated_or_held_without_history():
    live_at = BILLING_AT + timedelta(days=3)
    stored = _stored(source="live", snapshot_at=live_at, register_wh=1_500_000,
                     tod_wh=[301_200, 402_650, 250_100, 546_050], md_at=live_at)
    previous = RegisterReading(1_342_000, PERIOD.start_utc)
    billed = billed_register(stored, previous=previous, last_bill=_last_bill(),
                             replaced=False, period=PERIOD, sanctioned_load_kw=Decimal(5),
                             rollover_wh=ROLLOVER)
    assert isinstance(billed, SnapshotRegister)
    assert billed.register_wh == 1_342_000 + (158_000 * 31) // 34
    assert billed.bill_fields["register_source"] == "live_prorated"
    held = billed_register(stored, previous=None, last_bill=None, replaced=False,
                           period=PERIOD, sanctioned_load_kw=Decimal(5), rollover_wh=ROLLOVER)
    assert held is not None and not isinstance(held, SnapshotRegister)
    assert (held.status, held.reason) == (ReadingStatus.HELD, "live_without_history")


def test_a_v1_reading_is_left_to_the_v1_rules():
    assert billed_register(_stored(protocol_version=None), previous=None, last_bill=None,
                           replaced=False, period=PERIOD, sanctioned_load_kw=Decimal(5),
                           rollover_wh=ROLLOVER) is None
