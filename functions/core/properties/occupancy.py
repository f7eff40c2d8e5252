"""Who occupied a property on which days: the input billing needs to route
and split a bill (DESIGN.md 4: "a tenant change inside the period splits the
bill by days").

The rule, in IST calendar days:
- Tenancies are stored as UTC instants [start_date, end_date). A tenancy
  covers every IST day from the IST date of start_date up to, but not
  including, the IST date of end_date.
- So the day of a move (in or out) counts for the *incoming* occupant: on the
  move-in day the new tenant pays; on the move-out day the owner (or the next
  tenant, if one moves in that day) pays. A tenancy that starts and ends on the
  same IST day covers no day at all.
- Every day of the period no tenancy covers belongs to the owner.
- Should two tenancies ever claim the same day (the service prevents it), the
  one that started later wins, as the incoming occupant.

The result covers every IST day of the period exactly once, in date order,
consecutive days of the same payer merged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from functions.core.billing_rules.occupancy import OccupancySpan
from functions.core.billing_rules.periods import ist_date
from functions.core.properties.models import PropertyRecord, TenancyRecord

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Occupancy:
    """`payer_id` occupied the property from `start` to `end`, both inclusive IST dates."""

    payer_id: str
    start: date
    end: date
    days: int
    is_owner: bool

    def as_span(self) -> OccupancySpan:
        """The same stretch in the form billing_rules.occupancy.split_by_days takes."""
        return OccupancySpan(occupant_id=self.payer_id, first_day=self.start, last_day=self.end)


def period_days(period_start_utc: datetime, period_end_utc: datetime) -> tuple[date, date]:
    """First and last IST day of [period_start_utc, period_end_utc)."""
    if period_end_utc <= period_start_utc:
        raise ValueError("a period must end after it starts")
    return ist_date(period_start_utc), ist_date(period_end_utc - timedelta(microseconds=1))


def tenancy_days(tenancy: TenancyRecord) -> tuple[date, date | None] | None:
    """First IST day and the IST day the tenancy stops covering (exclusive; None
    while it runs), or None if the tenancy never started."""
    if tenancy.start_date is None or tenancy.tenant_id is None:
        return None
    first = ist_date(tenancy.start_date)
    stop = ist_date(tenancy.end_date) if tenancy.end_date is not None else None
    return first, stop


def occupants_for_period(property: PropertyRecord, tenancies: Iterable[TenancyRecord],
                         period_start_utc: datetime, period_end_utc: datetime
                         ) -> list[Occupancy]:
    """The occupants of `property` over the period, by the rule in the module docstring."""
    first_day, last_day = period_days(period_start_utc, period_end_utc)
    started = []
    for tenancy in tenancies:
        days = tenancy_days(tenancy)
        if days is not None:
            started.append((days[0], days[1], tenancy.tenant_id or ""))
    # Later starts last, so they overwrite earlier claims (the incoming occupant wins).
    started.sort(key=lambda item: item[0])

    result: list[Occupancy] = []
    day = first_day
    while day <= last_day:
        payer = property.owner_id
        for first, stop, tenant_id in started:
            if first <= day and (stop is None or day < stop):
                payer = tenant_id
        if result and result[-1].payer_id == payer and result[-1].end == day - _ONE_DAY:
            last = result[-1]
            result[-1] = Occupancy(payer, last.start, day, last.days + 1, last.is_owner)
        else:
            result.append(Occupancy(payer, day, day, 1, payer == property.owner_id))
        day += _ONE_DAY
    return result
