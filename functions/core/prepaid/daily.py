"""A prepaid connection's daily debit from its meter's daily read (core/daily).

Units so far this month are whole kWh of each register since the month's opening
register (the read that closed the previous month's last day), the same rule as bills
(docs/meter-protocol.md 8.4); the debit is then the tariff engine's month-to-date charge
less the month's earlier debits (billing_rules/daily_debits.py). Without an opening
register (the first days of a new meter) there is nothing to measure from: no debit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import cast

from functions.core.billing_rules.tariff import Usage
from functions.core.daily.cycle import month_days
from functions.core.daily.models import MeterDayRecord
from functions.core.errors import Conflict
from functions.core.logs import logger
from functions.core.meters.repositories import MeterRepository
from functions.core.prepaid.models import MODE_PREPAID, PrepaidAccountRecord
from functions.core.prepaid.service import PrepaidService
from functions.core.properties.repositories import PropertyRepository
from functions.core.tariffs.repository import TariffRepository


def debit_from_days(items: list[MeterDayRecord]) -> int:
    """The prepaid debits of a batch of meter-days: two BatchGetItems find the prepaid
    connections among them (most are postpaid: nothing more is read for those)."""
    meters = MeterRepository().get_many(i.meter_id for i in items)
    connection_of = {m: r.property_id for m, r in meters.items() if r.property_id}
    if not connection_of:
        return 0
    accounts = {a.connection_id: a for a in PrepaidAccountRecord.batch_get(
        list(set(connection_of.values())), attributes_to_get=["connection_id", "mode"])}
    debited = 0
    for item in items:
        account = accounts.get(connection_of.get(item.meter_id, ""))
        if account is not None and account.mode == MODE_PREPAID:
            debited += debit_from_day(item, account.connection_id)
    return debited


class MissingRead(Conflict):
    """A meter-day the change or the statement needs is not read (yet)."""

    def __init__(self, meter_id: str, day: date) -> None:
        latch = day + timedelta(days=1)
        super().__init__(f"Meter {meter_id} has no daily read of {day.isoformat()} (the "
                         f"registers latched at 00:00 IST on {latch.isoformat()}); wait for "
                         "the daily cycle to read it, or restart that day's cycle.")
        self.meter_id, self.day = meter_id, day


@dataclass(frozen=True)
class MonthToDate:
    """A meter's consumption from its month's opening register to the close of `day`."""

    day: date
    units: int
    usage: Usage


def month_to_date(meter_id: str, day: date) -> MonthToDate:
    """Whole kWh of each register since the month's opening register (the read that
    closed the previous month's last day) to the close of `day`: one query. MissingRead
    names the day not read (the opening one, or `day` itself)."""
    items = {i.day: i for i in month_days(meter_id, day)}
    opening_day = day.replace(day=1) - timedelta(days=1)
    opening, closing = items.get(opening_day.isoformat()), items.get(day.isoformat())
    if opening is None or closing is None:
        raise MissingRead(meter_id, opening_day if opening is None else day)
    units = int(closing.import_wh) // 1000 - int(opening.import_wh) // 1000
    zones = None
    if closing.tod_wh and len(closing.tod_wh) == len(opening.tod_wh or []):
        closed = [int(z) for z in cast(list[int], closing.tod_wh)]
        opened = [int(o) for o in cast(list[int], opening.tod_wh)]
        zones = tuple(z // 1000 - o // 1000 for z, o in zip(closed, opened, strict=True))
    this_month = [i for d, i in items.items() if day.replace(day=1).isoformat() <= d]
    demand = max((int(i.md_w) for i in this_month), default=0)
    export = int(closing.export_wh) // 1000 - int(opening.export_wh) // 1000
    return MonthToDate(day, max(0, units), Usage(
        export_units=max(0, export), tod_units=zones,
        max_demand_kw=Decimal(demand) / 1000 if demand else None))


def debit_from_day(item: MeterDayRecord, connection_id: str) -> bool:
    service = PrepaidService.default()
    prop = PropertyRepository().get(connection_id)
    if prop is None:
        return False
    day = date.fromisoformat(item.day)
    try:
        measured = month_to_date(item.meter_id, day)
    except MissingRead:
        logger.info("no opening register this month: no debit",
                    extra={"meter_id": item.meter_id, "day": item.day})
        return False
    versions = [r.version() for r in TariffRepository().of_category(prop.category)]
    return service.post_daily_debit(connection_id, day, versions, prop.category,
                                    measured.units, Decimal(prop.sanctioned_load_kw),
                                    usage=measured.usage)
