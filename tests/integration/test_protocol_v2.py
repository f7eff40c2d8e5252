"""Protocol v2 end to end, with a real `python -m device_client simulate` process:

    POST /admin/runs (a period whose billing date is weeks past) -> iot_fanout -> v1 requests
    to v1 meters, v2 requests naming the billing date to v2 meters -> readings -> billing

A mixed fleet bills every meter in one run; a v2 meter's bill counts exactly the energy up to
00:00 IST of the billing date (its latched snapshot), not the weeks the run started later,
and records the zones, export and maximum demand; a v2 meter whose zones do not add up is
rejected and one with an impossible demand held, each with its reason.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from device_client.profiles import registers_between
from devstack.demo_data import Api, FittedMeter, MeterPlan, fit_meters, start_simulator
from functions.core.accounts.sessions import issue_session
from functions.core.billing_rules import parse_period, period_of
from functions.core.bills.models import BillRecord
from functions.core.meters.models import MeterRecord, RawReadingRecord
from tests.integration.billing_support import (
    a_customer,
    ensure_reference_tariffs,
    retire,
    wait_for,
)

# Four months back: the billing date is weeks before the run, the meters (fitted five
# months ago) latched its snapshot, and no other test bills this period.
PERIOD = str(period_of(datetime.now(UTC)).previous().previous().previous().previous())
BILLING_AT = parse_period(PERIOD).end_utc


def _owner():
    from devstack.demo_data import DemoUser

    user = a_customer(name="Solar Owner")
    return DemoUser(user.user_id, user.name, user.email, user.mobile, user.role, "",
                    issue_session(user))


def run_fleet(stack, as_admin, tmp_path, plans: list[MeterPlan], period: str
              ) -> tuple[dict[str, FittedMeter], dict[str, RawReadingRecord],
                         dict[str, BillRecord], dict[str, dict]]:
    """Fit the plans' simulated meters, run the period, wait for every verdict; returns
    (fitted by label, reading by meter id, bill by meter id, fleet entry by serial)."""
    simulator, serials = start_simulator(plans, directory=tmp_path, installed_days_ago=150)
    fitted: list[FittedMeter] = []
    try:
        fitted = fit_meters(Api(stack.api.base_url, as_admin.token), simulator, plans, serials)
        for f in fitted:
            view = as_admin.get(f"/admin/meters/{f.meter_id}").json()
            assert view["capabilities"]["protocol_version"] == f.plan.protocol_version
        started = as_admin.post("/admin/runs", json={"period": period, "policy": "no_bill",
                                                     "window_hours": 1})
        assert started.status_code == 202, started.text
        mine = {f.meter_id for f in fitted}

        def decided() -> list[RawReadingRecord]:
            readings = [r for f in fitted for r in RawReadingRecord.query(
                f.meter_id, RawReadingRecord.reading_key.startswith("reading#"))
                if r.run_id == period]
            done = len({r.meter_id for r in readings}) == len(mine) and all(
                r.status != "received" for r in readings)
            return readings if done else []

        readings = {r.meter_id: r for r in wait_for(decided, timeout=90, step=0.5)}
    finally:
        simulator.stop()
        retire(m for f in fitted if (m := MeterRecord.get(f.meter_id)))
    fleet = {m["serial"]: m for m in json.loads(simulator.fleet_file.read_text())["meters"]}
    bills = {b.meter_id: b for b in BillRecord.scan(BillRecord.meter_id.is_in(*mine))
             if b.period == period}
    return {f.plan.label: f for f in fitted}, readings, bills, fleet


def test_a_mixed_fleet_bills_every_meter_in_one_run(stack, admin, tmp_path):
    _, as_admin = admin
    ensure_reference_tariffs(as_admin)
    owner = _owner()
    period = str(period_of(datetime.now(UTC)).previous())
    plans = [MeterPlan(owner=owner, label="v1", initial_register_wh=2_000_000),
             MeterPlan(owner=owner, label="v2", initial_register_wh=1_000_000,
                       protocol_version=2),
             MeterPlan(owner=owner, label="v1-commercial", category="commercial",
                       load_kw="10", initial_register_wh=500_000)]
    by_label, readings, bills, _ = run_fleet(stack, as_admin, tmp_path, plans, period)
    assert set(bills) == {f.meter_id for f in by_label.values()}, _debug(readings.values())
    assert bills[by_label["v2"].meter_id].current_read_at == parse_period(period).end_utc
    assert bills[by_label["v1"].meter_id].register_source is None


def test_a_late_run_bills_v2_meters_from_the_billing_date_snapshot(stack, admin, tmp_path):
    """The run starts months after the billing date: the v2 meters' bills count exactly
    the energy up to it (their latched snapshots)."""
    _, as_admin = admin
    ensure_reference_tariffs(as_admin)
    owner = _owner()
    plans = [
        MeterPlan(owner=owner, label="v2", initial_register_wh=1_000_000, protocol_version=2),
        MeterPlan(owner=owner, label="v2-solar", initial_register_wh=3_000_000,
                  protocol_version=2, solar_kwp=3.0),
        MeterPlan(owner=owner, label="v2-bad-zones", initial_register_wh=10_000,
                  protocol_version=2, behaviour="bad_zones"),
        MeterPlan(owner=owner, label="v2-impossible-demand", initial_register_wh=20_000,
                  protocol_version=2, behaviour="md_impossible"),
    ]
    by_label, readings, bills, fleet = run_fleet(stack, as_admin, tmp_path, plans, PERIOD)
    assert set(bills) == {by_label[label].meter_id for label in ("v2", "v2-solar")}, \
        _debug(readings.values())
    solar = by_label["v2-solar"].meter_id
    assert as_admin.get(f"/admin/meters/{solar}").json()["capabilities"] == {
        "protocol_version": 2, "tod_zones": 4, "export": True, "demand": True}

    for label in ("v2", "v2-solar"):
        f = by_label[label]
        entry = fleet[f.serial]
        installed = datetime.fromisoformat(entry["start_at"])
        latched = registers_between(entry["seed"], entry["profile"], installed, BILLING_AT,
                                    solar_kwp=entry["solar_kwp"])
        snapshot_wh = f.plan.initial_register_wh + latched.import_wh
        reading, bill = readings[f.meter_id], bills[f.meter_id]
        assert reading.source == "snapshot" and reading.snapshot_at == BILLING_AT
        # the bill counts up to the billing date: not the weeks before the run started
        assert bill.current_register_wh == snapshot_wh
        assert bill.current_read_at == BILLING_AT
        assert bill.units == snapshot_wh // 1000 - f.plan.initial_register_wh // 1000
        live = registers_between(entry["seed"], entry["profile"], installed,
                                 reading.received_at, solar_kwp=entry["solar_kwp"])
        assert live.import_wh - latched.import_wh > 30_000  # a month and more not billed
        assert bill.register_source == "snapshot"
        assert list(bill.current_tod_wh) == list(reading.tod_wh)
        assert sum(reading.tod_wh) == reading.register_wh
        assert 0 < int(bill.md_w) < 10_000
        assert parse_period(PERIOD).start_utc < bill.md_at <= BILLING_AT
    assert int(bills[by_label["v2-solar"].meter_id].current_export_wh) > 50_000
    assert int(bills[by_label["v2"].meter_id].current_export_wh) == 0
    bad_zones = readings[by_label["v2-bad-zones"].meter_id]
    assert (bad_zones.status, bad_zones.validation_reason) == ("rejected",
                                                               "tod_zone_sum_mismatch")
    demand = readings[by_label["v2-impossible-demand"].meter_id]
    assert (demand.status, demand.validation_reason) == ("held", "demand_above_limit")


def _debug(readings):  # pragma: no cover
    return {r.meter_id: (r.status, r.validation_reason, r.validation_detail) for r in readings}
