"""The customer's daily consumption chart (issue 24 item 1): a meter's kWh per day over a
range of IST days, read with one key-condition query on the meter's days (the API bounds
a range to 400 days: at most 401 items, so a request's work never grows with the fleet or
the history)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from functions.core.daily.models import MeterDayRecord
from functions.core.meters.models import MeterRecord

KWH = Decimal("0.001")


def days_between(meter_id: str, first: date, last: date) -> list[MeterDayRecord]:
    """The meter's items from `first` to `last` (IST days), oldest first: one query."""
    return list(MeterDayRecord.query(
        meter_id, MeterDayRecord.day.between(first.isoformat(), last.isoformat())))


def _kwh(now_wh: int, before_wh: int) -> Decimal | None:
    # A register that went down (a replacement, a rollover) says nothing about that day.
    return None if now_wh < before_wh else (Decimal(now_wh - before_wh) / 1000).quantize(KWH)


def daily_consumption(meter: MeterRecord, first: date, last: date
                      ) -> list[tuple[MeterDayRecord, Decimal | None, Decimal | None]]:
    """(item, kWh imported, kWh exported) per day read in [first, last]: the difference
    of a day's closing registers and the day before's; without the day before, the
    whole kWh the daily cycle counted (import only), else unknown (None)."""
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
