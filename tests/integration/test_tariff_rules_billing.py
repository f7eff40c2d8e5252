"""Issue 17's tariff rules on real bills: protocol v2 readings billed by the billing
service against the emulator, with the tariff orders' versions created through the
admin API in categories of their own (so no other test's versions interfere).

- Net metering: import - export - banked units, the surplus banked on the bill and
  carried to the next month's bill of the property, the GNCTD subsidy (gross and net).
- ToD and demand: the zone registers' units priced by zone, billing demand from the
  recorded maximum demand.
Every total is worked out by hand in tests/unit/test_tariff_orders.py's way.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from functions.core.billing_rules import parse_period
from functions.core.billing_rules.tariff_orders import TARIFF_ORDERS
from functions.core.bills.models import BillRecord, bill_id_for
from functions.core.bills.service import BillingService
from functions.core.clock import iso, utcnow
from functions.core.messages import VerifiedReading
from functions.core.meters.models import MeterRecord, RawReadingRecord
from functions.core.tariffs.service import TariffBook
from tests.integration.billing_support import a_customer, a_meter, a_property


def a_category(as_admin: Any, order: str, prefix: str) -> str:
    name = f"{prefix}_{secrets.token_hex(3)}"
    created = as_admin.post("/admin/tariff-categories", json={"name": name, "label": name})
    assert created.status_code == 201, created.text
    version = as_admin.post("/admin/tariffs", json=TARIFF_ORDERS[order] | {"category": name})
    assert version.status_code == 201, version.text
    return name


def v2_reading(meter: MeterRecord, period: str, import_wh: int, *, export_wh: int = 0,
               tod_wh: list[int] | None = None, md_w: int = 1000) -> VerifiedReading:
    """A v2 reading with the snapshot latched at the period's billing date."""
    billing_at = parse_period(period).end_utc
    read_at = billing_at + timedelta(hours=3)
    counter = int(datetime.now(UTC).timestamp() * 1000) % 10**9
    key = f"reading#{iso(read_at)}#{counter:012d}"
    nonce = secrets.token_urlsafe(32)
    zones = tod_wh or [import_wh]
    RawReadingRecord(
        meter.meter_id, key, run_id=period, period=period, nonce=nonce, counter=counter,
        register_wh=import_wh, read_at=read_at, received_at=utcnow(), protocol_version=2,
        source="snapshot", snapshot_at=billing_at, export_wh=export_wh, tod_wh=zones,
        md_w=md_w, md_at=billing_at - timedelta(days=10), property_id=meter.property_id,
        envelope="{}", payload="{}", server_key_id="test").save()
    return VerifiedReading(reading_key=key, meter_id=meter.meter_id, run_id=period,
                           period=period, nonce=nonce, counter=counter, register_wh=import_wh,
                           read_at=read_at, received_at=utcnow())


def bill(service: BillingService, reading: VerifiedReading) -> BillRecord:
    batch = service.start_batch([reading])
    verdict = batch.bill(reading)
    batch.finish()
    assert verdict.status == "accepted", verdict
    return BillRecord.get(bill_id_for(RawReadingRecord.get(
        reading.meter_id, reading.reading_key).property_id or "", reading.period),
        consistent_read=True)


def amounts(record: BillRecord) -> list[tuple[str, str, str]]:
    return [(line.kind, line.label, line.amount) for line in record.line_items]


def test_net_metering_banks_the_surplus_on_the_bill_and_uses_it_next_month(stack, admin):
    category = a_category(admin[1], "derc_domestic_2019_20_net_metering", "solar")
    meter = a_meter(a_property(a_customer(), category=category, load_kw="3"))
    service = BillingService(tariffs=TariffBook())

    # October: the first v2 bill (no earlier export register): 150 units, all subsidised.
    october = bill(service, v2_reading(meter, "2019-10", 150_000, export_wh=20_000))
    assert (october.units, october.total) == (150, "0.00")
    assert october.banked_units_out == 0
    # November: 200 units in, 260 out: 60 banked; the fixed charges are subsidised.
    november = bill(service, v2_reading(meter, "2019-11", 350_000, export_wh=280_000))
    assert (november.export_units, november.billed_units) == (260, 0)
    assert (november.banked_units_in, november.banked_units_out) == (0, 60)
    assert amounts(november) == [
        ("fixed", "Fixed charge (above 2 kW up to 5 kW)", "150.00"),
        ("percentage", "Pension Trust Surcharge", "5.70"),  # 3.8% of 150
        ("percentage", "Regulatory Asset Surcharge", "12.00"),
        ("subsidy", "GNCTD subsidy (0-200 kWh)", "-167.70"),
    ]
    assert november.total == "0.00"
    # December: 500 in, 150 out: 350 net - 60 banked = 290 units billed.
    december = bill(service, v2_reading(meter, "2019-12", 850_000, export_wh=430_000))
    assert (december.units, december.billed_units) == (500, 290)
    assert (december.banked_units_in, december.banked_units_out) == (60, 0)
    assert amounts(december) == [
        ("energy", "Energy 0-200 kWh", "600.00"),  # 200 x 3.00
        ("energy", "Energy 201-400 kWh", "405.00"),  # 90 x 4.50
        ("fixed", "Fixed charge (above 2 kW up to 5 kW)", "150.00"),
        ("percentage", "Pension Trust Surcharge", "43.89"),  # 3.8% of 1155
        ("percentage", "Regulatory Asset Surcharge", "92.40"),  # 8% of 1155
        ("subsidy", "GNCTD subsidy (201-400 kWh)", "-645.65"),  # 50% of 1291.29
    ]
    assert december.total == "645.64"  # 1291.29 - 645.65


def test_tod_zones_and_maximum_demand_price_a_commercial_bill(stack, admin):
    category = a_category(admin[1], "derc_ndlt_2015_16", "ndlt")
    meter = a_meter(a_property(a_customer(), category=category, load_kw="40"))
    service = BillingService(tariffs=TariffBook())
    may_zones = [1_000_000, 2_000_000, 3_000_000, 4_000_000, 5_000_000, 6_000_000, 7_000_000]
    may = bill(service, v2_reading(meter, "2016-05", sum(may_zones), tod_wh=may_zones,
                                   md_w=30_000))
    # The first bill has no earlier zone registers: the normal rate, demand at 40 kVA.
    assert not [line for line in may.line_items if line.kind == "tod"]
    june_use = [200_000, 500_000, 1_300_000, 1_200_000, 1_000_000, 1_300_000, 500_000]
    june_zones = [a + b for a, b in zip(may_zones, june_use, strict=True)]
    june = bill(service, v2_reading(meter, "2016-06", sum(june_zones), tod_wh=june_zones,
                                    md_w=43_500))
    assert june.units == 6000
    assert amounts(june) == [
        ("energy", "Energy (all units)", "51000.00"),
        ("tod", "ToD surcharge, peak 00:00-01:00 (200 kWh)", "340.00"),
        ("tod", "ToD rebate, off-peak 04:00-10:00 (1300 kWh)", "-2210.00"),
        ("tod", "ToD surcharge, peak 14:00-17:00 (1000 kWh)", "1700.00"),
        ("tod", "ToD surcharge, peak 22:00-24:00 (500 kWh)", "850.00"),
        ("fixed", "Fixed charge (any load)", "0.00"),
        ("demand", "Demand charge (billing demand 43.5 kW)", "5002.50"),
    ]
    assert june.billing_demand_kw == "43.5"
    assert Decimal(june.total) == Decimal("56682.50")


def test_a_tariff_revised_mid_month_prices_each_version_s_days(stack, admin):
    """A version taking effect on 16 March prices 16 of March's 31 days (MERC's and
    HERC's circulars: consumption pro rata by days); billing locks both versions, and
    no version may then take effect inside or before the billed month."""
    _, as_admin = admin
    category = a_category(as_admin, "herc_non_domestic_2014_15", "split")
    revised = TARIFF_ORDERS["herc_non_domestic_2014_15"] | {
        "category": category, "effective_from": "2018-03-16", "name": "Revised",
        "energy_slabs": [{"from_units": 0, "to_units": None, "rate_per_kwh": "6.72"}]}
    assert as_admin.post("/admin/tariffs", json=revised).status_code == 201
    meter = a_meter(a_property(a_customer(), category=category, load_kw="10"))
    service = BillingService(tariffs=TariffBook())
    march = bill(service, v2_reading(meter, "2018-03", 3_100_000))
    # 3100 units: 15/31 -> 1500 x 6.10 = 9150.00; 16/31 -> 1600 x 6.72 = 10752.00
    assert amounts(march) == [
        ("energy", "Energy (all units) (01 Mar-15 Mar, HERC Non-Domestic LT 5-20 kW "
                   "FY2014-15)", "9150.00"),
        ("fixed", "Fixed charge (any load) (01 Mar-15 Mar, HERC Non-Domestic LT 5-20 kW "
                  "FY2014-15)", "0.00"),
        ("energy", "Energy (all units) (16 Mar-31 Mar, Revised)", "10752.00"),
        ("fixed", "Fixed charge (any load) (16 Mar-31 Mar, Revised)", "0.00"),
    ]
    assert march.total == "19902.00"
    assert march.tariff_segments == [f"{category}@2014-04-01 2018-03-01..2018-03-15",
                                     f"{category}@2018-03-16 2018-03-16..2018-03-31"]
    versions = {v["effective_from"]: v for v in as_admin.get(
        f"/admin/tariffs?category={category}").json()}
    assert versions["2014-04-01"]["locked"] and versions["2018-03-16"]["locked"]
    late = revised | {"effective_from": "2018-03-25", "name": "Too late"}
    refused = as_admin.post("/admin/tariffs", json=late)
    assert refused.status_code == 409, refused.text
    assert "after 2018-03-31" in refused.json()["message"]
