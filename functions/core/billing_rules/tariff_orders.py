"""Tariffs transcribed from state regulators' tariff orders (issue 17), as the JSON
an admin would send. tests/unit/test_tariff_orders.py prices bills with them by
hand, to the paisa. Each names its source and year; where an order leaves a
number to another document (a surcharge rate, a settlement rate), the comment
says where the number here comes from.

Meters bill kWh; where an order prices kVA/kVAh, the test connections are taken
at unity power factor (kVA = kW, kVAh = kWh).
"""

from __future__ import annotations

from typing import Any

from functions.core.billing_rules.fixtures import DERC_DOMESTIC_2019_20_JSON
from functions.core.billing_rules.tariff import TariffVersion

# --- DERC (Delhi), Tariff Order FY 2019-20 (31 July 2019, in force from 1 August 2019),
# domestic: energy slabs and fixed charges per kW per month of the order's schedule.
# GNCTD electricity subsidy (from 1 August 2019): up to 200 units a month the whole bill,
# 201-400 units 50% of the bill up to Rs 800, above 400 none.
# Surcharges on energy + fixed: the 8% surcharge for the recovery of the accumulated
# deficit (regulatory asset) and the Pension Trust Surcharge, which that order kept at
# 3.80%. (The product's reference tariff in fixtures.py carries 7%, the PTS from the
# FY 2021-22 order of 30 September 2021 (5% from the FY 2020-21 order): the regulator's
# figure for 2019-20 is 3.80%.)
DERC_DOMESTIC_2019_20_SUBSIDY: dict[str, Any] = DERC_DOMESTIC_2019_20_JSON | {
    "name": "DERC Domestic FY2019-20 with GNCTD subsidy",
    "percentage_charges": [
        {"name": "Pension Trust Surcharge", "percent": "3.8", "base": "energy+fixed"},
        {"name": "Regulatory Asset Surcharge", "percent": 8, "base": "energy+fixed"},
    ],
    "subsidy": {"name": "GNCTD subsidy", "base": "gross", "bands": [
        {"from_units": 0, "to_units": 200, "percent": 100},
        {"from_units": 200, "to_units": 400, "percent": 50, "cap": 800},
        {"from_units": 400, "to_units": None, "percent": 0},
    ]},
}

# The same with rooftop solar under DERC (Net Metering for Renewable Energy) Regulations,
# 2014: net units billed, surplus banked and carried forward within the financial year,
# settled at its end (March). The regulations pay the units still banked at the
# discom's Average Power Purchase Cost (APPC) as DERC stipulates it in a separate
# order, not in the tariff schedule: the settlement rate is a CONFIGURED value that
# the admin enters each year, and 3.00 below is such a configured value (not DERC's
# figure for any discom).
CONFIGURED_APPC_SETTLEMENT_RATE = "3.00"
DERC_DOMESTIC_2019_20_NET_METERING: dict[str, Any] = DERC_DOMESTIC_2019_20_SUBSIDY | {
    "name": "DERC Domestic FY2019-20, net metering",
    "metering": {"scheme": "net", "export_rate_per_kwh": CONFIGURED_APPC_SETTLEMENT_RATE,
                 "settlement_month": 3},
}

# --- DERC (Delhi), Tata Power-DDL Tariff Order FY 2015-16 (September 2015), tariff
# schedule 2.1 Non-Domestic Low Tension, between 10 kW/11 kVA and 140 kW/150 kVA:
# fixed charge Rs 115 per kVA per month, energy 850 paise/kVAh. The fixed charge is on
# the billing demand (maximum demand, at least the sanctioned load). Time of day
# (mandatory from 25 kW, summer months May-September only): peak 14:00-17:00 and
# 22:00-01:00 at +20%, off-peak 04:00-10:00 at -20% of the energy charge.
DERC_NDLT_2015_16: dict[str, Any] = {
    "name": "DERC TPDDL NDLT 11-150 kVA FY2015-16",
    "category": "commercial",
    "effective_from": "2015-09-01",
    "energy_slabs": [{"from_units": 0, "to_units": None, "rate_per_kwh": "8.50"}],
    "load_slabs": [{"from_kw": 0, "to_kw": None, "rate_per_kw": 0}],
    "demand": {"rate_per_kw": 115, "contract_percent": 100},
    "time_of_day": {"min_load_kw": 25, "months": [5, 6, 7, 8, 9], "zones": [
        {"name": "peak", "start_hour": 0, "end_hour": 1, "percent": 20},
        {"name": "normal", "start_hour": 1, "end_hour": 4, "percent": 0},
        {"name": "off-peak", "start_hour": 4, "end_hour": 10, "percent": -20},
        {"name": "normal", "start_hour": 10, "end_hour": 14, "percent": 0},
        {"name": "peak", "start_hour": 14, "end_hour": 17, "percent": 20},
        {"name": "normal", "start_hour": 17, "end_hour": 22, "percent": 0},
        {"name": "peak", "start_hour": 22, "end_hour": 24, "percent": 20},
    ]},
    "due_days": 15,
    "late_payment_surcharge_percent": "1.5",
}

# --- HERC (Haryana), order of 29 May 2014 on UHBVNL/DHBVNL tariff for FY 2014-15 (in force
# from 1 April 2014; DHBVN Sales Circular D-26/2014), Domestic Supply. Category I (total
# consumption up to 800 units a month), telescopic: 0-40 at 270, 41-250 at 450, 251-500 at
# 525, 501-800 at 598 paise/kWh; no fixed charge. Category II (801 units and more): one
# rate, 598 paise/kWh, for every unit, no slab benefit. Monthly minimum charge for
# connected loads above 2 kW: Rs 60 per kW (the order's Rs 100 up to 2 kW is a separate
# load band, not modelled here: the fixtures' connections are above 2 kW).
HERC_DOMESTIC_2014_15: dict[str, Any] = {
    "name": "HERC Domestic FY2014-15",
    "category": "residential",
    "effective_from": "2014-04-01",
    "energy_slabs": [
        {"from_units": 0, "to_units": 40, "rate_per_kwh": "2.70"},
        {"from_units": 40, "to_units": 250, "rate_per_kwh": "4.50"},
        {"from_units": 250, "to_units": 500, "rate_per_kwh": "5.25"},
        {"from_units": 500, "to_units": None, "rate_per_kwh": "5.98"},
    ],
    "no_slab_benefit_above": {"from_units": 800, "rate_per_kwh": "5.98"},
    "load_slabs": [{"from_kw": 0, "to_kw": None, "rate_per_kw": 0}],
    "minimum_charge": {"per_kw": 60},
    "due_days": 15,
    "late_payment_surcharge_percent": "1.5",
}

# HERC FY 2014-15, Non-Domestic Supply (LT), above 5 kW up to 20 kW: 610 paise/kWh,
# no fixed charge.
HERC_NON_DOMESTIC_2014_15: dict[str, Any] = {
    "name": "HERC Non-Domestic LT 5-20 kW FY2014-15",
    "category": "commercial",
    "effective_from": "2014-04-01",
    "energy_slabs": [{"from_units": 0, "to_units": None, "rate_per_kwh": "6.10"}],
    "load_slabs": [{"from_kw": 0, "to_kw": None, "rate_per_kw": 0}],
    "due_days": 15,
    "late_payment_surcharge_percent": "1.5",
}

# --- MERC (Maharashtra), Mid-Term Review order in Case No. 226 of 2022 (31 March 2023)
# for MSEDCL, tariff for FY 2024-25 (in force from 1 April 2024; MSEDCL Commercial
# Circular No. 341 of 28 April 2023), LT-I(B) LT Residential, single-phase connection:
# fixed charge Rs 128 per connection per month; energy charge, telescopic, 0-100 units
# 4.71, 101-300 units 10.29, 301-500 units 14.55, above 500 units 16.64 Rs/kWh
# (the order's 501-1000 and above-1000 slabs, at one rate here); wheeling charge
# 1.17 Rs/kWh on every unit. (Transcribed without the order's PDF at hand: the energy
# and wheeling figures agree with published bill breakdowns for FY 2024-25 (energy +
# wheeling 5.88 / 11.46 / 15.72 / 17.81); the Rs 128 fixed charge is to be checked
# against the circular's schedule.)
# Electricity duty: Maharashtra Electricity Duty Act, 2016, residential 16% of the
# charges for electricity (energy + fixed + wheeling + FAC): base "energy+fixed+units".
# FAC (fuel adjustment charge) is not in the tariff order: MSEDCL levies it per billing
# month under MERC's FAC mechanism (and per consumption slab). The two entries below
# are CONFIGURED example values (one rate per unit, April and from May 2024), not
# published figures; they show an FAC revised independently of the order's dates.
MERC_RESIDENTIAL_2024_25: dict[str, Any] = {
    "name": "MERC MSEDCL LT-I(B) Residential FY2024-25",
    "category": "residential",
    "effective_from": "2024-04-01",
    "energy_slabs": [
        {"from_units": 0, "to_units": 100, "rate_per_kwh": "4.71"},
        {"from_units": 100, "to_units": 300, "rate_per_kwh": "10.29"},
        {"from_units": 300, "to_units": 500, "rate_per_kwh": "14.55"},
        {"from_units": 500, "to_units": None, "rate_per_kwh": "16.64"},
    ],
    "load_slabs": [{"from_kw": 0, "to_kw": None, "rate_per_kw": 0, "per_connection": 128}],
    "unit_charges": [
        {"name": "Wheeling charge", "rate_per_kwh": "1.17"},
        {"name": "FAC", "rate_per_kwh": "0.20", "effective_to": "2024-04-30"},
        {"name": "FAC", "rate_per_kwh": "0.35", "effective_from": "2024-05-01"},
    ],
    "percentage_charges": [
        {"name": "Electricity duty", "percent": 16, "base": "energy+fixed+units"},
    ],
    # Delayed payment charge of the order's general conditions: 1.25% a month.
    "due_days": 21,
    "late_payment_surcharge_percent": "1.25",
}

TARIFF_ORDERS: dict[str, dict[str, Any]] = {
    "derc_domestic_2019_20_subsidy": DERC_DOMESTIC_2019_20_SUBSIDY,
    "derc_domestic_2019_20_net_metering": DERC_DOMESTIC_2019_20_NET_METERING,
    "derc_ndlt_2015_16": DERC_NDLT_2015_16,
    "herc_domestic_2014_15": HERC_DOMESTIC_2014_15,
    "herc_non_domestic_2014_15": HERC_NON_DOMESTIC_2014_15,
    "merc_residential_2024_25": MERC_RESIDENTIAL_2024_25,
}


def tariff_order(key: str, **changes: Any) -> TariffVersion:
    """A validated version of one of the orders (with `changes`, e.g. another date)."""
    return TariffVersion.model_validate(TARIFF_ORDERS[key] | changes)
