"""A prepaid connection's daily debit from its meter's daily read (core/daily).

Units so far this month are whole kWh of each register since the month's opening
register (the read that closed the previous month's last day), the same rule as bills
(docs/meter-protocol.md 8.4); the debit is then the tariff engine's month-to-date charge
less the month's earlier debits (billing_rules/daily_debits.py). Without an opening
register (the first days of a new meter) there is nothing to measure from: no debit."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import cast

from functions.core.billing_rules.tariff import Usage
from functions.core.daily.cycle import month_days
from functions.core.daily.models import MeterDayRecord
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


def debit_from_day(item: MeterDayRecord, connection_id: str) -> bool:
    service = PrepaidService.default()
    prop = PropertyRepository().get(connection_id)
    if prop is None:
        return False
    day = date.fromisoformat(item.day)
    items = {i.day: i for i in month_days(item.meter_id, day)}
    opening = items.get((day.replace(day=1) - timedelta(days=1)).isoformat())
    if opening is None:
        logger.info("no opening register this month: no debit",
                    extra={"meter_id": item.meter_id, "day": item.day})
        return False
    units = int(item.import_wh) // 1000 - int(opening.import_wh) // 1000
    zones = None
    if item.tod_wh and len(item.tod_wh) == len(opening.tod_wh or []):
        closing = [int(z) for z in cast(list[int], item.tod_wh)]
        opened = [int(o) for o in cast(list[int], opening.tod_wh)]
        zones = tuple(z // 1000 - o // 1000 for z, o in zip(closing, opened, strict=True))
    this_month = [i for d, i in items.items() if d >= day.replace(day=1).isoformat()]
    demand = max((int(i.md_w) for i in this_month), default=0)
    usage = Usage(export_units=int(item.export_wh) // 1000 - int(opening.export_wh) // 1000,
                  tod_units=zones, max_demand_kw=Decimal(demand) / 1000 if demand else None)
    versions = [r.version() for r in TariffRepository().of_category(prop.category)]
    return service.post_daily_debit(connection_id, day, versions, prop.category,
                                    max(0, units), Decimal(prop.sanctioned_load_kw),
                                    usage=usage)
