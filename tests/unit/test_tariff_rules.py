"""The rules of issue 17 in the pure engine, each on a small tariff with every
expected amount worked out by hand in the comment beside it."""

from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from pydantic import ValidationError

from functions.core.billing_rules.tariff import (
    PricedBill,
    TariffVersion,
    Usage,
    price,
    price_period,
    versions_in_period,
)
from functions.core.billing_rules.tariff_rules import net_units

D = Decimal
APRIL = (date(2025, 4, 1), date(2025, 4, 30))


def tariff(**extra: Any) -> TariffVersion:
    body: dict[str, Any] = {
        "name": "Test", "category": "residential", "effective_from": "2025-04-01",
        "energy_slabs": [{"from_units": 0, "to_units": 100, "rate_per_kwh": "3.00"},
                         {"from_units": 100, "to_units": 300, "rate_per_kwh": "5.00"},
                         {"from_units": 300, "to_units": None, "rate_per_kwh": "7.00"}],
        "load_slabs": [{"from_kw": 0, "to_kw": None, "rate_per_kw": 50}],
        "due_days": 15, "late_payment_surcharge_percent": "1.5",
    }
    body.update(extra)
    return TariffVersion.model_validate(body)


def lines(bill: PricedBill) -> list[tuple[str, str, Decimal]]:
    return [(line.kind, line.label, line.amount) for line in bill.lines]


def test_non_telescopic_bands_price_every_unit_at_the_band_of_the_total():
    t = tariff(energy_slab_mode="non_telescopic")
    assert lines(price(t, 250, D(2)))[0] == (
        "energy", "Energy, all units (band 101-300 kWh)", D("1250.00"))  # 250 x 5.00
    assert price(t, 100, D(2)).energy_total == D("300.00")  # 100 x 3.00 (band 0-100)
    assert price(t, 301, D(2)).energy_total == D("2107.00")  # 301 x 7.00
    telescopic = price(tariff(), 301, D(2)).energy_total
    assert telescopic == D("1307.00")  # 300 + 1000 + 7


def test_unit_charges_with_their_own_dates_pro_rata_by_days():
    t = tariff(unit_charges=[
        {"name": "FPPCA", "rate_per_kwh": "0.40", "effective_to": "2025-04-10"},
        {"name": "FPPCA", "rate_per_kwh": "0.55", "effective_from": "2025-04-11"},
        {"name": "Electricity duty", "rate_per_kwh": "0.10"},
        {"name": "Wheeling", "rate_per_kwh": "1.00", "effective_from": "2025-05-01"},
    ], percentage_charges=[{"name": "Tax", "percent": 5, "base": "units"}])
    bill = price(t, 300, D(2), first_day=APRIL[0], last_day=APRIL[1])
    units = [(label, line) for kind, label, line in lines(bill) if kind == "unit"]
    assert units == [
        ("FPPCA (10 of 30 days)", D("40.00")),  # 300 x 10/30 = 100 kWh x 0.40
        ("FPPCA (20 of 30 days)", D("110.00")),  # 200 kWh x 0.55
        ("Electricity duty", D("30.00")),  # 300 x 0.10; wheeling starts in May: no line
    ]
    assert bill.unit_charges_total == D("180.00")
    assert lines(bill)[-1] == ("percentage", "Tax", D("9.00"))  # 5% of 180


def test_minimum_charge_bills_the_shortfall():
    t = tariff(minimum_charge={"amount": 100, "per_kw": 25})
    # 10 units: 30 energy + 100 fixed (2 kW x 50) = 130 < 100 + 2 x 25 = 150 -> 20
    bill = price(t, 10, D(2))
    assert lines(bill)[-1] == ("minimum", "Minimum charge shortfall (minimum 150.00)",
                               D("20.00"))
    assert bill.total == D("150.00")
    assert price(t, 50, D(2)).total == D("250.00")  # 150 + 100 >= 150: no line


def test_subsidy_bands_by_total_units_with_gross_and_net():
    t = tariff(subsidy={"name": "GNCTD subsidy", "base": "gross", "bands": [
        {"from_units": 0, "to_units": 100, "percent": 100},
        {"from_units": 100, "to_units": 300, "percent": 50, "cap": 400},
        {"from_units": 300, "to_units": None, "percent": 0}]})
    small = price(t, 80, D(2))  # 240 + 100 = 340, all of it subsidised
    assert (small.gross_total, small.subsidy_total, small.total) == (
        D("340.00"), D("-340.00"), D("0.00"))
    middle = price(t, 150, D(2))  # 300 + 250 + 100 = 650; 50% = 325 (cap 400)
    assert lines(middle)[-1] == ("subsidy", "GNCTD subsidy (101-300 kWh)", D("-325.00"))
    assert middle.total == D("325.00")
    capped = price(t, 300, D(2))  # 300 + 1000 + 100 = 1400; 50% = 700 -> cap 400
    assert lines(capped)[-1] == ("subsidy", "GNCTD subsidy (101-300 kWh, capped at 400.00)",
                                 D("-400.00"))
    assert capped.total == D("1000.00")
    assert price(t, 301, D(2)).subsidy_total == D("0.00")  # band of 0%: no line


def test_time_of_day_rebate_and_surcharge_from_zone_registers():
    t = tariff(time_of_day={"zones": [
        {"name": "off-peak", "start_hour": 0, "end_hour": 6, "percent": -20},
        {"name": "normal", "start_hour": 6, "end_hour": 18, "percent": 0},
        {"name": "peak", "start_hour": 18, "end_hour": 24, "percent": 20}]})
    bill = price(t, 200, D(2), usage=Usage(tod_units=(50, 100, 50)))
    # slab energy 300 + 500 = 800; off-peak 50/200 of it = 200 x -20% = -40; peak +40
    assert [entry for entry in lines(bill) if entry[0] == "tod"] == [
        ("tod", "ToD rebate, off-peak 00:00-06:00 (50 kWh)", D("-40.00")),
        ("tod", "ToD surcharge, peak 18:00-24:00 (50 kWh)", D("40.00")),
    ]
    skewed = price(t, 200, D(2), usage=Usage(tod_units=(150, 50, 0)))
    assert skewed.energy_total == D("680.00")  # 800 - 20% of 600 (3/4 of 800) = 800 - 120
    # A meter without zone registers (or another number of zones): the normal rate.
    assert price(t, 200, D(2)).energy_total == D("800.00")
    assert price(t, 200, D(2), usage=Usage(tod_units=(100, 100))).energy_total == D("800.00")


# MERC's ToD table for MSEDCL (rebate/surcharge in Rs/kWh, not %): 22:00-06:00 -1.50,
# 09:00-12:00 +0.80, 18:00-22:00 +1.10, the rest at the normal rate. 22-06 is written
# as two zones (00-06 and 22-24).
MERC_TOD = {"zones": [
    {"name": "night", "start_hour": 0, "end_hour": 6, "rate_per_kwh": "-1.50"},
    {"name": "normal", "start_hour": 6, "end_hour": 9},
    {"name": "morning peak", "start_hour": 9, "end_hour": 12, "rate_per_kwh": "0.80"},
    {"name": "normal", "start_hour": 12, "end_hour": 18},
    {"name": "evening peak", "start_hour": 18, "end_hour": 22, "rate_per_kwh": "1.10"},
    {"name": "night", "start_hour": 22, "end_hour": 24, "rate_per_kwh": "-1.50"}]}


def test_time_of_day_in_rupees_per_kwh():
    t = tariff(time_of_day=MERC_TOD)
    bill = price(t, 300, D(2), usage=Usage(tod_units=(60, 30, 50, 60, 70, 30)))
    assert [entry for entry in lines(bill) if entry[0] == "tod"] == [
        ("tod", "ToD rebate, night 00:00-06:00", D("-90.00")),  # 60 x -1.50
        ("tod", "ToD surcharge, morning peak 09:00-12:00", D("40.00")),  # 50 x 0.80
        ("tod", "ToD surcharge, evening peak 18:00-22:00", D("77.00")),  # 70 x 1.10
        ("tod", "ToD rebate, night 22:00-24:00", D("-45.00")),  # 30 x -1.50
    ]
    night = next(line for line in bill.lines if line.kind == "tod")
    assert (night.quantity, night.unit, night.rate) == (D(60), "kWh", D("-1.50"))
    assert bill.energy_total == D("1282.00")  # slabs 300 + 1000, ToD -18
    # Net metering bills fewer units than the zones read: each zone's share of them.
    solar = tariff(time_of_day=MERC_TOD,
                   metering={"scheme": "net", "export_rate_per_kwh": "2.00"})
    net = price(solar, 300, D(2), usage=Usage(tod_units=(60, 30, 50, 60, 70, 30),
                                               export_units=150))
    # 150 units billed: night 60/300 of them = 30 kWh x -1.50 = -45.00
    assert next(entry for entry in lines(net) if entry[0] == "tod") == (
        "tod", "ToD rebate, night 00:00-06:00", D("-45.00"))
    # No zone registers: the normal rate.
    assert price(t, 300, D(2)).energy_total == D("1300.00")


def test_energy_table_chosen_by_sanctioned_load():
    # Illustrative figures in the shape of an LT non-domestic order: 0-20 kW two slabs,
    # above 20 up to 50 kW one rate, above 50 kW another.
    t = tariff(energy_by_load=[
        {"from_kw": 0, "to_kw": 20, "energy_slabs": [
            {"from_units": 0, "to_units": 200, "rate_per_kwh": "6.00"},
            {"from_units": 200, "to_units": None, "rate_per_kwh": "9.00"}]},
        {"from_kw": 20, "to_kw": 50, "energy_slabs": [
            {"from_units": 0, "to_units": None, "rate_per_kwh": "10.00"}]},
        {"from_kw": 50, "to_kw": None, "energy_slab_mode": "non_telescopic",
         "energy_slabs": [{"from_units": 0, "to_units": 1000, "rate_per_kwh": "11.00"},
                          {"from_units": 1000, "to_units": None, "rate_per_kwh": "12.00"}]},
    ])
    small = price(t, 300, D(10))
    assert lines(small)[:2] == [("energy", "Energy 0-200 kWh", D("1200.00")),  # 200 x 6
                                ("energy", "Energy above 200 kWh", D("900.00"))]  # 100 x 9
    assert price(t, 300, D(20)).energy_total == D("2100.00")  # 20 kW: still the first band
    assert price(t, 300, D("20.5")).energy_total == D("3000.00")  # 300 x 10
    large = price(t, 1500, D(60))
    assert lines(large)[0] == ("energy", "Energy, all units (band above 1000 kWh)",
                               D("18000.00"))  # 1500 x 12, every unit
    # Without tables, energy_slabs price every load.
    assert price(tariff(), 300, D(60)).energy_total == D("1300.00")  # 300 + 1000


def test_fixed_charge_per_connection():
    t = tariff(load_slabs=[{"from_kw": 0, "to_kw": 5, "rate_per_kw": 0, "per_connection": 128},
                           {"from_kw": 5, "to_kw": None, "rate_per_kw": 40,
                            "per_connection": 100}])
    assert [entry for entry in lines(price(t, 50, D(3))) if entry[0] == "fixed"] == [
        ("fixed", "Fixed charge per connection", D("128.00"))]
    assert [entry for entry in lines(price(t, 50, D(8))) if entry[0] == "fixed"] == [
        ("fixed", "Fixed charge (above 5 kW)", D("320.00")),  # 8 x 40
        ("fixed", "Fixed charge per connection", D("100.00"))]


def test_demand_charge_billing_demand_and_excess_penalty():
    t = tariff(load_slabs=[{"from_kw": 0, "to_kw": None, "rate_per_kw": 0}],
               demand={"rate_per_kw": 250, "contract_percent": 75, "excess_rate_per_kw": 375})
    low = price(t, 100, D(20), usage=Usage(max_demand_kw=D("9.5")))
    # billing demand = max(9.5, 75% of 20 = 15) = 15 kW x 250 = 3750
    assert [entry for entry in lines(low) if entry[0] == "demand"] == [
        ("demand", "Demand charge (billing demand 15 kW)", D("3750.00"))]
    high = price(t, 100, D(20), usage=Usage(max_demand_kw=D("22.4")))
    assert [entry for entry in lines(high) if entry[0] == "demand"] == [
        ("demand", "Demand charge (billing demand 22.4 kW)", D("5600.00")),  # 22.4 x 250
        ("demand", "Excess demand penalty (2.4 kW above sanctioned)", D("900.00")),  # x 375
    ]
    assert high.billing_demand_kw == D("22.4")
    # No MD register: the contract demand (the sanctioned load).
    assert price(t, 100, D(20)).demand_total == D("5000.00")


def test_net_units_banking_and_settlement():
    assert net_units(300, 100, 0, settle=False).billed_units == 200
    surplus = net_units(100, 250, 20, settle=False)
    assert (surplus.billed_units, surplus.banked_added, surplus.banked_out) == (0, 150, 170)
    used = net_units(300, 100, 170, settle=False)  # net 200, 170 banked taken off
    assert (used.billed_units, used.banked_used, used.banked_out) == (30, 170, 0)
    settled = net_units(100, 150, 40, settle=True)
    assert (settled.settled_units, settled.banked_out) == (90, 0)


def test_net_metering_bills_import_minus_export_and_settles_in_march():
    t = tariff(metering={"scheme": "net", "export_rate_per_kwh": "3.00",
                         "settlement_month": 3})
    bill = price(t, 250, D(2), usage=Usage(export_units=120), banked_units=30,
                 first_day=APRIL[0], last_day=APRIL[1])
    # net 130 - 30 banked = 100 units: 100 x 3.00 + fixed 100
    assert bill.units == D(100)
    assert bill.total == D("400.00")
    assert bill.net_metering is not None and bill.net_metering.banked_out == 0
    march = price(t, 100, D(2), usage=Usage(export_units=180), banked_units=30,
                  first_day=date(2026, 3, 1), last_day=date(2026, 3, 31))
    # surplus 80 + 30 banked = 110 settled at 3.00 = -330; fixed 100
    assert lines(march)[-1] == ("export", "Net metering: banked units settled at year end",
                                D("-330.00"))
    assert march.total == D("-230.00")
    assert march.net_metering is not None and march.net_metering.banked_out == 0


def test_gross_metering_bills_every_import_and_credits_every_export():
    t = tariff(metering={"scheme": "gross", "export_rate_per_kwh": "2.50"})
    bill = price(t, 250, D(2), usage=Usage(export_units=120))
    assert bill.units == D(250)  # 300 + 750 + 100 fixed = 1150
    assert lines(bill)[-1] == ("export", "Export credit (gross metering)", D("-300.00"))
    assert bill.total == D("850.00")


def test_a_tariff_revised_mid_period_is_split_pro_rata_by_days():
    old = tariff()
    new = tariff(effective_from="2025-04-21", name="Revised",
                 energy_slabs=[{"from_units": 0, "to_units": None, "rate_per_kwh": "6.00"}],
                 load_slabs=[{"from_kw": 0, "to_kw": None, "rate_per_kw": 80}])
    segments = versions_in_period([new, old], "residential", *APRIL)
    assert [(s.version.name, s.first_day.day, s.last_day.day) for s in segments] == [
        ("Test", 1, 20), ("Revised", 21, 30)]
    bill = price_period([old, new], "residential", *APRIL, 300, D(2))
    # Test, 20/30 days: 200 units; slabs 0-66.67 at 3, 66.67-200 at 5:
    #   66.667 x 3 = 200.00, 133.333 x 5 = 666.67; fixed 2 x 50 x 2/3 = 66.67
    # Revised, 10/30 days: 100 units x 6 = 600; fixed 2 x 80 x 1/3 = 53.33
    assert [amount for _, _, amount in lines(bill)] == [
        D("200.00"), D("666.67"), D("66.67"), D("600.00"), D("53.33")]
    assert lines(bill)[3][1] == "Energy (all units) (21 Apr-30 Apr, Revised)"
    assert bill.total == D("1586.67")
    assert bill.segments == ("residential@2025-04-01 2025-04-01..2025-04-20",
                             "residential@2025-04-21 2025-04-21..2025-04-30")
    assert price_period([old], "residential", *APRIL, 300, D(2)).total == \
        price(old, 300, D(2)).total


def test_partial_connection_scales_bands_caps_and_demand():
    t = tariff(demand={"rate_per_kw": 100}, subsidy={"bands": [
        {"from_units": 0, "to_units": 100, "percent": 50, "cap": 60},
        {"from_units": 100, "to_units": None, "percent": 0}]})
    bill = price(t, 40, D(2), days_fraction=Fraction(1, 2))
    # energy: slab 0-50 -> 40 x 3 = 120; fixed 2 x 50 / 2 = 50; demand 2 x 100 / 2 = 100
    # subsidy band 0-50 (half of 100): 50% of 270 = 135, capped at 60 / 2 = 30
    assert bill.gross_total == D("270.00")
    assert bill.subsidy_total == D("-30.00")


class TestValidation:
    @staticmethod
    def error(**extra: Any) -> tuple[tuple[Any, ...], str]:
        with pytest.raises(ValidationError) as info:
            tariff(**extra)
        first = info.value.errors()[0]
        return first["loc"], first["msg"]

    def test_overlapping_zones(self):
        loc, msg = self.error(time_of_day={"zones": [
            {"name": "a", "start_hour": 0, "end_hour": 10, "percent": 0},
            {"name": "b", "start_hour": 8, "end_hour": 24, "percent": 10}]})
        assert loc == ("time_of_day", "zones")
        assert "zones[1] starts at 8:00, overlapping zones[0]" in msg

    def test_zones_must_cover_the_day(self):
        loc, msg = self.error(time_of_day={"zones": [
            {"name": "a", "start_hour": 0, "end_hour": 10, "percent": 0},
            {"name": "b", "start_hour": 12, "end_hour": 22, "percent": 10}]})
        assert loc == ("time_of_day", "zones")
        assert "leaving 10:00-12:00 not covered" in msg
        loc, msg = self.error(time_of_day={"zones": [
            {"name": "a", "start_hour": 0, "end_hour": 22, "percent": 0}]})
        assert "must cover the whole day" in msg

    def test_subsidy_bands_with_gaps(self):
        loc, msg = self.error(subsidy={"bands": [
            {"from_units": 0, "to_units": 100, "percent": 50},
            {"from_units": 150, "to_units": None, "percent": 0}]})
        assert loc == ("subsidy", "bands")
        assert "leaving a gap" in msg

    @pytest.mark.parametrize(("extra", "loc"), [
        ({"unit_charges": [{"name": "FPPCA", "rate_per_kwh": "-0.10"}]},
         ("unit_charges", 0, "rate_per_kwh")),
        ({"demand": {"rate_per_kw": -1}}, ("demand", "rate_per_kw")),
        ({"metering": {"scheme": "net", "export_rate_per_kwh": "-2"}},
         ("metering", "export_rate_per_kwh")),
        ({"minimum_charge": {"amount": -5}}, ("minimum_charge", "amount")),
        ({"time_of_day": {"zones": [{"name": "a", "start_hour": 0, "end_hour": 24,
                                     "percent": -101}]}},
         ("time_of_day", "zones", 0, "percent")),
    ])
    def test_negative_rates(self, extra, loc):
        assert self.error(**extra)[0] == loc

    def test_a_zone_has_a_percent_or_a_rate_not_both(self):
        loc, msg = self.error(time_of_day={"zones": [
            {"name": "a", "start_hour": 0, "end_hour": 24, "percent": 10,
             "rate_per_kwh": "0.80"}]})
        assert loc == ("time_of_day", "zones", 0)
        assert "percent or a rate_per_kwh, not both" in msg

    def test_load_bands_of_energy_tables_without_gaps(self):
        slabs = [{"from_units": 0, "to_units": None, "rate_per_kwh": "5"}]
        loc, msg = self.error(energy_by_load=[
            {"from_kw": 0, "to_kw": 20, "energy_slabs": slabs},
            {"from_kw": 25, "to_kw": None, "energy_slabs": slabs}])
        assert loc == ("energy_by_load",)
        assert "energy_by_load[1] starts at 25 kW, leaving a gap" in msg
        loc, msg = self.error(energy_by_load=[{"from_kw": 0, "energy_slabs": [
            {"from_units": 0, "to_units": 100, "rate_per_kwh": "5"}]}])
        assert loc == ("energy_by_load", 0, "energy_slabs")
        assert "must be open-ended" in msg
        loc, _ = self.error(energy_by_load=[{"from_kw": 0, "energy_slabs": [
            {"from_units": 0, "rate_per_kwh": "-5"}]}])
        assert loc == ("energy_by_load", 0, "energy_slabs", 0, "rate_per_kwh")

    def test_per_connection_charge_is_not_negative(self):
        loc, _ = self.error(load_slabs=[{"from_kw": 0, "rate_per_kw": 0, "per_connection": -1}])
        assert loc == ("load_slabs", 0, "per_connection")

    def test_unit_charge_entries_of_one_name_must_not_overlap(self):
        loc, msg = self.error(unit_charges=[
            {"name": "FPPCA", "rate_per_kwh": "0.4", "effective_to": "2025-04-15"},
            {"name": "FPPCA", "rate_per_kwh": "0.5", "effective_from": "2025-04-10"}])
        assert loc == ("unit_charges",)
        assert "overlaps" in msg
