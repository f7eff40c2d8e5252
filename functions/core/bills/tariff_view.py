"""What a bill shows of issue 17's tariff rules: gross, subsidy and net; net
metering's units and bank; the billing demand; the versions of a tariff revised
inside the period. Amounts are this payer's lines (a share's, when split)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field

from functions.core.bills.models import BillRecord
from functions.core.money import format_inr, sum_money


class TariffRulesView(BaseModel):
    gross_total: str = Field(description="Every charge before the subsidy, rupees")
    subsidy_total: str = Field(description="The subsidy (negative or 0.00)")
    net_total: str = Field(description="gross + subsidy: this period's charges")
    gross_display: str
    subsidy_display: str
    net_display: str
    import_units: int = Field(description="kWh imported (the units measured)")
    export_units: int | None = None
    billed_units: int | None = Field(default=None, description="Net metering: units priced")
    banked_units_in: int | None = None
    banked_units_out: int | None = None
    settled_units: int | None = None
    billing_demand_kw: str | None = None
    tariff_segments: list[str] = Field(default_factory=list)


def tariff_rules_view(bill: BillRecord) -> TariffRulesView | None:
    """None for a bill that none of the rules touched (older bills print as before)."""
    kinds = {item.kind for item in bill.line_items}
    touched = kinds & {"tod", "unit", "demand", "minimum", "export", "subsidy"} \
        or bill.banked_units_out is not None or bill.tariff_segments
    if not touched:
        return None
    subsidy = sum_money(Decimal(i.amount) for i in bill.line_items if i.kind == "subsidy")
    gross = sum_money(Decimal(i.amount) for i in bill.line_items if i.kind != "subsidy")

    def number(value: float | None) -> int | None:
        return None if value is None else int(value)

    return TariffRulesView(
        gross_total=f"{gross:.2f}", subsidy_total=f"{subsidy:.2f}",
        net_total=f"{gross + subsidy:.2f}", gross_display=format_inr(gross),
        subsidy_display=format_inr(subsidy), net_display=format_inr(gross + subsidy),
        import_units=int(bill.units), export_units=number(bill.export_units),
        billed_units=number(bill.billed_units), banked_units_in=number(bill.banked_units_in),
        banked_units_out=number(bill.banked_units_out),
        settled_units=number(bill.settled_units), billing_demand_kw=bill.billing_demand_kw,
        tariff_segments=list(bill.tariff_segments or []))
