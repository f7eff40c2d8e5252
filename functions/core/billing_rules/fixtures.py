"""Reference tariffs for tests and demo data.

Written as the JSON an admin would send (numbers with a fraction as strings),
so building them also exercises the tariff validation.
"""

from __future__ import annotations

from functions.core.billing_rules.tariff import TariffVersion

# Delhi (DERC) domestic tariff for FY 2019-20, as specified for this product:
# the tariff order took effect on 1 August 2019.
DERC_DOMESTIC_2019_20_JSON: dict[str, object] = {
    "name": "DERC Domestic FY2019-20",
    "category": "residential",
    "effective_from": "2019-08-01",
    "energy_slabs": [
        {"from_units": 0, "to_units": 200, "rate_per_kwh": "3.00"},
        {"from_units": 200, "to_units": 400, "rate_per_kwh": "4.50"},
        {"from_units": 400, "to_units": 800, "rate_per_kwh": "6.50"},
        {"from_units": 800, "to_units": 1200, "rate_per_kwh": "7.00"},
        {"from_units": 1200, "to_units": None, "rate_per_kwh": "8.00"},
    ],
    "load_slabs": [
        {"from_kw": 0, "to_kw": 2, "rate_per_kw": 20},
        {"from_kw": 2, "to_kw": 5, "rate_per_kw": 50},
        {"from_kw": 5, "to_kw": 15, "rate_per_kw": 100},
        {"from_kw": 15, "to_kw": 25, "rate_per_kw": 200},
        {"from_kw": 25, "to_kw": None, "rate_per_kw": 250},
    ],
    "percentage_charges": [
        {"name": "Pension Trust Surcharge", "percent": 7, "base": "energy+fixed"},
        {"name": "Regulatory Asset Surcharge", "percent": 8, "base": "energy+fixed"},
    ],
    "flat_charges": [],
    "due_days": 15,
    "late_payment_surcharge_percent": "1.5",
}

DERC_DOMESTIC_2019_20 = TariffVersion.model_validate(DERC_DOMESTIC_2019_20_JSON)

# A simple made-up commercial tariff: one energy rate (the plain "cost per unit"
# case), one fixed-charge rate for every load, a tax on the running subtotal
# and a flat meter rent.
EXAMPLE_COMMERCIAL_JSON: dict[str, object] = {
    "name": "Example Commercial (single rate)",
    "category": "commercial",
    "effective_from": "2019-08-01",
    "energy_slabs": [{"from_units": 0, "to_units": None, "rate_per_kwh": "8.50"}],
    "load_slabs": [{"from_kw": 0, "to_kw": None, "rate_per_kw": 250}],
    "percentage_charges": [
        {"name": "Regulatory Asset Surcharge", "percent": 8, "base": "energy+fixed"},
        {"name": "Electricity Tax", "percent": 5, "base": "subtotal"},
    ],
    "flat_charges": [{"name": "Meter Rent", "amount": 25}],
    "due_days": 15,
    "late_payment_surcharge_percent": "1.5",
}

EXAMPLE_COMMERCIAL = TariffVersion.model_validate(EXAMPLE_COMMERCIAL_JSON)

REFERENCE_TARIFFS: tuple[TariffVersion, ...] = (DERC_DOMESTIC_2019_20, EXAMPLE_COMMERCIAL)
