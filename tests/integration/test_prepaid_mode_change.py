"""A payment-mode change from any day (issue 24 items 2-3) on the emulator: to prepaid
mid-month issues a final postpaid bill up to the day before and the debits start from
the day, together equal to the month's postpaid bill to the paisa; to postpaid carries
the balance; a retried change is applied once; the month's statement shows the debits
beside the postpaid bill of the same consumption."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from functions.core.billing_rules import BillingPeriod
from functions.core.billing_rules.tariff import price_period
from functions.core.bills.daily_read import bill_from_meter_day
from functions.core.bills.models import BillRecord
from functions.core.bills.service import BillingService
from functions.core.clock import utcnow
from functions.core.daily.models import MeterDayRecord
from functions.core.errors import Conflict
from functions.core.money import from_paise, to_paise
from functions.core.prepaid.daily import month_to_date
from functions.core.prepaid.service import PrepaidService
from functions.core.prepaid.settlement import postpaid_part, with_lines
from functions.core.prepaid.statement import month_statement
from functions.core.properties.models import PropertyRecord
from functions.core.properties.repositories import PropertyRepository
from functions.core.tariffs.repository import TariffRepository
from tests.integration.billing_support import (
    a_meter,
    a_property,
    ensure_reference_tariffs,
    retire,
    stored_reading,
)

DECEMBER = BillingPeriod(2026, 12)
# 20 December 2026, 11:00 IST: a weekday, outside every protected window.
NOW = datetime(2026, 12, 20, 5, 30, tzinfo=UTC)
LOAD = Decimal("3")


def daily_kwh(day: date) -> int:
    return 9 + day.day % 5  # a month of 333 kWh: into the DERC slabs' third band


def register_wh(day: date) -> int:
    """The meter's import register at the close of `day` (4,000 kWh on 30 Nov)."""
    used = sum(daily_kwh(date(2026, 12, n)) for n in range(1, day.day + 1)) \
        if day.month == 12 else 0
    return 4_000_000 + used * 1000


def write_days(meter_id: str, first: date, last: date) -> None:
    with MeterDayRecord.batch_write() as batch:
        while first <= last:
            batch.save(MeterDayRecord(meter_id, first.isoformat(), import_wh=register_wh(first),
                                      read_at=NOW, received_at=NOW))
            first += timedelta(days=1)


def connection_with_days(owner_id: str, last: date) -> tuple[str, str]:
    """A residential 3 kW connection whose meter read every day from 30 Nov to `last`."""
    connection, meter_id = f"prop-{uuid.uuid4().hex[:12]}", f"mtr-{uuid.uuid4().hex[:12]}"
    PropertyRecord(property_id=connection, owner_id=owner_id, line1="9 Switch Road",
                   city="Pune", state="MH", pincode="411001", category="residential",
                   sanctioned_load_kw=str(LOAD), meter_id=meter_id, created_at=utcnow()).save()
    write_days(meter_id, date(2026, 11, 30), last)
    return connection, meter_id


def versions():
    return [r.version() for r in TariffRepository().of_category("residential")]


def debit_days(service: PrepaidService, connection: str, meter_id: str, first: int,
               last: int) -> None:
    tariffs = versions()
    for n in range(first, last + 1):
        measured = month_to_date(meter_id, date(2026, 12, n))
        service.post_daily_debit(connection, measured.day, tariffs, "residential",
                                 measured.units, LOAD, usage=measured.usage)


def december_bill() -> Decimal:
    units = sum(daily_kwh(date(2026, 12, n)) for n in range(1, 32))
    return price_period(versions(), "residential", DECEMBER.first_day, DECEMBER.last_day,
                        units, LOAD).total


@pytest.fixture
def service(stack, admin) -> PrepaidService:
    ensure_reference_tariffs(admin[1])
    return PrepaidService(clock=lambda: NOW)


def test_to_prepaid_mid_month_final_bill_and_debits_make_the_months_bill(service, customer):
    user, client = customer
    connection, meter_id = connection_with_days(user.user_id, date(2026, 12, 8))
    # The day's opening read (latched 00:00 IST on 10 Dec) is not in yet: refused, named.
    with pytest.raises(Conflict, match="2026-12-09"):
        service.set_mode("usr_admin", connection, "prepaid", date(2026, 12, 10))
    write_days(meter_id, date(2026, 12, 9), date(2026, 12, 31))

    # Sent twice (a retried request): one final bill, one change in the history.
    for _ in range(2):
        account = service.set_mode("usr_admin", connection, "prepaid", date(2026, 12, 10),
                                   monthly_reference_paise=150000)
    assert [c["from"] for c in account.mode_history] == ["2026-12-10"]
    final = BillRecord.get(account.mode_history[0]["final_bill_id"])
    assert (final.share_first_day, final.share_last_day, final.days_fraction) == \
        ("2026-12-01", "2026-12-09", "9/31")
    assert int(final.units) == sum(daily_kwh(date(2026, 12, n)) for n in range(1, 10))
    # Nothing debited before the day the mode changed.
    assert not service.post_daily_debit(connection, date(2026, 12, 9), versions(),
                                        "residential", 1, LOAD)

    debit_days(service, connection, meter_id, 10, 31)
    debits = -service.ledger.total(connection)
    assert int(final.total_paise) + debits == to_paise(december_bill())  # to the paisa

    response = client.get(f"/prepaid/{connection}/statements/2026-12")
    assert response.status_code == 200, response.text
    statement = response.json()
    assert statement["equal"] is True and statement["difference"] == "0.00"
    assert len(statement["days"]) == 22 and statement["final_bill"]["last_day"] == "2026-12-09"
    assert Decimal(statement["prepaid_total"]) == Decimal(statement["postpaid"]["total"]) \
        == december_bill()
    assert {line["kind"] for line in statement["postpaid"]["lines"]} >= {"energy", "fixed"}
    assert "final bill" in statement["explanation"]
    [note] = [n for n in statement["notes"] if n["code"] == "final_bill"]
    assert (note["day"], note["bill_id"]) == ("2026-12-09", statement["final_bill"]["bill_id"])
    view = client.get(f"/prepaid/{connection}").json()
    assert view["mode_history"][0]["final_bill_id"] == final.bill_id


def test_to_postpaid_carries_the_balance_once_and_the_bill_covers_only_from_the_day(
        service, customer):
    user, _ = customer
    connection, meter_id = connection_with_days(user.user_id, date(2026, 12, 31))
    service.set_mode("usr_admin", connection, "prepaid", date(2026, 12, 1))
    service.recharge(connection, "pay_switch_" + uuid.uuid4().hex[:8], 300000)
    debit_days(service, connection, meter_id, 1, 14)  # the 15th: the change posts it

    for _ in range(2):  # a retried request carries once
        account = service.set_mode("usr_admin", connection, "postpaid", date(2026, 12, 16))
    change = account.mode_history[-1]
    debits = [e for e in service.ledger.with_prefix(connection, "debit#2026-12-")]
    assert [e.day for e in debits][-1] == "2026-12-15"
    assert change["debits_paise"] == -sum(int(e.amount_paise) for e in debits)
    assert change["carried_paise"] == 300000 - change["debits_paise"] > 0
    assert int(account.balance_paise) == 0 == service.ledger.total(connection)
    assert len(account.mode_history) == 2 and account.mode == "postpaid"
    with pytest.raises(Conflict, match="only one change in a month"):
        service.set_mode("usr_admin", connection, "prepaid", date(2026, 12, 20))

    # The billing run's bill of December: the whole month's consumption, less the
    # prepaid debits (so it charges only from the 16th) and the balance carried.
    part = postpaid_part(account, DECEMBER)
    assert part is not None and not part.skip and part.opening_day == date(2026, 11, 30)
    bill = with_lines(price_period(versions(), "residential", DECEMBER.first_day,
                                   DECEMBER.last_day, month_to_date(meter_id, DECEMBER.last_day)
                                   .units, LOAD), part.lines)
    assert to_paise(bill.total) == to_paise(december_bill()) - 300000
    statement = month_statement(connection, DECEMBER)
    assert statement.equal and "Postpaid from 2026-12-16" in statement.explanation
    assert [(n.code, n.day) for n in statement.notes] == [
        ("to_postpaid", "2026-12-16"), ("equal", "2026-12-15")]
    assert statement.notes[0].amount == from_paise(change["debits_paise"])
    [carried] = [e for e in service.view(connection, limit=100).ledger if e.carried_balance]
    assert to_paise(carried.carried_balance) == change["carried_paise"]
    assert carried.day == "2026-12-16"


def test_the_billing_run_skips_a_prepaid_month_and_bills_a_switch_month_from_its_start(
        service, customer):
    """The billing function's own path (a run's reading of December): a month prepaid to
    its end is not billed postpaid; a month left for postpaid on the 16th is billed from
    the month's opening read, less the prepaid debits and the balance carried."""
    owner = customer[0]
    meters = [a_meter(a_property(owner)) for _ in range(2)]
    try:
        props = [PropertyRepository().get(m.property_id or "") for m in meters]
        assert props[0] is not None
        for meter in meters:
            write_days(meter.meter_id, date(2026, 11, 30), date(2026, 12, 31))
        kept, left = (p.property_id for p in props if p is not None)
        for connection in (kept, left):
            service.set_mode("usr_admin", connection, "prepaid", date(2026, 12, 1))
        service.recharge(left, "pay_left_" + uuid.uuid4().hex[:8], 300000)
        debit_days(service, left, meters[1].meter_id, 1, 14)
        change = service.set_mode("usr_admin", left, "postpaid", date(2026, 12, 16)) \
            .mode_history[-1]

        latch = DECEMBER.end_utc  # 00:00 IST on 1 January 2027
        readings = [stored_reading(m, "2026-12", register_wh(date(2026, 12, 31)), latch)
                    for m in meters]
        batch = BillingService(clock=lambda: latch + timedelta(hours=2)).start_batch(readings)
        verdicts = [batch.bill(r) for r in readings]
        batch.finish()
        assert (verdicts[0].status, verdicts[0].reason) == ("rejected", "prepaid")
        # Nor from its meter-day when the run closes with the meter silent.
        day = MeterDayRecord.get(meters[0].meter_id, "2026-12-31")
        assert bill_from_meter_day(BillingService(), meters[0], props[0], "2026-12", DECEMBER,
                                   day).outcome == "prepaid"
        assert verdicts[1].status == "accepted", verdicts[1].detail
        bill = verdicts[1].bills[0]
        assert int(bill.units) == sum(daily_kwh(date(2026, 12, n)) for n in range(1, 32))
        assert [line.label for line in bill.line_items if line.kind == "credit"] == [
            "Prepaid daily debits 01 Dec-15 Dec", "Prepaid balance carried to this account"]
        charges = to_paise(december_bill()) - change["debits_paise"] - change["carried_paise"]
        assert int(bill.charges_paise) == charges  # the month's bill from the 16th, less the credit
    finally:
        retire(meters)
