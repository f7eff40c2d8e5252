"""Tariff versions through the admin API, and the price preview."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from functions.core.billing_rules.fixtures import (
    DERC_DOMESTIC_2019_20_JSON,
    EXAMPLE_COMMERCIAL_JSON,
)
from tests.integration.billing_support import ensure_reference_tariffs


def tariff_json(effective_from: str, name: str = "Test Domestic",
                base: dict | None = None) -> dict:
    body = copy.deepcopy(base or DERC_DOMESTIC_2019_20_JSON)
    body.update(effective_from=effective_from, name=name)
    return body


def test_the_derc_example_prices_to_1380_through_the_preview(admin, customer):
    ensure_reference_tariffs(admin[1])
    _, as_customer = customer
    response = as_customer.post("/tariffs/preview", json={
        "category": "residential", "units": 300, "sanctioned_load_kw": 3, "period": "2026-10"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == "1380.00"
    assert body["total_display"] == "\u20b91,380.00"
    assert body["tariff_version"] == "residential@2019-08-01"
    lines = {line["label"]: Decimal(line["amount"]) for line in body["priced"]["lines"]}
    assert lines["Energy 0-200 kWh"] == Decimal("600.00")
    assert lines["Energy 201-400 kWh"] == Decimal("450.00")
    assert lines["Pension Trust Surcharge"] == Decimal("84.00")
    assert lines["Regulatory Asset Surcharge"] == Decimal("96.00")
    assert body["priced"]["fixed_total"] == "150.00"


def test_admin_creates_lists_and_reads_a_version(admin):
    _, as_admin = admin
    created = as_admin.post("/admin/tariffs", json=tariff_json("2091-04-01", "FY2091"))
    assert created.status_code == 201, created.text
    assert created.json()["version_id"] == "residential@2091-04-01"
    assert created.json()["locked"] is False
    again = as_admin.post("/admin/tariffs", json=tariff_json("2091-04-01", "FY2091 again"))
    assert again.status_code == 409
    listed = as_admin.get("/admin/tariffs?category=residential").json()
    assert "residential@2091-04-01" in [v["version_id"] for v in listed]
    one = as_admin.get("/admin/tariffs/residential/2091-04-01").json()
    assert one["tariff"]["energy_slabs"][1]["rate_per_kwh"] == "4.50"
    assert as_admin.get("/admin/tariffs/residential/2091-05-01").status_code == 404
    assert as_admin.get("/admin/tariffs/industrial/2091-04-01").status_code == 404


def test_bad_slabs_are_a_400_with_the_field(admin):
    _, as_admin = admin
    overlapping = tariff_json("2092-04-01")
    overlapping["energy_slabs"][1]["from_units"] = 150
    gap = tariff_json("2092-04-01")
    gap["energy_slabs"][1]["from_units"] = 250
    negative = tariff_json("2092-04-01")
    negative["energy_slabs"][0]["rate_per_kwh"] = "-3.00"
    zero = tariff_json("2092-04-01")
    zero["energy_slabs"][2]["rate_per_kwh"] = "0"
    not_from_zero = tariff_json("2092-04-01")
    not_from_zero["load_slabs"][0]["from_kw"] = 1
    float_rate = tariff_json("2092-04-01")
    float_rate["energy_slabs"][0]["rate_per_kwh"] = 3.1
    unknown_field = tariff_json("2092-04-01") | {"discount": "5"}
    for body in (overlapping, gap, negative, zero, not_from_zero, float_rate, unknown_field):
        response = as_admin.post("/admin/tariffs", json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["details"], response.text
    assert "overlapping" in as_admin.post("/admin/tariffs", json=overlapping).text
    assert "gap" in as_admin.post("/admin/tariffs", json=gap).text
    # Nothing was written by the refused requests.
    assert as_admin.get("/admin/tariffs/residential/2092-04-01").status_code == 404


def test_customers_cannot_manage_tariffs_or_price_a_draft(customer):
    _, as_customer = customer
    assert as_customer.post("/admin/tariffs", json=tariff_json("2093-01-01")).status_code == 403
    assert as_customer.get("/admin/tariffs").status_code == 403
    draft = as_customer.post("/tariffs/preview", json={
        "category": "residential", "units": 10, "sanctioned_load_kw": 1,
        "tariff": tariff_json("2093-01-01")})
    assert draft.status_code == 403


def test_an_unused_version_can_be_corrected_or_deleted(admin):
    _, as_admin = admin
    as_admin.post("/admin/tariffs", json=tariff_json("2094-04-01", "Typo"))
    fixed = tariff_json("2094-04-01", "FY2094")
    fixed["energy_slabs"][0]["rate_per_kwh"] = "3.25"
    edited = as_admin.put("/admin/tariffs/residential/2094-04-01", json=fixed)
    assert edited.status_code == 200, edited.text
    assert edited.json()["revision"] == 2 and edited.json()["name"] == "FY2094"
    moved = as_admin.put("/admin/tariffs/residential/2094-04-01",
                         json=tariff_json("2094-05-01"))
    assert moved.status_code == 400
    assert as_admin.delete("/admin/tariffs/residential/2094-04-01").status_code == 204
    assert as_admin.get("/admin/tariffs/residential/2094-04-01").status_code == 404


def test_a_draft_tariff_previews_without_being_saved(admin):
    _, as_admin = admin
    draft = tariff_json("2095-01-01", base=EXAMPLE_COMMERCIAL_JSON)
    response = as_admin.post("/tariffs/preview", json={
        "category": "commercial", "units": 100, "sanctioned_load_kw": "2.5", "tariff": draft})
    assert response.status_code == 200, response.text
    body = response.json()
    # 100 x 8.50 = 850; 2.5 kW x 250 = 625; 8% of 1475 = 118; 5% of 1593 = 79.65; rent 25.
    assert body["total"] == "1697.65"
    assert body["tariff_version"] == "draft"
    assert as_admin.get("/admin/tariffs/commercial/2095-01-01").status_code == 404


def test_preview_rejects_bad_numbers(customer):
    _, as_customer = customer
    for body in ({"category": "residential", "units": -1, "sanctioned_load_kw": 3},
                 {"category": "residential", "units": 10, "sanctioned_load_kw": 0},
                 {"category": "residential", "units": 10, "sanctioned_load_kw": 2.5},
                 {"category": "farm", "units": 10, "sanctioned_load_kw": 3},
                 {"category": "residential", "units": 10, "sanctioned_load_kw": 3,
                  "period": "2026-13"}):
        response = as_customer.post("/tariffs/preview", json=body)
        assert response.status_code == 400, (body, response.text)


def test_no_tariff_in_force_is_a_404_not_a_500(customer):
    _, as_customer = customer
    response = as_customer.post("/tariffs/preview", json={
        "category": "commercial", "units": 10, "sanctioned_load_kw": 3, "period": "2001-01"})
    assert response.status_code == 404


def test_categories_are_data_an_admin_manages(admin, customer):
    import secrets

    _, as_admin = admin
    _, as_customer = customer
    listed = as_customer.get("/tariff-categories")
    assert listed.status_code == 200, listed.text
    assert [(c["name"], c["default"]) for c in listed.json()][:2] == [
        ("residential", True), ("commercial", True)]
    name = f"industrial_{secrets.token_hex(3)}"
    body = {"name": name, "label": "Industrial (LT)"}
    assert as_customer.post("/admin/tariff-categories", json=body).status_code == 403
    created = as_admin.post("/admin/tariff-categories", json=body)
    assert created.status_code == 201, created.text
    assert as_admin.post("/admin/tariff-categories", json=body).status_code == 409
    bad = as_admin.post("/admin/tariff-categories", json={"name": "Bad Name", "label": "x"})
    assert bad.status_code == 400 and bad.json()["details"][0]["field"] == "name"
    assert name in [c["name"] for c in as_customer.get("/tariff-categories").json()]

    # A tariff version and a property need a category that exists.
    unknown = tariff_json("2093-04-01") | {"category": "nosuchcategory"}
    refused = as_admin.post("/admin/tariffs", json=unknown)
    assert refused.status_code == 400, refused.text
    assert refused.json()["details"][0]["field"] == "category"
    home = {"line1": "Plot 7", "city": "Gurugram", "state": "Haryana", "pincode": "122001",
            "sanctioned_load_kw": "40"}
    no_such = as_customer.post("/properties", json=home | {"category": "nosuchcategory"})
    assert no_such.status_code == 400 and no_such.json()["details"][0]["field"] == "category"
    plant = as_customer.post("/properties", json=home | {"category": name})
    assert plant.status_code == 201, plant.text
    version = as_admin.post("/admin/tariffs",
                            json=tariff_json("2093-04-01", "Industrial LT") | {"category": name})
    assert version.status_code == 201, version.text
    preview = as_customer.post("/tariffs/preview", json={
        "category": name, "units": 300, "sanctioned_load_kw": 3, "period": "2093-05"})
    assert preview.json()["total"] == "1380.00", preview.text
    # A category with versions stays; without, it can go; the defaults always stay.
    assert as_admin.delete(f"/admin/tariff-categories/{name}").status_code == 409
    assert as_admin.delete(f"/admin/tariffs/{name}/2093-04-01").status_code == 204
    assert as_admin.delete(f"/admin/tariff-categories/{name}").status_code == 204
    assert as_admin.delete("/admin/tariff-categories/residential").status_code == 409
    assert as_admin.delete("/admin/tariff-categories/nosuchcategory").status_code == 404


def test_bad_rules_are_a_400_naming_the_field(admin):
    """Issue 17's rules are validated by the tariff model: a clear 400 naming the
    field, and nothing written."""
    _, as_admin = admin
    zones = [{"name": "off-peak", "start_hour": 0, "end_hour": 6, "percent": -20},
             {"name": "normal", "start_hour": 6, "end_hour": 18, "percent": 0},
             {"name": "peak", "start_hour": 18, "end_hour": 24, "percent": 20}]
    overlapping = [zones[0], zones[1] | {"start_hour": 5}, zones[2]]
    not_covering = [zones[0], zones[1] | {"end_hour": 17}, zones[2]]
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"time_of_day": {"zones": overlapping}}, "time_of_day.zones", "overlapping"),
        ({"time_of_day": {"zones": not_covering}}, "time_of_day.zones",
         "17:00-18:00 not covered"),
        ({"subsidy": {"bands": [{"from_units": 0, "to_units": 200, "percent": 100},
                                {"from_units": 250, "to_units": None, "percent": 0}]}},
         "subsidy.bands", "gap"),
        ({"unit_charges": [{"name": "FPPCA", "rate_per_kwh": "-0.25"}]},
         "unit_charges.0.rate_per_kwh", "greater than 0"),
        ({"demand": {"rate_per_kw": "-100"}}, "demand.rate_per_kw", "greater than or equal"),
        ({"metering": {"scheme": "net", "export_rate_per_kwh": "0"}},
         "metering.export_rate_per_kwh", "greater than 0"),
        ({"time_of_day": {"zones": [zones[0] | {"rate_per_kwh": "-1.50"}, *zones[1:]]}},
         "time_of_day.zones.0", "not both"),
        ({"energy_by_load": [
            {"from_kw": 0, "to_kw": 20, "energy_slabs": [
                {"from_units": 0, "to_units": None, "rate_per_kwh": "8.50"}]},
            {"from_kw": 25, "to_kw": None, "energy_slabs": [
                {"from_units": 0, "to_units": None, "rate_per_kwh": "9.50"}]}]},
         "energy_by_load", "gap"),
        ({"load_slabs": [{"from_kw": 0, "to_kw": None, "rate_per_kw": 0,
                          "per_connection": "-128"}]},
         "load_slabs.0.per_connection", "greater than or equal"),
    ]
    for extra, field, words in cases:
        response = as_admin.post("/admin/tariffs", json=tariff_json("2094-04-01") | extra)
        assert response.status_code == 400, (extra, response.text)
        details = response.json()["details"]
        assert details[0]["field"] == field, details
        assert words in details[0]["message"], details
    assert as_admin.get("/admin/tariffs/residential/2094-04-01").status_code == 404


def test_preview_prices_every_rule(admin, customer):
    """A draft with every rule through POST /tariffs/preview (admins), the amounts
    as tests/unit/test_tariff_orders.py works them out."""
    from functions.core.billing_rules.tariff_orders import TARIFF_ORDERS

    _, as_admin = admin
    _, as_customer = customer
    draft = TARIFF_ORDERS["derc_domestic_2019_20_net_metering"]
    body = {"category": "residential", "units": 600, "sanctioned_load_kw": 3,
            "period": "2019-10", "export_units": 150, "banked_units": 40, "tariff": draft}
    assert as_customer.post("/tariffs/preview", json=body).status_code == 403
    response = as_admin.post("/tariffs/preview", json=body)
    assert response.status_code == 200, response.text
    priced = response.json()["priced"]
    assert response.json()["total_display"] == "\u20b91,917.37"
    assert priced["units"] == "410"
    assert priced["net_metering"]["banked_used"] == 40
    ndlt = TARIFF_ORDERS["derc_ndlt_2015_16"] | {"category": "residential"}
    response = as_admin.post("/tariffs/preview", json={
        "category": "residential", "units": 6000, "sanctioned_load_kw": 40, "period": "2016-06",
        "tod_units": [200, 500, 1300, 1200, 1000, 1300, 500], "max_demand_kw": "43.5",
        "tariff": ndlt})
    assert response.status_code == 200, response.text
    assert response.json()["total"] == "56682.50"
    kinds = [line["kind"] for line in response.json()["priced"]["lines"]]
    assert kinds.count("tod") == 4 and "demand" in kinds
    subsidy = as_admin.post("/tariffs/preview", json={
        "category": "residential", "units": 350, "sanctioned_load_kw": 3, "period": "2019-10",
        "tariff": TARIFF_ORDERS["derc_domestic_2019_20_subsidy"]}).json()
    assert (subsidy["priced"]["gross_total"], subsidy["priced"]["subsidy_total"],
            subsidy["total"]) == ("1593.15", "-796.58", "796.57")
    merc = as_admin.post("/tariffs/preview", json={
        "category": "residential", "units": 350, "sanctioned_load_kw": 3, "period": "2024-04",
        "tariff": TARIFF_ORDERS["merc_residential_2024_25"]}).json()
    # energy 3256.50, wheeling 409.50, FAC 70.00, fixed 128.00, duty 16% 618.24
    assert merc["total_display"] == "\u20b94,482.24"
