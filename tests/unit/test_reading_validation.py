from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest

from functions.core.billing_rules.readings import (
    MeterReplacement,
    ReadingCheck,
    ReadingReason,
    ReadingStatus,
    RegisterReading,
    SpikePolicy,
    kwh,
    validate_reading,
)

NOW = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
LAST_MONTH = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)
ROLLOVER = 10**9  # a 9-digit Wh register wraps to 0 here


def reading(register_wh: int, read_at: datetime = NOW - timedelta(minutes=1)) -> RegisterReading:
    return RegisterReading(register_wh=register_wh, read_at=read_at)


def check(current_wh: int, previous_wh: int | None = 5_000_000, **kwargs) -> ReadingCheck:
    previous = None if previous_wh is None else reading(previous_wh, LAST_MONTH)
    return validate_reading(reading(current_wh), previous, now=NOW, **kwargs)


def rejected(result: ReadingCheck, reason: ReadingReason) -> bool:
    return (result.status, result.reason, result.units) == (ReadingStatus.REJECTED, reason, None)


class TestUnits:
    def test_units_are_whole_kwh_since_the_previous_accepted_reading(self):
        result = check(5_300_000)
        assert result == ReadingCheck(ReadingStatus.ACCEPTED, units=300)
        assert result.accepted

    def test_no_consumption(self):
        assert check(5_000_000).units == 0

    def test_first_reading_counts_from_the_installed_register(self):
        result = check(1_301_400, previous_wh=None, initial_register_wh=1_000_500)
        assert result.units == 301  # kwh 1301 - kwh 1000

    def test_first_reading_of_a_new_meter_counts_from_zero_by_default(self):
        assert check(42_999, previous_wh=None).units == 42

    def test_fractions_of_a_kwh_carry_forward_and_nothing_is_lost(self):
        registers = [999, 1_999, 2_500, 3_999]  # Wh at the end of four months
        units = [kwh(b) - kwh(a) for a, b in pairwise(registers)]
        assert units == [1, 1, 1]
        assert sum(units) == kwh(3_999) - kwh(999) == 3
        # and validate_reading applies exactly that rule
        assert check(1_999, previous_wh=999).units == 1
        assert check(2_500, previous_wh=1_999).units == 1


class TestRejections:
    def test_decrease_without_replacement(self):
        result = check(4_999_000)
        assert rejected(result, ReadingReason.DECREASE_WITHOUT_REPLACEMENT)
        assert "5000000 Wh to 4999000 Wh" in result.detail

    def test_negative_register(self):
        assert rejected(check(-1), ReadingReason.NEGATIVE_REGISTER)

    def test_register_at_or_above_rollover_point(self):
        assert rejected(check(ROLLOVER, rollover_wh=ROLLOVER),
                        ReadingReason.REGISTER_OUT_OF_RANGE)

    def test_future_reading_beyond_clock_skew(self):
        future = RegisterReading(5_300_000, NOW + timedelta(minutes=6))
        result = validate_reading(future, reading(5_000_000, LAST_MONTH), now=NOW)
        assert rejected(result, ReadingReason.FUTURE_READING)

    def test_small_clock_skew_is_tolerated(self):
        slightly_ahead = RegisterReading(5_300_000, NOW + timedelta(minutes=4))
        assert validate_reading(slightly_ahead, reading(5_000_000, LAST_MONTH),
                                now=NOW).units == 300
        assert rejected(
            validate_reading(slightly_ahead, None, now=NOW, clock_skew=timedelta(0)),
            ReadingReason.FUTURE_READING)

    @pytest.mark.parametrize("read_at", [LAST_MONTH, LAST_MONTH - timedelta(seconds=1)])
    def test_reading_at_or_before_the_previous_one(self, read_at):
        result = validate_reading(reading(5_300_000, read_at), reading(5_000_000, LAST_MONTH),
                                  now=NOW)
        assert rejected(result, ReadingReason.BEFORE_PREVIOUS)


class TestReplacement:
    def test_units_from_old_and_new_meter_are_added(self):
        swap = MeterReplacement(old_final_register_wh=5_050_700, new_initial_register_wh=12_000)
        # old meter: kwh 5050 - 5000 = 50; new meter: kwh 262 - 12 = 250
        assert check(262_000, replacement=swap).units == 300

    def test_old_meter_final_below_previous_reading(self):
        swap = MeterReplacement(old_final_register_wh=4_000_000, new_initial_register_wh=0)
        assert rejected(check(262_000, replacement=swap), ReadingReason.INVALID_REPLACEMENT)

    def test_new_meter_below_its_first_register(self):
        swap = MeterReplacement(old_final_register_wh=5_050_000, new_initial_register_wh=12_000)
        assert rejected(check(11_000, replacement=swap), ReadingReason.BELOW_NEW_METER_START)


class TestRollover:
    def test_register_that_wrapped_past_the_top(self):
        # 999,900,000 Wh -> wraps at 10^9 -> 200,000 Wh: kwh 1,000,200 - 999,900 = 300
        assert check(200_000, previous_wh=999_900_000, rollover_wh=ROLLOVER).units == 300

    def test_wrap_of_more_than_half_the_register_is_a_decrease(self):
        # from 100,000,000 to 50,000,000 would be 950,000 kWh "after a wrap"
        result = check(50_000_000, previous_wh=100_000_000, rollover_wh=ROLLOVER)
        assert rejected(result, ReadingReason.DECREASE_WITHOUT_REPLACEMENT)

    def test_without_a_rollover_point_a_wrap_is_a_decrease(self):
        assert rejected(check(200_000, previous_wh=999_900_000),
                        ReadingReason.DECREASE_WITHOUT_REPLACEMENT)


class TestSpikes:
    HISTORY = (200, 220, 180)  # average 200 kWh, so the default 3x threshold is 600

    def test_above_factor_times_average_is_held_with_its_units(self):
        result = check(5_601_000, history_units=self.HISTORY)
        assert result.status is ReadingStatus.HELD
        assert (result.units, result.reason) == (601, ReadingReason.SPIKE)
        assert "601 kWh is above 3 x the recent monthly average of 200.0 kWh" in result.detail
        assert not result.accepted

    def test_at_the_threshold_is_accepted(self):
        assert check(5_600_999, history_units=self.HISTORY).status is ReadingStatus.ACCEPTED

    def test_needs_a_minimum_history(self):
        assert check(10_000_000, history_units=(200, 200)).units == 5000  # only 2 months

    def test_small_numbers_are_not_spikes(self):
        # average 10: 90 is 9x but below the 100 kWh floor; 101 is a spike
        assert check(5_090_000, history_units=(10, 10, 10)).status is ReadingStatus.ACCEPTED
        assert check(5_101_000, history_units=(10, 10, 10)).status is ReadingStatus.HELD

    def test_uses_only_the_recent_window(self):
        history = (1000, 1000, 1000, 100, 100, 100, 100, 100, 100)  # last 6 average 100
        assert check(5_400_000, history_units=history).status is ReadingStatus.HELD

    def test_threshold_scales_with_months_covered(self):
        # 1000 kWh over two months against 200/month: threshold 3 x 200 x 2 = 1200
        assert check(6_000_000, history_units=self.HISTORY).status is ReadingStatus.HELD
        assert check(6_000_000, history_units=self.HISTORY,
                     months_covered=2).status is ReadingStatus.ACCEPTED

    def test_policy_is_configurable(self):
        strict = SpikePolicy(factor=Decimal("1.5"), min_history_months=1, min_units=0)
        result = check(5_301_000, history_units=(200,), spike_policy=strict)
        assert result.status is ReadingStatus.HELD  # 301 > 1.5 x 200

    def test_after_an_empty_house_any_real_use_is_held(self):
        assert check(5_150_000, history_units=(0, 0, 0)).status is ReadingStatus.HELD

    def test_rejection_comes_before_spike_check(self):
        assert rejected(check(1_000, history_units=self.HISTORY),
                        ReadingReason.DECREASE_WITHOUT_REPLACEMENT)


class TestProgrammingErrors:
    def test_naive_datetimes(self):
        with pytest.raises(ValueError, match="timezone-aware"):
            validate_reading(reading(1), None, now=datetime(2026, 11, 1))
        naive_previous = RegisterReading(0, datetime(2026, 10, 1))
        with pytest.raises(ValueError, match="timezone-aware"):
            validate_reading(reading(1), naive_previous, now=NOW)

    @pytest.mark.parametrize("rollover", [0, 1_000_001])
    def test_rollover_must_be_whole_kwh(self, rollover):
        with pytest.raises(ValueError, match="rollover_wh"):
            check(1, rollover_wh=rollover)

    def test_months_covered(self):
        with pytest.raises(ValueError, match="months_covered"):
            check(5_300_000, months_covered=0)
