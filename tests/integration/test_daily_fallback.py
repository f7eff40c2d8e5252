"""A billing run's close bills a meter that gave it no usable reading from the daily cycle's
meter-day latched at the billing date, as an actual read (issue 24 item 1); without that
meter-day, or with one that breaks a rule, the run's policy applies as before.

The run's slices are delivered by hand (test_run_slices' KeptMessages): nobody answers the
read requests, so every meter is silent unless the test gives it a reading."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader

from functions.core.billing_rules import parse_period
from functions.core.bills.daily_read import bill_from_meter_day
from functions.core.bills.models import BillRecord, bill_id_for
from functions.core.bills.pdf import BillPdfInput, render_bill_pdf
from functions.core.bills.service import BillingService
from functions.core.clock import utcnow
from functions.core.daily.models import MeterDayRecord
from functions.core.messages import VerifiedReading
from functions.core.meters.models import MeterRecord, RawReadingRecord
from functions.core.meters.repositories import MeterRepository
from functions.core.properties.models import PropertyRecord
from functions.core.runs.schemas import StartRun
from functions.core.runs.service import RunService
from functions.core.runs.steps import RunSteps
from functions.core.shards import RUN_SHARDS
from tests.integration.billing_support import (
    a_customer,
    a_meter,
    a_property,
    derc_total,
    ensure_reference_tariffs,
    retire,
    stored_reading,
)
from tests.integration.test_run_slices import KeptMessages, drive

PREVIOUS, PERIOD = "2022-07", "2022-08"  # periods no other test bills (run counters)
BILLING_AT = parse_period(PERIOD).end_utc  # 00:00 IST on 1 Sep 2022
DAY = "2022-08-31"  # the meter-day latched then


@pytest.fixture
def meters(admin) -> Iterator[list[MeterRecord]]:
    ensure_reference_tariffs(admin[1])
    retire(list(MeterRepository().iter_active()))  # the close pages every active meter
    created: list[MeterRecord] = []
    yield created
    retire(created)


def bill_in_process(readings: list[VerifiedReading]) -> list[str]:
    """The billing function's work for one batch of readings (their verdicts)."""
    batch = BillingService().start_batch(readings)
    verdicts = [batch.bill(reading).status for reading in readings]
    batch.finish()
    return verdicts


def fitted_with_bills(meters: list[MeterRecord], *registers_wh: int) -> list[MeterRecord]:
    """Meters whose properties have an actual bill for PREVIOUS at these registers."""
    fitted = [a_meter(a_property(a_customer())) for _ in registers_wh]
    meters += fitted
    readings = [stored_reading(meter, PREVIOUS, register_wh, parse_period(PREVIOUS).end_utc)
                for meter, register_wh in zip(fitted, registers_wh, strict=True)]
    assert bill_in_process(readings) == ["accepted"] * len(fitted)
    return fitted


def meter_day(meter: MeterRecord, import_wh: int, **fields) -> MeterDayRecord:
    item = MeterDayRecord(meter.meter_id, DAY, import_wh=import_wh,
                          read_at=fields.pop("read_at", BILLING_AT + timedelta(minutes=20)),
                          received_at=utcnow(), **fields)
    item.save()
    return item


def bill_of(meter: MeterRecord) -> BillRecord:
    return BillRecord.get(bill_id_for(meter.property_id or "", PERIOD), consistent_read=True)


def test_silent_meters_are_billed_from_the_daily_read_or_estimated_without_it(admin, meters):
    snapshot, live, without, broken, rejected = fitted_with_bills(
        meters, 100_000, 200_000, 100_000, 100_000, 100_000)
    # A v2 meter's day: its latched registers.
    meter_day(snapshot, 250_600, tod_wh=[50_000, 100_000, 60_000, 40_600], md_w=2_400,
              md_at=datetime(2022, 8, 20, 14, 0, tzinfo=UTC), snapshot_at=BILLING_AT)
    # A v1 meter read daily: its live register that night.
    live_day = meter_day(live, 290_500, source="live",
                         read_at=BILLING_AT + timedelta(minutes=7))
    # `without` has no meter-day: estimated as before; `broken`'s zones do not add up.
    meter_day(broken, 180_000, tod_wh=[10_000, 10_000, 10_000, 10_000], md_w=0,
              snapshot_at=BILLING_AT)
    # `rejected` answered the run, but with a reading that was refused.
    refused = stored_reading(rejected, PERIOD, 50_000, BILLING_AT + timedelta(days=1))
    assert bill_in_process([refused]) == ["rejected"]
    meter_day(rejected, 180_000, source="live")

    kept = KeptMessages()
    service = RunService(queues=kept)
    service.start(StartRun(period=PERIOD, policy="estimate"), started_by="test")
    steps = RunSteps(queues=kept)
    drive(steps, kept)
    # A close slice that died after billing the v1 meter, before its transaction: the
    # redelivered slice finds that bill its own and counts it once.
    period = parse_period(PERIOD)
    died = bill_from_meter_day(BillingService(), live, _property(live), PERIOD, period, live_day)
    assert died.outcome == "daily_read"

    service.close(PERIOD, closed_by="test")
    assert len(kept.steps) == RUN_SHARDS
    drive(steps, kept, twice=True)
    view = service.view(PERIOD)
    assert view.status == "closed"

    billed = bill_of(snapshot)  # 250 - 100 whole kWh, at the billing date, as an actual read
    assert (billed.estimated, int(billed.units), billed.meter_day) == (False, 150, DAY)
    assert int(billed.current_register_wh) == 250_600 and billed.current_read_at == BILLING_AT
    assert billed.register_source == "snapshot" and int(billed.md_w) == 2_400
    assert billed.total == f"{derc_total(150, Decimal('3')):.2f}"
    v1 = bill_of(live)
    assert (v1.estimated, int(v1.units), int(v1.previous_register_wh)) == (False, 90, 200_000)
    assert v1.current_read_at == live_day.read_at and v1.meter_day == DAY
    assert (bill_of(rejected).estimated, int(bill_of(rejected).units)) == (False, 80)
    for estimated in (without, broken):
        bill = bill_of(estimated)
        assert bill.estimated and bill.meter_day is None and int(bill.units) == 100

    silent = {m.meter_id: m for m in service.silent_meters(PERIOD, None, limit=50).meters}
    assert {k: silent[m.meter_id].outcome for k, m in [
        ("snapshot", snapshot), ("live", live), ("without", without), ("broken", broken),
        ("rejected", rejected)]} == {"snapshot": "daily_read", "live": "daily_read",
                                     "without": "estimated", "broken": "estimated",
                                     "rejected": "daily_read"}
    assert silent[rejected.meter_id].why == "reading_rejected"
    assert "tod_zone_sum_mismatch" in (silent[broken.meter_id].detail or "")
    # Four meters stayed silent (the rejected one answered); five bills, each counted once.
    counts = view.progress
    assert (counts.no_response, counts.estimated_bills, counts.bills_issued) == (4, 2, 5)

    service.close(PERIOD, closed_by="test")  # closing again bills and counts nothing
    drive(steps, kept)
    again = service.view(PERIOD).progress
    assert (again.no_response, again.estimated_bills, again.bills_issued) == (4, 2, 5)
    assert len([b for b in BillRecord.by_property.query(snapshot.property_id or "")
                if b.period == PERIOD]) == 1

    shown = admin[1].get(f"/bills/{billed.bill_id}").json()
    assert shown["read_from"] == ("Read from the daily snapshot of 01 Sep 2022 (00:00 IST): "
                                  "the meter did not answer the billing run with a usable "
                                  "reading")
    assert shown["read_from_at"].replace("Z", "+00:00") == BILLING_AT.isoformat()
    assert admin[1].get(f"/bills/{bill_of(without).bill_id}").json()["read_from"] is None
    pdf = render_bill_pdf(BillPdfInput(billed, "Owner", "12 Test Lane", []))
    text = " ".join(" ".join(page.extract_text().split())
                    for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Read from the daily snapshot of" in text and "(00:00 IST)" in text


def _property(meter: MeterRecord) -> PropertyRecord:
    return PropertyRecord.get(meter.property_id)


def live_v2_reading(meter: MeterRecord, period: str, import_wh: int,
                    at: datetime) -> VerifiedReading:
    """A v2 reading with live registers only (the meter kept no billing-date snapshot)."""
    reading = stored_reading(meter, period, import_wh, at)
    tod = [import_wh // 4] * 3 + [import_wh - 3 * (import_wh // 4)]
    RawReadingRecord(meter.meter_id, reading.reading_key).update(actions=[
        RawReadingRecord.protocol_version.set(2), RawReadingRecord.source.set("live"),
        RawReadingRecord.snapshot_at.set(at), RawReadingRecord.export_wh.set(0),
        RawReadingRecord.tod_wh.set(tod), RawReadingRecord.md_w.set(1_200),
        RawReadingRecord.md_at.set(at - timedelta(days=3))])
    return reading.model_copy(update=dict(
        protocol_version=2, source="live", snapshot_at=at, export_wh=0, tod_wh=tod,
        md_w=1_200, md_at=at - timedelta(days=3)))


def test_a_live_only_v2_reading_bills_the_daily_snapshot_of_the_billing_date(admin, meters):
    before, month = "2021-09", "2021-10"  # periods of this test's own
    billing_at = parse_period(month).end_utc
    fitted = [a_meter(a_property(a_customer())) for _ in range(2)]
    meters += fitted
    opening = [stored_reading(m, before, 100_000, parse_period(before).end_utc) for m in fitted]
    assert bill_in_process(opening) == ["accepted"] * 2
    with_day, without_day = fitted
    MeterDayRecord(with_day.meter_id, "2021-10-31", import_wh=230_000,
                   tod_wh=[60_000, 60_000, 60_000, 50_000], md_w=1_100,
                   md_at=billing_at - timedelta(days=9), snapshot_at=billing_at,
                   read_at=billing_at + timedelta(minutes=20), received_at=utcnow()).save()

    # Both answer three days late with live registers only (260 kWh on the register).
    late = billing_at + timedelta(days=3)
    assert bill_in_process([live_v2_reading(m, month, 260_000, late)
                            for m in fitted]) == ["accepted"] * 2

    measured = BillRecord.get(bill_id_for(with_day.property_id or "", month))
    assert (measured.register_source, int(measured.units)) == ("snapshot", 130)
    assert (int(measured.current_register_wh), measured.current_read_at) == (230_000, billing_at)
    assert measured.meter_day == "2021-10-31" and not measured.estimated
    prorated = BillRecord.get(bill_id_for(without_day.property_id or "", month))
    assert prorated.register_source == "live_prorated" and prorated.meter_day is None
    assert 130 < int(prorated.units) < 160  # 160 kWh over 34 days, 31 of them in October
