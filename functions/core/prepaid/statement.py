"""A prepaid connection's month statement (issue 24 item 3): the month's daily debits
beside the postpaid bill the same consumption and tariff give, priced by the same
engine (billing_rules/daily_debits.charge_to_date: on the month's last day it is the
month's postpaid bill, price_period), and whether they agree to the paisa.

The debits telescope (each is the month-to-date charge less what was taken before), so
they always add up to the month-to-date charge of the last day debited. A change to
prepaid inside the month adds its final postpaid bill (the days before the change) to
the prepaid side; a change to postpaid inside the month ends the prepaid side the day
before it (the rest of the month is on the postpaid bill, which takes these debits off).
Reads: the account, at most 31 debits (one query), the property, the tariff versions,
and the meter's days of the month (one query)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from functions.core.billing_rules import BillingPeriod
from functions.core.billing_rules.daily_debits import charge_to_date
from functions.core.billing_rules.errors import TariffNotFound
from functions.core.billing_rules.tariff import LineItem, Usage
from functions.core.errors import NotFound
from functions.core.money import ZERO, from_paise, sum_money
from functions.core.prepaid.models import ENTRY_DEBIT, MODE_POSTPAID, MODE_PREPAID
from functions.core.prepaid.repository import AccountRepository, LedgerRepository
from functions.core.prepaid.settlement import mode_on


class StatementDay(BaseModel):
    day: str
    debit: Decimal
    units_to_date: str | None = None
    charge_to_date: Decimal | None = None


class FinalBillPart(BaseModel):
    bill_id: str
    first_day: str
    last_day: str
    amount: Decimal = Field(description="What the final postpaid bill charged for its days")


class PostpaidEquivalent(BaseModel):
    first_day: str
    last_day: str
    units: Decimal
    days_fraction: str | None = Field(description="Of the month's fixed charges; null when "
                                                  "the whole month")
    lines: list[LineItem]
    total: Decimal


class StatementNote(BaseModel):
    """One sentence of `explanation` as facts, so a page can word it in its language."""

    code: Literal["final_bill", "to_postpaid", "no_postpaid_bill", "nothing_debited",
                  "postpaid_month", "equal", "differ"]
    text: str = Field(description="The sentence in English")
    day: str | None = Field(default=None, description="final_bill: its last day; "
                                                      "to_postpaid: the first postpaid day; "
                                                      "equal: the last debit's day")
    amount: Decimal | None = Field(default=None, description="final_bill: what it charged; "
                                                             "to_postpaid: the debits; "
                                                             "differ: the difference")
    bill_id: str | None = None
    reason: str | None = Field(default=None, description="no_postpaid_bill: why (English)")


class Statement(BaseModel):
    connection_id: str
    period: str
    days: list[StatementDay] = Field(description="The month's daily debits, oldest first "
                                                 "(at most 31)")
    debits_total: Decimal
    final_bill: FinalBillPart | None = Field(
        default=None, description="A change to prepaid inside the month: the postpaid bill "
                                  "of the days before it")
    prepaid_total: Decimal = Field(description="Debits plus the final bill's days")
    postpaid: PostpaidEquivalent | None = Field(
        description="The postpaid bill of the same consumption and tariff, to the last day "
                    "the prepaid side covers; null before the first debit")
    difference: Decimal = Field(description="prepaid_total - postpaid.total (0.00: equal)")
    equal: bool
    explanation: str = Field(description="The notes' sentences, in English")
    notes: list[StatementNote] = Field(default_factory=list, max_length=3)


def month_statement(connection_id: str, period: BillingPeriod,
                    accounts: AccountRepository | None = None,
                    ledger: LedgerRepository | None = None) -> Statement:
    from functions.core.prepaid.daily import MissingRead, month_to_date
    from functions.core.properties.repositories import PropertyRepository
    from functions.core.tariffs.repository import TariffRepository

    account = (accounts or AccountRepository()).get(connection_id)
    if account is None:
        raise NotFound("No prepaid account for this connection.")
    entries = list((ledger or LedgerRepository()).with_prefix(
        connection_id, f"{ENTRY_DEBIT}#{period}-"))[:31]
    days = [StatementDay(
        day=e.day, debit=from_paise(-int(e.amount_paise)), units_to_date=e.units_to_date,
        charge_to_date=None if e.charge_to_date_paise is None
        else from_paise(int(e.charge_to_date_paise))) for e in entries]
    debits = sum_money(d.debit for d in days)
    first, last = period.first_day, period.last_day
    changes = [c for c in account.mode_history or []
               if first <= date.fromisoformat(c["from"]) <= last]
    to_prepaid = next((c for c in changes if c["mode"] == MODE_PREPAID
                       and date.fromisoformat(c["from"]) > first), None)
    to_postpaid = next((c for c in changes if c["mode"] == MODE_POSTPAID), None)
    final = None
    if to_prepaid is not None and to_prepaid.get("final_bill_id"):
        start = date.fromisoformat(to_prepaid["from"])
        final = FinalBillPart(bill_id=to_prepaid["final_bill_id"], first_day=first.isoformat(),
                              last_day=(start - timedelta(days=1)).isoformat(),
                              amount=from_paise(int(to_prepaid.get("settled_paise") or 0)))
    prepaid_total = debits + (final.amount if final else ZERO)
    # The last day the prepaid side covers: the last debit, else the final bill's last day.
    through = date.fromisoformat(days[-1].day) if days else \
        date.fromisoformat(final.last_day) if final else None
    notes: list[StatementNote] = []
    if final is not None:
        notes.append(StatementNote(
            code="final_bill", day=final.last_day, amount=final.amount, bill_id=final.bill_id,
            text=f"Postpaid until {final.last_day}: the final bill {final.bill_id} "
                     f"charged {final.amount:.2f} for those days; the debits start the day "
                     "after, each less what was charged before."))
    if to_postpaid is not None:
        notes.append(StatementNote(
            code="to_postpaid", day=to_postpaid["from"], amount=debits,
            text=f"Postpaid from {to_postpaid['from']}: the month's postpaid bill takes "
                 f"these debits ({debits:.2f}) off and carries the balance left."))
    postpaid = None
    prop = PropertyRepository().get(connection_id)
    if through is not None and prop is not None:
        units: int | Decimal = Decimal(days[-1].units_to_date or 0) if days else 0
        usage: Usage | None = None
        if prop.meter_id:
            try:
                measured = month_to_date(prop.meter_id, through)
                units, usage = measured.units, measured.usage
            except MissingRead:
                pass  # the reads are purged or not in: the units the debits recorded
        versions = [r.version() for r in TariffRepository().of_category(prop.category)]
        try:
            priced = charge_to_date(versions, prop.category, through, units,
                                    Decimal(prop.sanctioned_load_kw), usage=usage)
            postpaid = PostpaidEquivalent(
                first_day=first.isoformat(), last_day=through.isoformat(),
                units=priced.units, lines=list(priced.lines), total=priced.total,
                days_fraction=None if through == last else f"{through.day}/{period.days}")
        except TariffNotFound as error:
            notes.append(StatementNote(code="no_postpaid_bill", reason=error.message,
                                       text=f"No postpaid bill to compare: {error.message}."))
    difference = prepaid_total - postpaid.total if postpaid is not None else ZERO
    if through is None:
        notes.append(StatementNote(code="nothing_debited", text="Nothing debited this month yet.")
                     if mode_on(account, last) == MODE_PREPAID else
                     StatementNote(code="postpaid_month",
                                   text="Postpaid this month: no daily debits."))
    elif postpaid is not None and difference == 0:
        notes.append(StatementNote(
            code="equal", day=through.isoformat(),
            text=f"The debits to {through:%d %b} equal the postpaid bill of the same "
                 "consumption and tariff to the paisa."))
    elif postpaid is not None:
        notes.append(StatementNote(
            code="differ", amount=difference,
            text=f"They differ by {difference:.2f}: a debit was adjusted, or the tariff "
                 "or the reads changed after it was posted."))
    return Statement(connection_id=connection_id, period=str(period), days=days,
                     debits_total=debits, final_bill=final, prepaid_total=prepaid_total,
                     postpaid=postpaid, difference=difference,
                     equal=postpaid is not None and difference == 0,
                     explanation=" ".join(n.text for n in notes), notes=notes)
