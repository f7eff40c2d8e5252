"""What a bill shows of a protocol v2 (smart) meter: consumption per time-of-day zone, export
and maximum demand (issue 15). Rates per zone, net metering and demand charges are the
tariff's (issue 17); this only presents the registers billing stored on the bill."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel

from functions.core.billing_rules.periods import format_ist
from functions.core.billing_rules.snapshots import zone_labels
from functions.core.bills.models import BillRecord

SOURCE_LABELS = {
    "snapshot": "Billing-date snapshot (latched by the meter at 00:00 IST)",
    "live_prorated": "Live reading, prorated to the billing date (the meter had no snapshot)",
}


class ZoneView(BaseModel):
    zone: int  # 1, 2, ...
    hours: str  # "06:00-10:00" (IST)
    register_wh: int
    units: int | None  # whole kWh in the period (None on the meter's first v2 bill)


class SmartMeterView(BaseModel):
    register_source: str
    register_source_display: str
    zones: list[ZoneView]
    export_wh: int
    export_units: int | None
    max_demand_w: int
    max_demand_display: str  # "4.38 kW"
    max_demand_at: str | None  # IST
    max_demand_at_display: str | None


def smart_meter_view(bill: BillRecord) -> SmartMeterView | None:
    """The v2 section of a bill, or None for a v1 meter's (or an estimated) bill."""
    if not bill.register_source:
        return None
    registers = [int(zone) for zone in bill.current_tod_wh or []]
    units = [int(unit) for unit in bill.tod_units] if bill.tod_units else None
    labels = zone_labels(len(registers)) if registers else []
    md_w = int(bill.md_w or 0)
    return SmartMeterView(
        register_source=str(bill.register_source),
        register_source_display=SOURCE_LABELS.get(str(bill.register_source),
                                                  str(bill.register_source)),
        zones=[ZoneView(zone=index + 1, hours=labels[index], register_wh=register,
                        units=units[index] if units else None)
               for index, register in enumerate(registers)],
        export_wh=int(bill.current_export_wh or 0),
        export_units=None if bill.export_units is None else int(bill.export_units),
        max_demand_w=md_w, max_demand_display=f"{Decimal(md_w) / 1000:.2f} kW",
        max_demand_at=bill.md_at.isoformat() if bill.md_at else None,
        max_demand_at_display=format_ist(bill.md_at) if bill.md_at else None)


def zone_history_fields(bill: BillRecord) -> dict[str, object]:
    """Per-zone units of a bill for the customer's history chart ({} without them)."""
    if not bill.tod_units:
        return {}
    zone_units = [int(unit) for unit in bill.tod_units]
    return {"tod_units": zone_units, "tod_zone_hours": zone_labels(len(zone_units))}
