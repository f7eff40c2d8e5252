"""Validating a meter reading before it is billed (as meter data management
systems do: validation, then estimation, then editing by a person).

Registers are in Wh (an int, as meters count them); billed units are whole kWh.
Units rule: units = kwh(current) - kwh(previous) with kwh(wh) = wh // 1000.
Flooring each *register* (not the difference) means the fraction of a kWh not
billed this month is billed in a later month, so over any run of months the
units billed equal kwh(last) - kwh(first): nothing is lost or billed twice.

Outcome of a check:
    accepted  units can be billed
    rejected  the reading is unusable (reason code); kept and shown to an admin
    held      plausible but suspicious (a spike); an admin decides. `units`
              is filled in so the admin sees what would be billed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

WH_PER_KWH = 1000


class ReadingStatus(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    HELD = "held"


class ReadingReason(StrEnum):
    NEGATIVE_REGISTER = "negative_register"
    REGISTER_OUT_OF_RANGE = "register_out_of_range"  # at or above the rollover point
    FUTURE_READING = "future_reading"
    BEFORE_PREVIOUS = "before_previous"  # taken at or before the previous accepted one
    DECREASE_WITHOUT_REPLACEMENT = "decrease_without_replacement"
    INVALID_REPLACEMENT = "invalid_replacement"  # old meter's final < previous reading
    BELOW_NEW_METER_START = "below_new_meter_start"  # new meter reads below its first register
    SPIKE = "spike"
    READ_LONG_AFTER_PERIOD = "read_long_after_period"  # a live register, too late to bill


@dataclass(frozen=True)
class RegisterReading:
    register_wh: int
    read_at: datetime  # UTC, timezone-aware


@dataclass(frozen=True)
class MeterReplacement:
    """A replacement recorded between the previous reading and this one."""

    old_final_register_wh: int
    new_initial_register_wh: int


@dataclass(frozen=True)
class SpikePolicy:
    """Hold a reading when its units exceed `factor` x the average of the last
    `window_months` months AND exceed `min_units` (so 12 units after an average of
    3 is not a spike). No spike check with fewer than `min_history_months`."""

    factor: Decimal = Decimal(3)
    min_history_months: int = 3
    window_months: int = 6
    min_units: int = 100


@dataclass(frozen=True)
class ReadingCheck:
    status: ReadingStatus
    units: int | None = None
    reason: ReadingReason | None = None
    detail: str = ""

    @property
    def accepted(self) -> bool:
        return self.status is ReadingStatus.ACCEPTED


DEFAULT_SPIKE_POLICY = SpikePolicy()
DEFAULT_CLOCK_SKEW = timedelta(minutes=5)  # meter clocks drift a little
# A live register (no billing-date snapshot) bills the consumption up to the moment
# it was read as the period's. Within this long after the period's end that only
# shifts a few days between consecutive bills (the next bill counts from it); later,
# it would bill other months' use as this one's, so it is held for an admin.
MAX_LIVE_READING_DELAY = timedelta(days=31)


def kwh(register_wh: int) -> int:
    """Whole kWh on a register (see the units rule in the module docstring)."""
    return register_wh // WH_PER_KWH


def validate_reading(
    current: RegisterReading,
    previous: RegisterReading | None,
    *,
    now: datetime,
    initial_register_wh: int = 0,
    replacement: MeterReplacement | None = None,
    rollover_wh: int | None = None,
    history_units: Sequence[int] = (),
    months_covered: int = 1,
    spike_policy: SpikePolicy = DEFAULT_SPIKE_POLICY,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
    period_end: datetime | None = None,
    max_delay: timedelta = MAX_LIVE_READING_DELAY,
) -> ReadingCheck:
    """Check `current` against the previous ACCEPTED reading of the meter.

    previous=None means this is the meter's first reading: consumption counts from
    `initial_register_wh`, the register recorded when the meter was installed.
    `rollover_wh` is where the register wraps to 0 (e.g. 10**9 Wh), None if it
    never does. `history_units` are the property's actual monthly units, oldest
    first. `months_covered` is how many billing periods the consumption spans
    (more than 1 after estimated periods), which scales the spike threshold.
    `period_end`: the end of the billing period of a live register; a reading taken
    more than `max_delay` after it is held (None: no such check, e.g. a reading of
    the billing-date snapshot, or an admin's release).
    """
    _require_aware(current.read_at, now, *([previous.read_at] if previous else []))
    if rollover_wh is not None and (rollover_wh <= 0 or rollover_wh % WH_PER_KWH):
        raise ValueError("rollover_wh must be a positive multiple of 1000")
    if months_covered < 1:
        raise ValueError("months_covered must be at least 1")

    rejection = _check_register_and_time(current, previous, now, rollover_wh, clock_skew)
    if rejection:
        return rejection
    start_wh = previous.register_wh if previous else initial_register_wh
    consumed = _consumed_units(start_wh, current.register_wh, replacement, rollover_wh)
    if isinstance(consumed, ReadingCheck):
        return consumed
    if period_end is not None and current.read_at > period_end + max_delay:
        return ReadingCheck(
            ReadingStatus.HELD, units=consumed, reason=ReadingReason.READ_LONG_AFTER_PERIOD,
            detail=f"read at {current.read_at.isoformat()}, more than {max_delay.days} days "
                   f"after the period ended at {period_end.isoformat()}: {consumed} kWh "
                   "would bill later months' use as this period's")
    return _spike_check(consumed, history_units, months_covered, spike_policy)


def _check_register_and_time(current: RegisterReading, previous: RegisterReading | None,
                             now: datetime, rollover_wh: int | None,
                             clock_skew: timedelta) -> ReadingCheck | None:
    if current.register_wh < 0:
        return _reject(ReadingReason.NEGATIVE_REGISTER,
                       f"register {current.register_wh} Wh is negative")
    if rollover_wh is not None and current.register_wh >= rollover_wh:
        return _reject(ReadingReason.REGISTER_OUT_OF_RANGE,
                       f"register {current.register_wh} Wh is at or above the "
                       f"rollover point {rollover_wh} Wh")
    if current.read_at > now + clock_skew:
        return _reject(ReadingReason.FUTURE_READING,
                       f"read at {current.read_at.isoformat()}, after now {now.isoformat()}")
    if previous is not None and current.read_at <= previous.read_at:
        return _reject(ReadingReason.BEFORE_PREVIOUS,
                       f"read at {current.read_at.isoformat()}, not after the previous "
                       f"accepted reading at {previous.read_at.isoformat()}")
    return None


def _consumed_units(start_wh: int, current_wh: int, replacement: MeterReplacement | None,
                    rollover_wh: int | None) -> int | ReadingCheck:
    if replacement is not None:
        return _units_across_replacement(start_wh, current_wh, replacement)
    if current_wh >= start_wh:
        return kwh(current_wh) - kwh(start_wh)
    if rollover_wh is not None and current_wh + rollover_wh - start_wh < rollover_wh // 2:
        # Wrapped past the top. A "wrap" using most of the register's range is far
        # likelier a swapped or tampered meter than real use, hence the half-range cap.
        return kwh(current_wh + rollover_wh) - kwh(start_wh)
    return _reject(ReadingReason.DECREASE_WITHOUT_REPLACEMENT,
                   f"register fell from {start_wh} Wh to {current_wh} Wh and no meter "
                   "replacement or rollover explains it")


def _units_across_replacement(start_wh: int, current_wh: int,
                              replacement: MeterReplacement) -> int | ReadingCheck:
    old_final, new_start = replacement.old_final_register_wh, replacement.new_initial_register_wh
    if old_final < start_wh:
        return _reject(ReadingReason.INVALID_REPLACEMENT,
                       f"the old meter's final register {old_final} Wh is below its previous "
                       f"reading {start_wh} Wh")
    if current_wh < new_start:
        return _reject(ReadingReason.BELOW_NEW_METER_START,
                       f"register {current_wh} Wh is below the new meter's first register "
                       f"{new_start} Wh")
    return (kwh(old_final) - kwh(start_wh)) + (kwh(current_wh) - kwh(new_start))


def _spike_check(units: int, history_units: Sequence[int], months_covered: int,
                 policy: SpikePolicy) -> ReadingCheck:
    recent = list(history_units)[-policy.window_months:]
    if len(recent) >= policy.min_history_months:
        average = Decimal(sum(recent)) / len(recent)
        threshold = policy.factor * average * months_covered
        if units > threshold and units > policy.min_units * months_covered:
            return ReadingCheck(
                ReadingStatus.HELD, units=units, reason=ReadingReason.SPIKE,
                detail=f"{units} kWh is above {policy.factor} x the recent monthly "
                       f"average of {average:.1f} kWh over {months_covered} month(s)",
            )
    return ReadingCheck(ReadingStatus.ACCEPTED, units=units)


def _reject(reason: ReadingReason, detail: str) -> ReadingCheck:
    return ReadingCheck(ReadingStatus.REJECTED, reason=reason, detail=detail)


def _require_aware(*moments: datetime) -> None:
    for moment in moments:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("reading times must be timezone-aware (UTC)")
