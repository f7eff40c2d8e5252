"""What billing reads from a property's earlier bills (pure: records in memory)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeVar

import pytest

from functions.billing.faults import CRASH_AFTER_BILLS, CrashAfterBills, SimulatedCrash
from functions.core.billing_rules import parse_period
from functions.core.bills.history import HISTORY_MONTHS, PropertyHistory, window
from functions.core.bills.models import BillRecord, LineItemAttribute, bill_id_for
from functions.core.bills.service import _starting_point
from functions.core.meters.models import MeterRecord


def bill(period: str, units: int, *, estimated: bool = False, share: int = 1,
         register: int | None = None, meter: str = "mtr-1", actual: int | None = None,
         trued_up: list[str] | None = None,
         energy: Sequence[tuple[str, str | None]] = ()) -> BillRecord:
    return BillRecord(
        bill_id=bill_id_for("prp-1", period, share), property_id="prp-1", period=period,
        payer_id="usr-1", owner_id="usr-1", meter_id=meter, run_id=period,
        issued_at=datetime(2026, 1, 1, tzinfo=UTC), due_date="2026-01-16",
        category="residential", tariff_name="T", tariff_version="residential@2019-08-01",
        sanctioned_load_kw="3", late_payment_surcharge_percent="1.5", units=units,
        estimated=estimated, share=share, share_count=2 if share > 1 else 1,
        current_register_wh=register,
        current_read_at=datetime(2026, 1, 1, tzinfo=UTC) if register is not None else None,
        actual_units=actual, trued_up_periods=trued_up, share_first_day=f"{period}-01",
        share_last_day=f"{period}-28",
        line_items=[LineItemAttribute(kind="energy", label="E", amount=amount,
                                      property_amount=whole) for amount, whole in energy],
        total="0.00", total_paise=0)


T = TypeVar("T")


def must(value: T | None) -> T:
    assert value is not None
    return value


def test_the_last_actual_bill_and_the_estimates_since_it():
    history = PropertyHistory([
        bill("2026-01", 100, register=100_000), bill("2026-02", 120, register=220_000),
        bill("2026-03", 110, estimated=True), bill("2026-04", 110, estimated=True),
    ])
    assert must(history.last_actual("2026-05")).period == "2026-02"
    assert [p.period for p in history.estimates_since_last_actual("2026-05")] == [
        "2026-03", "2026-04"]
    # Estimates never count as actual consumption.
    assert history.monthly_actual_units("2026-05") == [100, 120]
    # Only periods before the one being billed count.
    assert must(history.last_actual("2026-02")).period == "2026-01"
    assert must(history.of("2026-03")).estimated is True and history.of("2026-06") is None


def test_a_true_up_bill_spreads_what_it_measured_over_the_months_it_covers():
    history = PropertyHistory([
        bill("2026-01", 100), bill("2026-02", 150, estimated=True),
        bill("2026-03", 50, actual=200, trued_up=["2026-02"]),
    ])
    assert history.monthly_actual_units("2026-04") == [100, 100, 100]


def test_only_the_first_share_of_a_split_bill_is_read_and_its_whole_amounts_count():
    history = PropertyHistory([
        bill("2026-01", 300, estimated=True, energy=[("193.55", "600.00"), ("145.16", "450.00")]),
        bill("2026-01", 300, estimated=True, share=2,
             energy=[("406.45", "600.00"), ("304.84", "450.00")]),
    ])
    [january] = history.periods
    assert january.first.share == 1
    assert january.energy_total == Decimal("1050.00")


def test_the_lookup_window_covers_the_spike_and_estimate_windows():
    periods = window(parse_period("2026-03"))
    assert len(periods) == HISTORY_MONTHS + 1 >= 7
    assert str(periods[0]) == "2026-03" and str(periods[-1]) == "2025-03"


def meter(meter_id: str = "mtr-1", **fields) -> MeterRecord:
    return MeterRecord(meter_id=meter_id, serial="S", public_key="k", public_key_id="kid",
                       model="m", firmware="f", endpoint_url="http://x",
                       registered_at=datetime(2025, 1, 1, tzinfo=UTC), **fields)


def test_the_starting_point_follows_a_recorded_replacement():
    history = PropertyHistory([bill("2026-01", 100, register=900_000, meter="mtr-old")])
    last = history.last_actual("2026-02")
    new = meter("mtr-new", initial_register_wh=5_000, replaces="mtr-old",
                replaced_meter_final_register_wh=950_000)
    previous, replacement, initial = _starting_point(last, new)
    assert must(previous).register_wh == 900_000 and initial == 5_000
    assert (must(replacement).old_final_register_wh,
            must(replacement).new_initial_register_wh) == (950_000, 5_000)
    # The same meter: no replacement. A different meter without a record: count
    # from that meter's installation register.
    assert _starting_point(last, meter("mtr-old"))[1] is None
    assert _starting_point(last, meter("mtr-other", initial_register_wh=7))[:2] == (None, None)
    assert _starting_point(None, meter(initial_register_wh=42)) == (None, None, 42)


def test_the_injected_crash_fires_once_after_the_nth_bill(monkeypatch):
    crash = CrashAfterBills()
    bills = [bill("2026-01", 1)]
    crash(bills)  # not armed
    monkeypatch.setenv(CRASH_AFTER_BILLS, "2")
    crash(bills)
    with pytest.raises(SimulatedCrash):
        crash(bills)
    crash(bills)  # once only
    monkeypatch.setenv(CRASH_AFTER_BILLS, "1")  # re-armed with a new value
    with pytest.raises(SimulatedCrash):
        crash(bills)
