"""The simulated register: deterministic, monotonic, realistic daily shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from device_client.profiles import IST, consumption_wh, meter_daily_kwh, register_at

START = datetime(2026, 10, 1, tzinfo=IST)  # a Thursday, midnight IST


def test_the_register_is_a_pure_function_of_its_inputs():
    moment = START + timedelta(days=12, hours=7, minutes=13)
    first = register_at(7, "residential", moment, start_at=START, start_register_wh=1000)
    again = register_at(7, "residential", moment, start_at=START, start_register_wh=1000)
    other_seed = register_at(8, "residential", moment, start_at=START, start_register_wh=1000)
    assert first == again
    assert first != other_seed


@pytest.mark.parametrize("profile", ["residential", "commercial", "flat"])
def test_the_register_never_goes_backwards(profile):
    previous = -1
    for step in range(0, 31 * 24 * 4):  # a month in 15-minute steps
        value = register_at(3, profile, START + timedelta(minutes=15 * step), start_at=START)
        assert value >= previous
        previous = value


def test_a_month_of_a_household_is_plausible():
    month = consumption_wh(11, "residential", START, START + timedelta(days=31))
    mean = meter_daily_kwh(11, "residential")
    assert 0.6 * 8 <= mean <= 1.6 * 8
    # the daily noise averages out over a month: within 10% of the mean
    assert abs(month / 1000 / 31 - mean * 1.04) < 0.1 * mean  # weekends are a bit higher


def test_households_peak_in_the_evening_and_shops_by_day():
    day = START + timedelta(days=5)  # a Tuesday
    def hour(profile: str, h: int) -> int:
        return consumption_wh(5, profile, day + timedelta(hours=h), day + timedelta(hours=h + 1),
                              daily_kwh=24)
    assert hour("residential", 20) > 2 * hour("residential", 3)
    assert hour("residential", 20) > hour("residential", 13)
    assert hour("commercial", 13) > 3 * hour("commercial", 3)


def test_commercial_sundays_are_quieter_than_weekdays():
    tuesday = START + timedelta(days=5)
    sunday = START + timedelta(days=3)
    assert sunday.weekday() == 6 and tuesday.weekday() == 1
    weekday_use = consumption_wh(2, "commercial", tuesday, tuesday + timedelta(days=1))
    sunday_use = consumption_wh(2, "commercial", sunday, sunday + timedelta(days=1))
    assert sunday_use < 0.5 * weekday_use


def test_consumption_adds_up_across_intervals():
    a = START + timedelta(hours=5, minutes=30)
    b = START + timedelta(days=3, hours=17)
    c = START + timedelta(days=9, hours=2, minutes=1)
    whole = consumption_wh(4, "residential", a, c)
    parts = consumption_wh(4, "residential", a, b) + consumption_wh(4, "residential", b, c)
    assert abs(whole - parts) <= 1


def test_a_fixed_daily_energy_can_be_set():
    used = consumption_wh(1, "flat", START, START + timedelta(days=10), daily_kwh=12)
    assert used == 120_000


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        register_at(1, "flat", datetime(2026, 1, 1), start_at=datetime(2025, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError):
        register_at(1, "industrial", START, start_at=START)
