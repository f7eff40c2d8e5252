"""One item per meter-day (table meter_days), purged by TTL after the retention."""

from __future__ import annotations

from pynamodb.attributes import (
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.models import Model

from functions.core.db import registered, table_meta


@registered
class MeterDayRecord(Model):
    """The registers latched at the end of `day` (00:00 IST of the next day)."""

    Meta = table_meta("meter_days")

    meter_id = UnicodeAttribute(hash_key=True)
    day = UnicodeAttribute(range_key=True)  # IST date, YYYY-MM-DD
    import_wh = NumberAttribute()
    export_wh = NumberAttribute(default=0)
    tod_wh = ListAttribute(of=NumberAttribute, default=list)
    md_w = NumberAttribute(default=0)
    # When md_w occurred, and when a "snapshot" was latched (null on items kept before
    # they were recorded): billing's fallback on the daily read checks them as a snapshot's.
    md_at = UTCDateTimeAttribute(null=True)
    snapshot_at = UTCDateTimeAttribute(null=True)
    source = UnicodeAttribute(default="snapshot")  # snapshot | live (v1, or none latched)
    units = NumberAttribute(null=True)  # whole kWh of the day, when the day before is known
    read_at = UTCDateTimeAttribute()
    received_at = UTCDateTimeAttribute()
    purge_at_epoch = NumberAttribute(null=True)
