"""A tariff an admin posts is checked completely; each mistake is a clear
ValidationError (the API turns it into a 400)."""

import copy
import json
from decimal import Decimal

import pytest
from pydantic import ValidationError

from functions.core.billing_rules.fixtures import (
    DERC_DOMESTIC_2019_20,
    DERC_DOMESTIC_2019_20_JSON,
    EXAMPLE_COMMERCIAL_JSON,
)
from functions.core.billing_rules.tariff import TariffVersion


def derc() -> dict:
    return copy.deepcopy(DERC_DOMESTIC_2019_20_JSON)


def error_of(payload: dict) -> tuple[tuple, str]:
    """(location, message) of the only error, validating the payload as JSON text."""
    with pytest.raises(ValidationError) as caught:
        TariffVersion.model_validate_json(json.dumps(payload))
    errors = caught.value.errors()
    assert len(errors) == 1, errors
    return errors[0]["loc"], errors[0]["msg"]


def test_reference_tariffs_are_valid_and_parsed_exactly():
    tariff = TariffVersion.model_validate_json(json.dumps(DERC_DOMESTIC_2019_20_JSON))
    assert tariff == DERC_DOMESTIC_2019_20
    assert [s.rate_per_kwh for s in tariff.energy_slabs] == [
        Decimal("3.00"), Decimal("4.50"), Decimal("6.50"), Decimal("7.00"), Decimal("8.00")]
    assert [s.to_kw for s in tariff.load_slabs] == [2, 5, 15, 25, None]
    assert tariff.late_payment_surcharge_percent == Decimal("1.5")
    TariffVersion.model_validate_json(json.dumps(EXAMPLE_COMMERCIAL_JSON))


def test_round_trips_through_json():
    dumped = DERC_DOMESTIC_2019_20.model_dump_json()
    assert TariffVersion.model_validate_json(dumped) == DERC_DOMESTIC_2019_20


def test_is_immutable():
    with pytest.raises(ValidationError):
        DERC_DOMESTIC_2019_20.due_days = 30  # type: ignore[misc]


class TestSlabs:
    def test_first_energy_slab_must_start_at_zero(self):
        payload = derc()
        payload["energy_slabs"][0]["from_units"] = 1
        loc, msg = error_of(payload)
        assert loc == ("energy_slabs",)
        assert "energy_slabs[0] must start at 0 kWh, not 1" in msg

    def test_first_load_slab_must_start_at_zero(self):
        payload = derc()
        payload["load_slabs"][0]["from_kw"] = "0.5"
        loc, msg = error_of(payload)
        assert loc == ("load_slabs",)
        assert "load_slabs[0] must start at 0 kW" in msg

    def test_gap_between_slabs(self):
        payload = derc()
        payload["energy_slabs"][1]["from_units"] = 201  # the DERC "201-400" typed literally
        _, msg = error_of(payload)
        assert "energy_slabs[1] starts at 201 kWh, leaving a gap after energy_slabs[0]" in msg

    def test_overlapping_slabs(self):
        payload = derc()
        payload["load_slabs"][2]["from_kw"] = 4
        _, msg = error_of(payload)
        assert "load_slabs[2] starts at 4 kW, overlapping load_slabs[1] which ends at 5" in msg

    def test_only_the_last_slab_may_be_open_ended(self):
        payload = derc()
        payload["energy_slabs"][2]["to_units"] = None
        _, msg = error_of(payload)
        assert "energy_slabs[2] is open-ended but is not the last slab" in msg

    def test_last_slab_must_be_open_ended(self):
        payload = derc()
        payload["energy_slabs"][4]["to_units"] = 5000
        _, msg = error_of(payload)
        assert "energy_slabs[4] is the last slab and must be open-ended" in msg

    def test_slab_must_end_after_it_starts(self):
        payload = derc()
        payload["energy_slabs"][1]["to_units"] = 200
        _, msg = error_of(payload)
        assert "energy_slabs[1] ends at 200 kWh, not after its start 200" in msg

    def test_at_least_one_slab(self):
        payload = derc()
        payload["energy_slabs"] = []
        loc, _ = error_of(payload)
        assert loc == ("energy_slabs",)

    def test_slab_bounds_are_whole_units_not_strings(self):
        payload = derc()
        payload["energy_slabs"][0]["to_units"] = "200"
        loc, _ = error_of(payload)
        assert loc == ("energy_slabs", 0, "to_units")


class TestRates:
    def test_energy_rate_must_be_above_zero(self):
        payload = derc()
        payload["energy_slabs"][0]["rate_per_kwh"] = "0"
        loc, msg = error_of(payload)
        assert loc == ("energy_slabs", 0, "rate_per_kwh")
        assert "greater than 0" in msg

    def test_fixed_rate_may_be_zero_but_not_negative(self):
        payload = derc()
        payload["load_slabs"][0]["rate_per_kw"] = 0
        TariffVersion.model_validate(payload)
        payload["load_slabs"][0]["rate_per_kw"] = -1
        loc, msg = error_of(payload)
        assert loc == ("load_slabs", 0, "rate_per_kw")
        assert "greater than or equal to 0" in msg

    def test_json_float_rate_is_rejected(self):
        payload = derc()
        payload["energy_slabs"][1]["rate_per_kwh"] = 4.5
        loc, msg = error_of(payload)
        assert loc == ("energy_slabs", 1, "rate_per_kwh")
        assert "must be sent as strings" in msg

    def test_at_most_four_decimals(self):
        payload = derc()
        payload["energy_slabs"][0]["rate_per_kwh"] = "3.00001"
        loc, msg = error_of(payload)
        assert loc == ("energy_slabs", 0, "rate_per_kwh")
        assert "no more than 4 decimal places" in msg

    @pytest.mark.parametrize("bad", ["NaN", "three", True])
    def test_not_a_number(self, bad):
        payload = derc()
        payload["energy_slabs"][0]["rate_per_kwh"] = bad
        loc, _ = error_of(payload)
        assert loc == ("energy_slabs", 0, "rate_per_kwh")


class TestCharges:
    @pytest.mark.parametrize("percent", ["0", "100.01", "-7"])
    def test_percent_must_be_above_0_and_at_most_100(self, percent):
        payload = derc()
        payload["percentage_charges"][0]["percent"] = percent
        loc, _ = error_of(payload)
        assert loc == ("percentage_charges", 0, "percent")

    def test_base_must_be_one_of_the_documented_bases(self):
        payload = derc()
        payload["percentage_charges"][0]["base"] = "total"
        loc, msg = error_of(payload)
        assert loc == ("percentage_charges", 0, "base")
        assert "'energy', 'fixed', 'units', 'energy+fixed', 'energy+fixed+units' or 'subtotal'" \
            in msg

    def test_charge_names_must_be_unique(self):
        payload = derc()
        payload["flat_charges"] = [{"name": "pension trust surcharge", "amount": 10}]
        loc, msg = error_of(payload)
        assert loc == ()
        assert "charge names must be unique" in msg

    def test_flat_charge_is_a_non_negative_paise_amount(self):
        payload = derc()
        payload["flat_charges"] = [{"name": "Meter Rent", "amount": "-5"}]
        assert error_of(payload)[0] == ("flat_charges", 0, "amount")
        payload["flat_charges"] = [{"name": "Meter Rent", "amount": "5.001"}]
        assert error_of(payload)[0] == ("flat_charges", 0, "amount")

    def test_charge_needs_a_name(self):
        payload = derc()
        payload["percentage_charges"][0]["name"] = "  "
        assert error_of(payload)[0] == ("percentage_charges", 0, "name")


class TestTopLevel:
    def test_unknown_fields_are_rejected(self):
        payload = derc()
        payload["discount"] = "5"
        assert error_of(payload) == (("discount",), "Extra inputs are not permitted")

    def test_unknown_slab_fields_are_rejected(self):
        payload = derc()
        payload["energy_slabs"][0]["unit"] = "kWh"
        assert error_of(payload)[0] == ("energy_slabs", 0, "unit")

    @pytest.mark.parametrize("category", ["Industrial", "a", "cat#1", "", 7])
    def test_category_is_a_lowercase_key(self, category):
        # Categories are data (an admin adds "industrial"); whether one exists is
        # the tariff service's check, the name's shape is the model's.
        payload = derc()
        payload["category"] = category
        assert error_of(payload)[0] == ("category",)

    @pytest.mark.parametrize("days", [0, 91, "15"])
    def test_due_days(self, days):
        payload = derc()
        payload["due_days"] = days
        assert error_of(payload)[0] == ("due_days",)

    def test_late_payment_percent(self):
        payload = derc()
        payload["late_payment_surcharge_percent"] = 1.5
        assert error_of(payload)[0] == ("late_payment_surcharge_percent",)

    def test_effective_from_must_be_a_date(self):
        payload = derc()
        payload["effective_from"] = "2019-02-30"
        assert error_of(payload)[0] == ("effective_from",)

    def test_required_fields(self):
        payload = derc()
        del payload["load_slabs"]
        assert error_of(payload) == (("load_slabs",), "Field required")
