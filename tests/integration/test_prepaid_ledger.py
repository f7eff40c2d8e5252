"""The prepaid ledger against the emulator (issue 24): entries applied once whatever
redelivers them or runs them at the same time, the balance is the ledger's sum, the
payment mode changes from a date, alerts once per threshold crossing, and supply
control respects the protected windows."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from functions.core.billing_rules.daily_debits import month_bounds
from functions.core.billing_rules.fixtures import DERC_DOMESTIC_2019_20
from functions.core.billing_rules.tariff import price_period
from functions.core.errors import Conflict, InvalidInput
from functions.core.money import to_paise
from functions.core.prepaid.models import RELAY_CONNECTED, RELAY_DISCONNECTED, PrepaidAccountRecord
from functions.core.prepaid.policy import ProtectedWindows
from functions.core.prepaid.service import OP_DISCONNECT, OP_RECONNECT, PrepaidService

# A Wednesday 11:00 IST: outside every protected window.
WEEKDAY_NOON = datetime(2026, 12, 2, 5, 30, tzinfo=UTC)


class RecordingSupply:
    """Stands in for the meter channel: records the commands and what the meter says."""

    def __init__(self, service: PrepaidService) -> None:
        self.sent: list[str] = []
        self.service = service

    def send(self, account: PrepaidAccountRecord, operation: str) -> str | None:
        self.sent.append(operation)
        relay = RELAY_DISCONNECTED if operation == OP_DISCONNECT else RELAY_CONNECTED
        self.service.accounts.update(account.connection_id,
                                     [PrepaidAccountRecord.relay.set(relay)])
        return f"cmd-{len(self.sent)}"

    def retry(self, account: PrepaidAccountRecord) -> None:
        raise AssertionError("no command is left pending here")


@pytest.fixture
def service(emulator) -> PrepaidService:
    return PrepaidService(clock=lambda: WEEKDAY_NOON)


def prepaid(service: PrepaidService, *, credit: int = 0, reference: int = 100000,
            from_day: date = date(2026, 12, 1)) -> str:
    connection = f"prp-{uuid.uuid4().hex[:10]}"
    service.set_mode("usr_admin", connection, "prepaid", from_day,
                     emergency_credit_paise=credit, monthly_reference_paise=reference)
    return connection


def balance(service: PrepaidService, connection: str) -> int:
    account = service.accounts.get(connection)
    assert account is not None
    assert int(account.balance_paise) == service.ledger.total(connection)  # balance == sum
    return int(account.balance_paise)


def test_a_recharge_delivered_twice_or_concurrently_credits_once(service):
    connection = prepaid(service)
    assert service.recharge(connection, "pay_A1", 50000) is True
    assert service.recharge(connection, "pay_A1", 50000) is False
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: service.recharge(connection, "pay_B2", 12345),
                                range(8)))
    assert results.count(True) == 1
    assert balance(service, connection) == 62345


def test_a_days_debit_posted_by_two_runs_is_taken_once(service):
    connection = prepaid(service)
    service.recharge(connection, "pay_C", 200000)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: service.post_daily_debit(
            connection, date(2026, 12, 1), [DERC_DOMESTIC_2019_20], "residential", 9,
            Decimal("3")), range(4)))
    assert results.count(True) == 1
    assert balance(service, connection) < 200000


def test_a_months_ledger_debits_equal_the_postpaid_bill(service):
    connection = prepaid(service)
    to_date = 0
    for day in range(1, 32):
        to_date += 7 + day % 5
        service.post_daily_debit(connection, date(2026, 12, day), [DERC_DOMESTIC_2019_20],
                                 "residential", to_date, Decimal("3"))
    first, last = month_bounds(date(2026, 12, 1))
    bill = price_period([DERC_DOMESTIC_2019_20], "residential", first, last, to_date,
                        Decimal("3"))
    assert -balance(service, connection) == to_paise(bill.total)


def test_payment_mode_changes_from_a_day_in_order(service):
    connection = prepaid(service, from_day=date(2027, 1, 1))
    # December is still postpaid: no debit; January is prepaid.
    assert not service.post_daily_debit(connection, date(2026, 12, 31),
                                        [DERC_DOMESTIC_2019_20], "residential", 5, Decimal(3))
    assert service.post_daily_debit(connection, date(2027, 1, 1), [DERC_DOMESTIC_2019_20],
                                    "residential", 5, Decimal(3))
    with pytest.raises(InvalidInput):  # before the 1st of last month: too far back
        service.set_mode("usr_admin", connection, "postpaid", date(2026, 10, 31))
    with pytest.raises(Conflict):
        service.set_mode("usr_admin", connection, "prepaid", date(2027, 2, 1))
    service.set_mode("usr_admin", connection, "postpaid", date(2027, 2, 1))
    assert not service.post_daily_debit(connection, date(2027, 2, 1),
                                        [DERC_DOMESTIC_2019_20], "residential", 5, Decimal(3))


def test_alerts_once_per_threshold_crossing(emulator):
    alerts: list[tuple[str, int]] = []
    service = PrepaidService(clock=lambda: WEEKDAY_NOON,
                             alert=lambda a, t, b: alerts.append((a.connection_id, t)))
    connection = prepaid(service, reference=100000)  # thresholds 300, 100 and 0 rupees
    service.recharge(connection, "pay_D", 50000)
    service.adjust("usr_admin", connection, "d1", -25000, "test debit")  # 250: below 30%
    service.adjust("usr_admin", connection, "d2", -1000, "test debit")  # 240: still below
    service.review(connection)  # looked at again: no new alert
    assert alerts == [(connection, 30)]
    service.adjust("usr_admin", connection, "d3", -24000, "test debit")  # 0: 10% and 0%
    assert alerts[1:] == [(connection, 10), (connection, 0)]
    service.recharge(connection, "pay_E", 100000)  # 1000: above every threshold, re-armed
    service.adjust("usr_admin", connection, "d4", -80000, "test debit")  # 200: below 30%
    assert alerts[3:] == [(connection, 30)]


def at_ist(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=UTC) - timedelta(hours=5, minutes=30)


@pytest.mark.parametrize("moment,credit,disputed,holidays,why", [
    (at_ist(2026, 12, 2, 19), 0, False, (), "19:00 IST"),
    (at_ist(2026, 12, 6, 11), 0, False, (), "a Sunday"),
    (at_ist(2026, 12, 25, 11), 0, False, (date(2026, 12, 25),), "a listed holiday"),
    (at_ist(2026, 12, 2, 11), 20000, False, (), "within emergency credit"),
    (at_ist(2026, 12, 2, 11), 0, True, (), "a disputed balance"),
])
def test_no_disconnection(emulator, moment, credit, disputed, holidays, why):
    service = PrepaidService(clock=lambda: moment,
                             windows=ProtectedWindows(holidays=frozenset(holidays)))
    supply = RecordingSupply(service)
    service.supply = supply
    connection = prepaid(service, credit=credit)
    if disputed:
        service.set_disputed(connection, True)
    service.adjust("usr_admin", connection, "d1", -15000, "a month of use")
    assert supply.sent == [], why
    assert service.accounts.get(connection).relay == RELAY_CONNECTED  # type: ignore[union-attr]


def test_disconnects_outside_the_windows_and_a_recharge_reconnects(service):
    supply = RecordingSupply(service)
    service.supply = supply
    connection = prepaid(service, credit=5000)
    service.adjust("usr_admin", connection, "d1", -4000, "use")  # within emergency credit
    assert supply.sent == []
    service.adjust("usr_admin", connection, "d2", -2000, "use")  # -60 < -50
    assert supply.sent == [OP_DISCONNECT]
    service.recharge(connection, "pay_F", 1500)  # -45: above minus the emergency credit
    assert supply.sent == [OP_DISCONNECT, OP_RECONNECT]


def test_the_ledger_lists_entries_newest_posted_first_across_kinds(emulator):
    # Entry keys sort by kind ("adjust#" < "debit#" < "recharge#"), not by time: the
    # statement must follow the time each entry was posted, page after page.
    moments = iter(WEEKDAY_NOON + timedelta(minutes=m) for m in range(100))
    service = PrepaidService(clock=lambda: next(moments))
    connection = prepaid(service)
    service.recharge(connection, "pay_Z9", 100000)
    service.post_daily_debit(connection, date(2026, 12, 1), [DERC_DOMESTIC_2019_20],
                             "residential", 9, Decimal("3"))
    service.adjust("usr_admin", connection, "goodwill", 500, "Meter fault")
    service.recharge(connection, "pay_A1", 25000)
    first = service.view(connection, limit=3)
    second = service.view(connection, cursor=first.next_cursor, limit=3)
    assert [e.kind for e in first.ledger + second.ledger] == [
        "recharge", "adjustment", "debit", "recharge"]
    assert first.ledger[0].amount == Decimal("250.00")
    # The facts behind each English explanation, for a page in another language.
    recharge, adjustment, debit, _ = first.ledger + second.ledger
    assert (recharge.payment_id, recharge.explanation) == ("pay_A1", "Recharge 250.00 (payment "
                                                                     "pay_A1)")
    assert debit.posted_before == Decimal("0.00") and debit.units_to_date == "9"
    assert debit.charge_to_date == -debit.amount and debit.payment_id is None
    assert (adjustment.explanation, adjustment.payment_id, adjustment.carried_balance) == \
        ("Meter fault", None, None)
    assert second.next_cursor is None
