"""Validating the registers of a protocol v2 reading (VEE for the billing snapshot).

docs/meter-protocol.md section 8.2 and docs/billing.md. A v2 reading carries, besides the
import register, the export register, one register per time-of-day zone and the maximum
demand of the billing period with its time, all latched at 00:00 IST of the billing date.
Next to validate_reading() (which judges the import register as for v1), these rules hold:

    snapshot_time_mismatch   rejected  a "snapshot" latched at another time than the billing
                                       date asked for
    tod_zone_sum_mismatch    rejected  the zones do not add up to the import register (each
                                       zone register is floored to whole Wh, so up to one Wh
                                       per zone of difference is allowed)
    tod_zone_count_changed   rejected  another number of zones than the last bill's (same meter)
    export_decrease /        rejected  a register below the last bill's, unless it wrapped
    tod_zone_decrease                  (rollover, same rule as import) or the meter was replaced
    demand_time_outside      rejected  the maximum demand's time is not inside the period the
                                       snapshot closes (or after a live read)
    demand_above_limit       held      maximum demand above the connection's physical limit:
                                       sanctioned load x DEMAND_LIMIT_FACTOR
    live_without_history     held      live registers (no snapshot) and no earlier reading to
                                       prorate from

Live registers (the meter had no snapshot for the date) are billed by the documented
fallback: the import register is prorated linearly to the billing date between the last
billed register and the live one (prorate_register), so the period gets its share and the
next bill counts from the prorated value: nothing is lost or billed twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from functions.core.billing_rules.readings import (
    WH_PER_KWH,
    ReadingStatus,
    RegisterReading,
    kwh,
)

# A connection cannot draw much more than its sanctioned load for a whole demand period
# (30 minutes): cut-outs, cables and the meter's own rating stop it. Three times the
# sanctioned load is beyond any plausible use, so a higher maximum demand is a meter or
# data fault, held for an admin.
DEMAND_LIMIT_FACTOR = Decimal(3)
SNAPSHOT = "snapshot"
LIVE = "live"
# IST hours at which a meter's time-of-day zones start, by the number of zones (provisioned
# into v2 meters): four zones are night (00-06), morning (06-10), day (10-18, the solar
# hours) and the evening peak (18-24).
TOD_ZONE_STARTS: dict[int, list[int]] = {
    1: [0], 2: [0, 18], 3: [0, 10, 18], 4: [0, 6, 10, 18], 5: [0, 6, 10, 14, 18],
    6: [0, 6, 10, 14, 18, 22], 7: [0, 4, 6, 10, 14, 18, 22], 8: [0, 3, 6, 9, 12, 15, 18, 21]}


def zone_labels(count: int) -> list[str]:
    """"00:00-06:00" ... for the zones of a meter with ``count`` zones (IST)."""
    starts = TOD_ZONE_STARTS.get(count) or [24 * i // count for i in range(count)]
    ends = [*starts[1:], 24]
    return [f"{start:02d}:00-{end:02d}:00" for start, end in zip(starts, ends, strict=True)]


@dataclass(frozen=True)
class SnapshotRegisters:
    """The v2 registers of a reading."""

    source: str  # "snapshot" | "live"
    snapshot_at: datetime  # when they were latched
    import_wh: int
    export_wh: int
    tod_wh: tuple[int, ...]
    md_w: int
    md_at: datetime


@dataclass(frozen=True)
class SnapshotCheck:
    """A rule the v2 registers break: rejected or held, with its reason code."""

    status: ReadingStatus
    reason: str
    detail: str


@dataclass(frozen=True)
class PreviousRegisters:
    """The other registers of the last actual bill of the same meter (None if unknown)."""

    export_wh: int | None
    tod_wh: tuple[int, ...] | None


def check_snapshot(current: SnapshotRegisters, previous: PreviousRegisters | None, *,
                   billing_at: datetime, period_start: datetime, sanctioned_load_kw: Decimal,
                   replaced: bool = False, rollover_wh: int | None = None
                   ) -> SnapshotCheck | None:
    """The first rule ``current`` breaks (a rejected or held ReadingCheck), or None.

    ``billing_at``: the billing date's 00:00 IST the reading answers; ``period_start``: the
    start of the period it closes; ``previous``: registers of the last actual bill of THIS
    meter (None after a replacement or when there is none)."""
    if current.source == SNAPSHOT and current.snapshot_at != billing_at:
        return _reject("snapshot_time_mismatch",
                       f"snapshot latched at {current.snapshot_at.isoformat()}, the billing "
                       f"date asked for is {billing_at.isoformat()}")
    zone_sum = sum(current.tod_wh)
    if abs(zone_sum - current.import_wh) > len(current.tod_wh):
        return _reject("tod_zone_sum_mismatch",
                       f"zones add up to {zone_sum} Wh, import is {current.import_wh} Wh")
    if previous is not None and not replaced:
        if previous.tod_wh is not None:
            if len(previous.tod_wh) != len(current.tod_wh):
                return _reject("tod_zone_count_changed",
                               f"{len(current.tod_wh)} zones, the last bill had "
                               f"{len(previous.tod_wh)}")
            for index, (before, now) in enumerate(zip(previous.tod_wh, current.tod_wh,
                                                      strict=True)):
                if _decreased(before, now, rollover_wh):
                    return _reject("tod_zone_decrease",
                                   f"zone {index + 1} fell from {before} Wh to {now} Wh")
        if previous.export_wh is not None and _decreased(previous.export_wh,
                                                         current.export_wh, rollover_wh):
            return _reject("export_decrease", f"export fell from {previous.export_wh} Wh to "
                                              f"{current.export_wh} Wh")
    latest = billing_at if current.source == SNAPSHOT else current.snapshot_at
    earliest = period_start if current.source == SNAPSHOT else None
    if current.md_w > 0 and (current.md_at > latest
                             or (earliest is not None and current.md_at <= earliest)):
        return _reject("demand_time_outside",
                       f"maximum demand at {current.md_at.isoformat()} is outside the period "
                       "the registers close")
    limit_w = sanctioned_load_kw * 1000 * DEMAND_LIMIT_FACTOR
    if current.md_w > limit_w:
        return SnapshotCheck(ReadingStatus.HELD, "demand_above_limit",
                             f"maximum demand {current.md_w} W is above {DEMAND_LIMIT_FACTOR}"
                             f" x the sanctioned {sanctioned_load_kw} kW")
    return None


def prorate_register(previous: RegisterReading, live: RegisterReading, at: datetime) -> int:
    """The import register at ``at`` (between the two readings), by linear interpolation,
    floored to whole Wh. ``at`` before the previous reading or after the live one is
    clamped to them."""
    if live.read_at <= previous.read_at or at >= live.read_at:
        return live.register_wh
    if at <= previous.read_at:
        return previous.register_wh
    span = (live.read_at - previous.read_at).total_seconds()
    part = (at - previous.read_at).total_seconds()
    return previous.register_wh + int((live.register_wh - previous.register_wh) * part // span)


def zone_units(previous: Sequence[int] | None, current: Sequence[int]) -> list[int] | None:
    """Whole kWh per zone since the previous zone registers (the units rule of each
    register: the fraction of a kWh carries over), or None without previous zones."""
    if previous is None or len(previous) != len(current):
        return None
    return [max(kwh(now) - kwh(before), 0) for before, now in zip(previous, current,
                                                                   strict=True)]


def export_units(previous: int | None, current: int) -> int | None:
    if previous is None:
        return None
    return max(kwh(current) - kwh(previous), 0)


def _decreased(before: int, now: int, rollover_wh: int | None) -> bool:
    if now >= before:
        return False
    # Wrapped past the top of the register (as for import: at most half the range).
    return not (rollover_wh is not None and now + rollover_wh - before < rollover_wh // 2)


def _reject(reason: str, detail: str) -> SnapshotCheck:
    return SnapshotCheck(ReadingStatus.REJECTED, reason, detail)


def live_without_history() -> SnapshotCheck:
    return SnapshotCheck(ReadingStatus.HELD, "live_without_history",
                         "live registers (the meter has no snapshot for the billing date) and "
                         "no earlier reading to prorate them from")


__all__ = [
    "DEMAND_LIMIT_FACTOR",
    "TOD_ZONE_STARTS",
    "WH_PER_KWH",
    "PreviousRegisters",
    "SnapshotCheck",
    "SnapshotRegisters",
    "check_snapshot",
    "export_units",
    "live_without_history",
    "prorate_register",
    "zone_labels",
    "zone_units",
]
