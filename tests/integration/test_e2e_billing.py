"""End to end: a billing run of 55 meters simulated by a real
`python -m device_client simulate` process, through the whole chain:

    POST /admin/runs -> fanout queue -> iot_fanout -> encrypted read requests ->
    simulated meters -> POST /device/readings -> readings queue -> billing -> bills

Some meters misbehave (tampered, replayed, backwards register, stale reading,
a spike), some stay silent (no answer, offline, a meter error). The billing
function is made to crash once mid-batch, and verified readings are put on
the queue a second time. The bills must be exactly the expected ones, with
amounts computed here from the tariff slabs (not by the pricing code).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from devstack.demo_data import (
    Api,
    DemoUser,
    FittedMeter,
    MeterPlan,
    fit_meters,
    last_period,
    settled,
    start_simulator,
)
from functions.billing.faults import CRASH_AFTER_BILLS
from functions.core.accounts.sessions import issue_session
from functions.core.aws import client
from functions.core.billing_rules import parse_period
from functions.core.clock import IST
from functions.core.meters.models import MeterRecord, RawReadingRecord
from functions.core.meters.repositories import ReadingRepository
from functions.core.properties.repositories import PropertyRepository
from functions.core.resources import queue
from tests.integration.billing_support import (
    a_customer,
    a_tenancy,
    commercial_total,
    decided,
    derc_total,
    ensure_reference_tariffs,
    retire,
    send_readings,
    stored_reading,
    wait_for,
)

PERIOD = last_period()

# kWh per month for ordinary meters: every DERC slab edge, loads across the load slabs.
UNITS = [0, 1, 45, 150, 199, 200, 201, 300, 399, 400, 401, 555, 650, 799, 800, 801, 999,
         1199, 1200, 1201, 1500, 2500, 88, 260, 310, 475, 620, 930, 1330, 12, 75, 340, 505,
         705, 1010, 90, 180, 270]
RESIDENTIAL_LOADS = ["1", "2", "2.5", "3", "4.5", "5", "7.5", "15", "20", "25", "30"]
COMMERCIAL_LOADS = ["5", "7.5", "12"]


@dataclass
class Case:
    label: str
    behaviour: str = "normal"
    category: str = "residential"
    load_kw: str = "3"
    initial_wh: int = 1_000_000
    units: int | None = None  # the meter reports kwh(initial) + units (fixed register)
    register_wh: int | None = None  # or this exact register
    history: tuple[int, ...] = ()  # actual kWh of the 3 months before, billed beforehand
    tenant_from_day: int | None = None  # a tenant moved in on this day of the period
    bill: str | None = None  # "actual" | "estimated" | None (no bill)

    def register(self) -> int:
        if self.register_wh is not None:
            return self.register_wh
        assert self.units is not None
        whole_kwh = self.initial_wh // 1000 + sum(self.history) + self.units
        return whole_kwh * 1000 + self.initial_wh % 1000  # same Wh remainder: exact kWh


def cases() -> list[Case]:
    found = []
    for i, units in enumerate(UNITS):
        commercial = i % 6 == 5
        found.append(Case(
            f"ordinary-{i}", category="commercial" if commercial else "residential",
            load_kw=(COMMERCIAL_LOADS[i % 3] if commercial
                     else RESIDENTIAL_LOADS[i % len(RESIDENTIAL_LOADS)]),
            initial_wh=1_000_000 + 123_457 * i, units=units, bill="actual"))
    found += [
        Case("derc-example", load_kw="3", initial_wh=5_000_250, units=300, bill="actual"),
        Case("tenant-moves-in", load_kw="4", initial_wh=2_000_000, units=410,
             tenant_from_day=11, bill="actual"),
        Case("replay-1", behaviour="replay", units=240, bill="actual"),
        Case("replay-2", behaviour="replay", category="commercial", load_kw="10", units=900,
             bill="actual"),
        Case("backwards-1", behaviour="backwards", initial_wh=3_000_000, units=5),
        Case("backwards-2", behaviour="backwards", initial_wh=7_000_000, units=3),
        Case("tamper-1", behaviour="tamper", units=100),
        Case("tamper-2", behaviour="tamper_resigned", units=100),
        Case("stale-1", behaviour="stale", units=100),
        Case("stale-2", behaviour="stale", units=100),
        Case("spike-1", history=(100, 110, 90), units=1000),
        Case("spike-2", history=(60, 70, 80), units=900, load_kw="2"),
        Case("silent-with-history", behaviour="silent", history=(120, 150, 181), units=0,
             bill="estimated"),
        Case("silent-new", behaviour="silent", units=50),
        Case("offline", behaviour="offline", units=50),
        Case("meter-error", behaviour="error", units=50),
    ]
    return found


def expected_total(case: Case, units: int) -> Decimal:
    load = Decimal(case.load_kw)
    return derc_total(units, load) if case.category == "residential" \
        else commercial_total(units, load)


@pytest.fixture
def quick_redelivery(emulator) -> Iterator[str]:
    """A short visibility timeout on the readings queue, so a batch that a crash
    left behind comes back within seconds (Lambda would wait the full timeout)."""
    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=queue("readings").physical())["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "5"})
    yield url
    sqs.set_queue_attributes(QueueUrl=url, Attributes={
        "VisibilityTimeout": str(queue("readings").visibility_timeout)})


def demo_user(user) -> DemoUser:
    return DemoUser(user.user_id, user.name, user.email, user.mobile, user.role, "",
                    issue_session(user))


def queue_drained(url: str) -> bool:
    attributes = client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return attributes["ApproximateNumberOfMessages"] == "0" \
        and attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def seed_history(fitted: list[FittedMeter], plan_cases: dict[str, Case]) -> None:
    """Earlier months' actual readings of the meters with history, billed as usual."""
    period = parse_period(PERIOD)
    months = [period.previous().previous().previous(), period.previous().previous(),
              period.previous()]
    with_history = [f for f in fitted if plan_cases[f.plan.label].history]
    running = {f.meter_id: plan_cases[f.plan.label].initial_wh for f in with_history}
    for n, month in enumerate(months):
        wave = []
        for meter in with_history:
            running[meter.meter_id] += plan_cases[meter.plan.label].history[n] * 1000
            record = MeterRecord.get(meter.meter_id)
            wave.append(stored_reading(record, str(month), running[meter.meter_id],
                                       month.end_utc + timedelta(hours=6)))
        send_readings(wave)
        for reading in wave:
            assert decided(reading).status == "accepted"


def test_a_billing_run_end_to_end(stack, admin, quick_redelivery,
                                  tmp_path, monkeypatch):
    _, as_admin = admin
    ensure_reference_tariffs(as_admin)
    admin_api = Api(stack.api.base_url, as_admin.token)
    all_cases = cases()
    assert len(all_cases) >= 50
    owners = [demo_user(a_customer(name=f"Owner {n}")) for n in range(10)]
    plans = [MeterPlan(owner=owners[i % len(owners)], category=c.category, load_kw=c.load_kw,
                       initial_register_wh=c.initial_wh, register_wh=c.register(),
                       behaviour=c.behaviour, label=c.label)
             for i, c in enumerate(all_cases)]
    by_label = {c.label: c for c in all_cases}

    simulator, serials = start_simulator(plans, directory=tmp_path)
    fitted: list[FittedMeter] = []
    try:
        fitted = fit_meters(admin_api, simulator, plans, serials)
        meter_of = {f.plan.label: f for f in fitted}
        tenant = a_customer(name="Tenant")
        split = meter_of["tenant-moves-in"]
        move_in = datetime.combine(parse_period(PERIOD).first_day.replace(day=11),
                                   datetime.min.time(), tzinfo=IST) + timedelta(hours=9)
        prop = PropertyRepository().get(split.property_id)
        assert prop is not None
        a_tenancy(prop, tenant, start=move_in.astimezone(UTC))
        seed_history(fitted, by_label)

        # The billing function dies once, right after writing its third bill.
        monkeypatch.setenv(CRASH_AFTER_BILLS, "3")
        errors_before = stack.runner.stats()["billing"].errors
        started = as_admin.post("/admin/runs", json={"period": PERIOD, "policy": "estimate",
                                                     "window_hours": 1})
        assert started.status_code == 202, started.text

        answering = [f for f in fitted if by_label[f.plan.label].behaviour in
                     ("normal", "replay", "backwards")]
        mine = {f.meter_id for f in fitted}

        def my_readings() -> list[RawReadingRecord]:
            return [r for r in ReadingRepository().readings_for_run(PERIOD)
                    if r.meter_id in mine]

        def all_decided() -> bool:
            readings = my_readings()
            return len({r.meter_id for r in readings}) == len(answering) and all(
                r.status != "received" for r in readings)

        assert wait_for(all_decided, timeout=180, step=0.5), _stuck(answering, my_readings())
        assert stack.runner.stats()["billing"].errors > errors_before, "the crash happened"
        assert wait_for(lambda: settled(as_admin.get(f"/admin/runs/{PERIOD}").json()),
                        timeout=30)

        # SQS redelivers some verified readings: accepted, held and rejected ones.
        again = [r for r in my_readings()][:12]
        send_readings([_message(r) for r in again])
        assert wait_for(lambda: queue_drained(quick_redelivery), timeout=30)

        closed = as_admin.post(f"/admin/runs/{PERIOD}/close")
        assert closed.status_code == 202, closed.text
        # 32 close slices, one after another, each billing its shard's silent meters.
        assert wait_for(lambda: as_admin.get(f"/admin/runs/{PERIOD}").json()["status"]
                        == "closed", timeout=120), as_admin.get(f"/admin/runs/{PERIOD}").json()
        run = as_admin.get(f"/admin/runs/{PERIOD}").json()
        silent_listed = _all(as_admin, f"/admin/runs/{PERIOD}/silent-meters", "meters")
    finally:
        simulator.stop()
        retire(MeterRecord.get(f.meter_id) for f in fitted)

    # ---- exactly the expected bills --------------------------------------------------
    property_of = {f.property_id: f for f in fitted}
    bills = [b for b in _all(as_admin, f"/admin/bills?period={PERIOD}", "bills")
             if b["property_id"] in property_of]
    ids = [b["bill_id"] for b in bills]
    assert len(ids) == len(set(ids))
    by_property: dict[str, list[dict]] = {}
    for bill in bills:
        by_property.setdefault(bill["property_id"], []).append(bill)

    for meter in fitted:
        case = by_label[meter.plan.label]
        got = by_property.get(meter.property_id, [])
        if case.bill is None:
            assert got == [], (case.label, got)
            continue
        if case.bill == "estimated":
            estimate = round(sum(case.history) / len(case.history))  # 150.33 -> 150
            assert [(b["estimated"], b["units"]) for b in got] == [(True, estimate)]
            assert Decimal(got[0]["total"]) == expected_total(case, estimate), case.label
            continue
        whole = expected_total(case, case.units or 0)
        if case.tenant_from_day:
            shares = {b["payer_id"]: Decimal(b["total"]) for b in got}
            days = parse_period(PERIOD).days
            tenant_days = days - case.tenant_from_day + 1
            assert set(shares) == {meter.plan.owner.user_id, tenant.user_id}
            assert sum(shares.values()) == whole
            assert abs(shares[tenant.user_id] - whole * tenant_days / days) <= Decimal("0.10")
            continue
        assert [(b["estimated"], b["units"], b["payer_id"]) for b in got] == [
            (False, case.units, meter.plan.owner.user_id)], case.label
        assert Decimal(got[0]["total"]) == whole, case.label
    derc = by_property[meter_of["derc-example"].property_id][0]
    assert derc["total"] == "1380.00" and derc["total_display"] == "\u20b91,380.00"

    # ---- each payer was told once per bill ---------------------------------------------
    # The emails were written with the bills; wait until the sender handed each over
    # (redelivered readings and the injected crash included), then count what went out.
    handed = stack.wait_until_handed_over([f"bill_issued#{b['bill_id']}" for b in bills])
    assert {r.status for r in handed.values()} == {"sent"}
    outbox = stack.outbox()["emails"]
    for bill in bills:
        mails = [m for m in outbox if f"{bill['link']}\n" in m["body"]]
        assert len(mails) == 1, (bill["bill_id"], len(mails))
        assert bill["total_display"] in mails[0]["body"]
        assert bill["due_date_display"] in mails[0]["body"]

    # ---- silent meters are listed with why ---------------------------------------------
    silent = {s["meter_id"]: s for s in silent_listed if s["meter_id"] in mine}
    expected_silent = {f.meter_id: by_label[f.plan.label] for f in fitted
                       if by_label[f.plan.label].behaviour in
                       ("silent", "offline", "error", "tamper", "tamper_resigned", "stale")}
    assert set(silent) == set(expected_silent)
    why = {by_label[meter.plan.label].label: silent[meter.meter_id]
           for meter in fitted if meter.meter_id in silent}
    assert why["offline"]["why"] == "unreachable"
    assert why["meter-error"]["why"] == "meter_error"
    assert why["silent-new"]["outcome"] == "no_history"
    assert why["silent-with-history"]["outcome"] == "estimated"

    # ---- rejected and held readings, with reasons --------------------------------------
    rejected = as_admin.get(f"/admin/runs/{PERIOD}/readings?status=rejected&limit=500"
                            ).json()["readings"]
    reasons = {(r["meter_id"], r["source"], r["reason"]) for r in rejected
               if r["meter_id"] in mine}
    for label in ("backwards-1", "backwards-2"):
        assert (meter_of[label].meter_id, "billing", "decrease_without_replacement") in reasons
    for label in ("stale-1", "stale-2"):
        assert (meter_of[label].meter_id, "endpoint", "read_before_request") in reasons
    for label in ("replay-1", "replay-2"):  # the copy is refused, whichever check sees it
        assert reasons & {(meter_of[label].meter_id, "endpoint", reason)
                          for reason in ("duplicate_reading", "counter_replay")}
    for label in ("tamper-1", "tamper-2"):
        refused = as_admin.get("/admin/meter-rejections",
                               params={"meter_id": meter_of[label].meter_id}
                               ).json()["rejections"]
        assert refused and refused[0]["reason"] in ("bad_signature", "bad_mac")
    held = as_admin.get(f"/admin/runs/{PERIOD}/readings?status=held&limit=500"
                        ).json()["readings"]
    assert {(r["meter_id"], r["reason"]) for r in held if r["meter_id"] in mine} == {
        (meter_of["spike-1"].meter_id, "spike"), (meter_of["spike-2"].meter_id, "spike")}
    progress = run["progress"]
    assert progress["held"] >= 2 and progress["rejected"] >= 2
    assert progress["no_response"] >= len(expected_silent)
    assert progress["bills_issued"] >= len(bills)


def _all(as_admin, path: str, key: str) -> list[dict]:
    """Every item of a paginated admin list, following the cursor page by page."""
    found, cursor = [], None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = as_admin.get(path, params=params).json()
        found += page[key]
        cursor = page["cursor"]
        if cursor is None:
            return found


def _message(record: RawReadingRecord):
    from functions.core.messages import VerifiedReading

    return VerifiedReading(
        reading_key=record.reading_key, meter_id=record.meter_id, run_id=record.run_id,
        period=record.period, nonce=record.nonce, counter=int(record.counter),
        register_wh=int(record.register_wh), read_at=record.read_at,
        received_at=record.received_at)


def _stuck(answering: list[FittedMeter], readings: list[RawReadingRecord]) -> str:
    """What happened to the meters whose reading did not arrive (for the failure message)."""
    from functions.core.meters.repositories import ReadingRepository, ReadRequestRepository

    arrived = {r.meter_id for r in readings}
    lines = [str(Counter(r.status for r in readings))]
    for meter in answering:
        if meter.meter_id not in arrived:
            requests = ReadRequestRepository().for_run(PERIOD, meter.meter_id)
            refused = ReadingRepository().rejections(meter_id=meter.meter_id)
            lines.append(f"{meter.plan.label}: requests {[r.status for r in requests]} "
                         f"refused {[(r.reason, r.detail) for r in refused]}")
    return "\n".join(lines)
