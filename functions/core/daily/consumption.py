"""The customer's daily consumption chart (issue 24 item 1): a meter's kWh per day over a
range of IST days, read with one key-condition query on the meter's days (the API bounds
a range to 400 days: at most 401 items, so a request's work never grows with the fleet or
the history)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from functions.core.accounts.sessions import Caller
from functions.core.clock import IST
from functions.core.daily.models import MeterDayRecord
from functions.core.errors import NotFound
from functions.core.meters.models import MeterRecord
from functions.core.properties.models import TENANCY_ACTIVE
from functions.core.properties.repositories import PropertyRepository, TenancyRepository

KWH = Decimal("0.001")


def days_between(meter_id: str, first: date, last: date) -> list[MeterDayRecord]:
    """The meter's items from `first` to `last` (IST days), oldest first: one query."""
    return list(MeterDayRecord.query(
        meter_id, MeterDayRecord.day.between(first.isoformat(), last.isoformat())))


def visible_from(caller: Caller, meter: MeterRecord,
                 properties: PropertyRepository | None = None,
                 tenancies: TenancyRepository | None = None) -> date:
    """The first day of the meter's reads the caller may see: all of them for the property's
    owner (or an admin), the days from move-in for its active tenant (their own
    consumption, not the previous occupant's); anyone else: no such meter."""
    if meter.property_id:
        if caller.is_admin:
            return date.min
        found = (properties or PropertyRepository()).get(meter.property_id)
        if found is not None and found.owner_id == caller.user_id:
            return date.min
        tenancy = (tenancies or TenancyRepository()).get(
            found.property_id, found.active_tenancy_id) \
            if found is not None and found.active_tenancy_id else None
        if tenancy is not None and tenancy.status == TENANCY_ACTIVE \
                and tenancy.tenant_id == caller.user_id:
            return tenancy.start_date.astimezone(IST).date() if tenancy.start_date else date.min
    raise NotFound("No such meter.")


def _kwh(now_wh: int, before_wh: int) -> Decimal | None:
    # A register that went down (a replacement, a rollover) says nothing about that day.
    return None if now_wh < before_wh else (Decimal(now_wh - before_wh) / 1000).quantize(KWH)


def daily_consumption(meter: MeterRecord, first: date, last: date, since: date = date.min
                      ) -> list[tuple[MeterDayRecord, Decimal | None, Decimal | None]]:
    """(item, kWh imported, kWh exported) per day read in [first, last] and not before
    `since`: the difference of a day's closing registers and the day before's; without
    the day before, the whole kWh the daily cycle counted (import only), else unknown."""
    first = max(first, since)
    if first > last:
        return []
    items = days_between(meter.meter_id, first - timedelta(days=1), last)
    by_day = {item.day: item for item in items}
    out = []
    for item in items:
        if item.day < first.isoformat():
            continue  # the day before the range: only its closing registers are needed
        before = by_day.get((date.fromisoformat(item.day) - timedelta(days=1)).isoformat())
        if before is not None:
            imported = _kwh(int(item.import_wh), int(before.import_wh))
            exported = _kwh(int(item.export_wh), int(before.export_wh))
        else:
            imported = None if item.units is None else Decimal(int(item.units)).quantize(KWH)
            exported = None
        out.append((item, imported, exported))
    return out
