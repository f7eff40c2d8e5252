"""Simulated consumption: a monotonic energy register in Wh driven by daily load profiles.

Deterministic: the register at any moment is a pure function of (seed, profile, daily
energy, start time, start register, moment), so a test can compute exactly what a meter
will report with ``register_at``. Each day's energy varies around the meter's daily mean
with noise drawn from ``random.Random(f"{seed}:{day}")``; within a day energy follows the
profile's hourly shape (linear inside each hour).

Profiles (hourly weights, IST):
- residential: morning peak 06-09, low during the day, evening peak 18-23, low at night;
  weekends a little higher;
- commercial: business hours 09-19 on weekdays, base load at night and on Sundays.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

IST = timezone(timedelta(hours=5, minutes=30))
DAY = timedelta(days=1)

RESIDENTIAL_WEEKDAY = (2, 2, 2, 2, 2, 3, 6, 8, 7, 4, 3, 3, 3, 3, 3, 3, 4, 6, 9, 10, 10, 8, 5, 3)
COMMERCIAL_WEEKDAY = (2, 2, 2, 2, 2, 2, 2, 3, 6, 9, 10, 10, 10, 10, 10, 10, 10, 9, 7, 4, 3, 2,
                      2, 2)
COMMERCIAL_SUNDAY = (2,) * 24
FLAT = (1,) * 24


@dataclass(frozen=True)
class Profile:
    name: str
    daily_kwh: float  # typical mean energy per day
    spread: float  # day-to-day variation of the daily energy, +-fraction

    def hourly_weights(self, day: datetime) -> tuple[int, ...]:
        weekday = day.weekday()
        if self.name == "residential":
            return RESIDENTIAL_WEEKDAY
        if self.name == "commercial":
            return COMMERCIAL_SUNDAY if weekday == 6 else COMMERCIAL_WEEKDAY
        return FLAT

    def day_factor(self, day: datetime) -> float:
        if self.name == "residential" and day.weekday() >= 5:
            return 1.15
        if self.name == "commercial" and day.weekday() == 5:
            return 0.6
        if self.name == "commercial" and day.weekday() == 6:
            return 0.3
        return 1.0


PROFILES = {
    "residential": Profile("residential", daily_kwh=8.0, spread=0.25),
    "commercial": Profile("commercial", daily_kwh=60.0, spread=0.15),
    "flat": Profile("flat", daily_kwh=10.0, spread=0.0),
}


def profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; one of {sorted(PROFILES)}") from None


def meter_daily_kwh(seed: int, profile_name: str) -> float:
    """The meter's own mean daily energy: the profile's typical value scaled by a seeded
    factor in [0.6, 1.6] (households and shops differ)."""
    return profile(profile_name).daily_kwh * random.Random(f"scale:{seed}").uniform(0.6, 1.6)


def _day_start(moment: datetime) -> datetime:
    local = moment.astimezone(IST)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _day_energy_wh(seed: int, prof: Profile, daily_kwh: float, day: datetime) -> float:
    noise = random.Random(f"{seed}:{day.date().isoformat()}").uniform(-prof.spread, prof.spread)
    return daily_kwh * 1000 * prof.day_factor(day) * (1 + noise)


def _energy_in_day_until(seed: int, prof: Profile, daily_kwh: float, day: datetime,
                         until: datetime) -> float:
    """Energy (Wh) from the start of ``day`` (IST midnight) until ``until`` in that day."""
    weights = prof.hourly_weights(day)
    total = _day_energy_wh(seed, prof, daily_kwh, day)
    elapsed_hours = (until - day).total_seconds() / 3600
    full = int(elapsed_hours)
    used = sum(weights[:full]) + (weights[full] * (elapsed_hours - full) if full < 24 else 0)
    return total * used / sum(weights)


def consumption_wh(seed: int, profile_name: str, start: datetime, end: datetime,
                   daily_kwh: float | None = None) -> int:
    """Energy used between ``start`` and ``end`` (whole Wh, floor of the cumulative curve)."""
    return _cumulative(seed, profile_name, start, end, daily_kwh)


def _cumulative(seed: int, profile_name: str, start: datetime, end: datetime,
                daily_kwh: float | None) -> int:
    prof = profile(profile_name)  # an unknown profile is an error even for an empty span
    if end <= start:
        return 0
    mean = daily_kwh if daily_kwh is not None else meter_daily_kwh(seed, profile_name)
    start, end = start.astimezone(IST), end.astimezone(IST)
    energy = 0.0
    day = _day_start(start)
    energy -= _energy_in_day_until(seed, prof, mean, day, start)
    while day + DAY <= end:
        energy += _day_energy_wh(seed, prof, mean, day)
        day += DAY
    energy += _energy_in_day_until(seed, prof, mean, day, end)
    return int(energy)


def register_at(seed: int, profile_name: str, moment: datetime, *, start_at: datetime,
                start_register_wh: int = 0, daily_kwh: float | None = None) -> int:
    """The register (Wh) at ``moment`` of a meter that read ``start_register_wh`` at
    ``start_at``: monotonic in ``moment``."""
    if moment.tzinfo is None or start_at.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return start_register_wh + _cumulative(seed, profile_name, start_at, moment, daily_kwh)


def utcnow() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- protocol v2 registers
#
# A v2 meter keeps, besides the import register, an export register (rooftop solar), one
# register per time-of-day zone and the maximum demand of the billing period, and latches
# them all at 00:00 IST of each billing date (the 1st of the month). Hour by hour: load is
# the profile's shape (as above), solar generation follows a midday bell scaled by the
# meter's kWp and a day's weather; what the house does not use is exported. Import per hour
# is the demand in W over that hour (both 30-minute demand periods alike).

SOLAR_SHAPE = (0, 0, 0, 0, 0, 0, 1, 3, 6, 9, 11, 12, 12, 11, 9, 6, 3, 1, 0, 0, 0, 0, 0, 0)
SOLAR_KWH_PER_KWP = 4.5  # a typical Indian day's yield per kWp
DEFAULT_TOD_ZONE_STARTS = (0, 6, 10, 18)  # IST hours: night, morning, day (solar), evening peak
DEMAND_PERIOD = timedelta(minutes=30)


@dataclass(frozen=True)
class Registers:
    import_wh: int
    export_wh: int
    tod_wh: tuple[int, ...]
    md_w: int  # maximum demand since md_since
    md_at: datetime  # end of the demand period of md_w (md_since if no demand yet)


def _hour_flows(seed: int, prof: Profile, daily_kwh: float, solar_kwp: float, day: datetime
                ) -> list[tuple[float, float]]:
    """(import Wh, export Wh) for each of the 24 hours of ``day`` (IST midnight)."""
    load_total = _day_energy_wh(seed, prof, daily_kwh, day)
    weights = prof.hourly_weights(day)
    weight_sum = sum(weights)
    sun = 0.0
    if solar_kwp > 0:
        weather = random.Random(f"sun:{seed}:{day.date().isoformat()}").uniform(0.55, 1.05)
        sun = solar_kwp * SOLAR_KWH_PER_KWP * 1000 * weather
    flows = []
    for hour in range(24):
        net = load_total * weights[hour] / weight_sum - sun * SOLAR_SHAPE[hour] / sum(SOLAR_SHAPE)
        flows.append((max(net, 0.0), max(-net, 0.0)))
    return flows


def zone_of(hour: int, zone_starts: tuple[int, ...]) -> int:
    """Index of the zone an IST hour falls in: zones start at the given hours, the first
    zone also covering the hours before the second start... of the day (wrapping)."""
    index = len(zone_starts) - 1
    for position, start in enumerate(zone_starts):
        if hour >= start:
            index = position
    return index


def registers_between(seed: int, profile_name: str, start: datetime, end: datetime, *,
                      daily_kwh: float | None = None, solar_kwp: float = 0.0,
                      zone_starts: tuple[int, ...] = DEFAULT_TOD_ZONE_STARTS,
                      md_since: datetime | None = None) -> Registers:
    """Energy from ``start`` to ``end`` as v2 registers (each zone floored to whole Wh;
    import is their sum, so the zones always add up), and the maximum demand over the
    whole hours after ``md_since`` (default ``start``) up to ``end``."""
    prof = profile(profile_name)
    mean = daily_kwh if daily_kwh is not None else meter_daily_kwh(seed, profile_name)
    zones = [0.0] * len(zone_starts)
    exported = 0.0
    md_w, md_at = 0.0, (md_since or start)
    since = md_since or start
    if end > start:
        day = _day_start(start)
        while day < end:
            flows = _hour_flows(seed, prof, mean, solar_kwp, day)
            for hour, (imported, out) in enumerate(flows):
                hour_start = day + timedelta(hours=hour)
                hour_end = hour_start + timedelta(hours=1)
                lo, hi = max(hour_start, start), min(hour_end, end)
                if hi <= lo:
                    continue
                share = (hi - lo) / timedelta(hours=1)
                zones[zone_of(hour, zone_starts)] += imported * share
                exported += out * share
                if hour_start >= since and hour_end <= end and imported > md_w:
                    md_w, md_at = imported, hour_start + DEMAND_PERIOD
            day += DAY
    tod = tuple(int(zone) for zone in zones)
    return Registers(sum(tod), int(exported), tod, int(md_w), md_at.astimezone(UTC))


def billing_instants(after: datetime, until: datetime) -> list[datetime]:
    """00:00 IST of every 1st of the month in (after, until], oldest first (UTC)."""
    local = after.astimezone(IST)
    month = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    instants = []
    while month <= until:
        if month > after:
            instants.append(month.astimezone(UTC))
        month = (month + timedelta(days=32)).replace(day=1)
    return instants


def last_billing_instant(moment: datetime) -> datetime:
    """The latest 00:00 IST on a 1st of the month at or before ``moment`` (UTC)."""
    local = moment.astimezone(IST)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
