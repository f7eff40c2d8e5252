"""Prepaid routes (issue 24): the customer's balance, ledger and recharge; the admin's
payment mode, adjustments and disputes. Rules live in functions/core/prepaid/."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from chalice import Blueprint

from functions.api.http import Access, route
from functions.core.accounts.sessions import Caller
from functions.core.billing_rules import BillingPeriod
from functions.core.billing_rules.errors import InvalidPeriod
from functions.core.clock import utcnow
from functions.core.daily.consumption import daily_consumption, visible_from
from functions.core.daily.cycle import (
    READ_TARGET_PERCENT,
    DailyCycle,
    daily_run_id,
    day_rate,
    ist_day,
)
from functions.core.errors import InvalidInput, NotFound
from functions.core.meters.commands import MeterCommands
from functions.core.meters.repositories import MeterRepository
from functions.core.money import from_paise
from functions.core.payments.schemas import OrderView
from functions.core.payments.service import PaymentService
from functions.core.prepaid.recharges import may_see, start_recharge
from functions.core.prepaid.repository import AccountRepository
from functions.core.prepaid.schemas import (
    Adjustment,
    AdjustmentResult,
    CommandList,
    CommandListItem,
    CommandLog,
    CommandsQuery,
    CommandView,
    DailyCycleStart,
    DailyRateView,
    DailySms,
    DailySmsView,
    DaysQuery,
    Disputed,
    LedgerQuery,
    ListQuery,
    MeterDays,
    MeterDayView,
    NegativeBalances,
    NegativeBalanceView,
    PrepaidView,
    Recharge,
    SetMode,
)
from functions.core.prepaid.service import PrepaidService
from functions.core.prepaid.statement import Statement, month_statement
from functions.core.properties.repositories import PropertyRepository

bp = Blueprint(__name__)


@route(bp, "/prepaid/{connection_id}", access=Access.USER, query=LedgerQuery,
       response=PrepaidView,
       summary="A prepaid connection: balance, days left at the recent rate, this and last "
               "month's daily debits, and the ledger (newest first, paginated)")
def prepaid_view(connection_id: str, caller: Caller, query: LedgerQuery) -> PrepaidView:
    if not may_see(caller, connection_id):
        raise NotFound("No such connection.")
    return PrepaidService.default().view(connection_id, query.cursor, query.limit)


@route(bp, "/prepaid/{connection_id}/recharge", methods=["POST"], access=Access.CUSTOMER,
       body=Recharge, response=OrderView, status=201,
       summary="Start a recharge: a gateway order for the amount (from the configured "
               "minimum) and the page that opens the checkout; the webhook credits it once")
def recharge(connection_id: str, caller: Caller, body: Recharge) -> OrderView:
    return start_recharge(PaymentService.default(), caller, connection_id, body.amount_paise,
                          body.method)


@route(bp, "/prepaid/{connection_id}/statements/{period}", access=Access.USER,
       response=Statement,
       summary="A month's statement (period YYYY-MM): the daily debits beside the postpaid "
               "bill the same consumption and tariff give (its line items), and whether "
               "they are equal to the paisa (a mid-month mode change is explained)")
def statement(connection_id: str, period: str, caller: Caller) -> Statement:
    if not may_see(caller, connection_id):
        raise NotFound("No such connection.")
    try:
        month = BillingPeriod.parse(period)
    except InvalidPeriod:
        raise InvalidInput("The period is YYYY-MM.") from None
    return month_statement(connection_id, month)


@route(bp, "/prepaid/{connection_id}/daily-sms", methods=["PUT"], access=Access.CUSTOMER,
       body=DailySms, response=DailySmsView,
       summary="Switch the daily balance SMS of a prepaid connection on or off (sent once "
               "a day after the day's debit, with the balance and the day's charge)")
def daily_sms(connection_id: str, caller: Caller, body: DailySms) -> DailySmsView:
    if not may_see(caller, connection_id):
        raise NotFound("No such connection.")
    account = PrepaidService().set_daily_sms(connection_id, body.enabled)
    return DailySmsView(connection_id=connection_id, daily_sms=bool(account.daily_sms))


@route(bp, "/admin/prepaid/{connection_id}/mode", methods=["PUT"], access=Access.ADMIN,
       body=SetMode, response=PrepaidView,
       summary="Change a connection's payment mode from a day (from the 1st of last month "
               "on, one change a month), settling the mode it leaves: a final postpaid bill "
               "up to the day before, or the prepaid balance carried to the postpaid "
               "account; the same change sent again is applied once (409 if the connection "
               "is in that mode from another day, or the day's opening read is missing)")
def set_mode(connection_id: str, caller: Caller, body: SetMode) -> PrepaidView:
    # A connection is a registered property: a mistyped id must not make an account.
    if PropertyRepository().get(connection_id) is None:
        raise NotFound("No such connection.")
    service = PrepaidService.default()
    service.set_mode(caller.user_id, connection_id, body.mode, body.from_date,
                     emergency_credit_paise=body.emergency_credit_paise,
                     monthly_reference_paise=body.monthly_reference_paise)
    return service.view(connection_id)


@route(bp, "/admin/prepaid/{connection_id}/adjustments", methods=["POST"],
       access=Access.ADMIN, body=Adjustment, response=AdjustmentResult, status=201,
       summary="Add an adjustment to a prepaid ledger (once per key)")
def adjust(connection_id: str, caller: Caller, body: Adjustment) -> AdjustmentResult:
    service = PrepaidService.default()
    applied = service.adjust(caller.user_id, connection_id, body.key, body.amount_paise,
                             body.reason)
    return AdjustmentResult(applied=applied,
                            balance_paise=service.view(connection_id, limit=1).balance_paise)


@route(bp, "/admin/prepaid/{connection_id}/dispute", methods=["PUT"], access=Access.ADMIN,
       body=Disputed, response=PrepaidView,
       summary="Mark the balance disputed (no disconnection while it is) or settled")
def dispute(connection_id: str, caller: Caller, body: Disputed) -> PrepaidView:
    service = PrepaidService.default()
    service.set_disputed(connection_id, body.disputed)
    return service.view(connection_id)


# ---- daily reads (functions/core/daily) -------------------------------------------------


@route(bp, "/admin/daily-reads", methods=["POST"], access=Access.ADMIN,
       body=DailyCycleStart, response=DailyRateView, status=202,
       summary="Start (or restart: only meters not read yet are asked) the daily read cycle "
               "of a day, on the billing runs' sharded fan-out")
def start_daily_reads(caller: Caller, body: DailyCycleStart) -> DailyRateView:
    DailyCycle().start(body.day)
    return _rate_view(body.day)


@route(bp, "/admin/daily-reads/{day}", access=Access.ADMIN, response=DailyRateView,
       summary="The share of meters read for a day (target: 99% by 06:00 IST)")
def daily_read_rate(day: str, caller: Caller) -> DailyRateView:
    return _rate_view(_day(day))


@route(bp, "/meters/{meter_id}/days", access=Access.USER, query=DaysQuery,
       response=MeterDays,
       summary="A meter's daily reads and kWh per day over a range of IST days (from/to, at "
               "most 400; or the last `days`), oldest first: the consumption chart")
def meter_days(meter_id: str, caller: Caller, query: DaysQuery) -> MeterDays:
    meter = MeterRepository().get(meter_id, consistent=False)
    if meter is None:
        raise NotFound("No such meter.")
    since = visible_from(caller, meter)  # the owner's, or the tenant's from move-in
    first, last = query.range(ist_day(utcnow()))
    return MeterDays(meter_id=meter_id, from_day=first.isoformat(), to_day=last.isoformat(),
                     days=[MeterDayView(day=d.day, units=None if d.units is None else
                                        int(d.units), import_wh=int(d.import_wh),
                                        export_wh=int(d.export_wh), import_kwh=imported,
                                        export_kwh=exported, source=d.source)
                           for d, imported, exported in
                           daily_consumption(meter, first, last, since)])


@route(bp, "/admin/meters/{meter_id}/commands", access=Access.ADMIN, response=CommandLog,
       summary="A meter's relay commands (disconnect, reconnect), newest first, with their "
               "acknowledgement state")
def command_log(meter_id: str, caller: Caller) -> CommandLog:
    return CommandLog(meter_id=meter_id, commands=[
        CommandView(command_id=c.command_id, operation=c.operation, status=c.status,
                    issued_at=c.issued_at, attempts=int(c.attempts), relay=c.relay,
                    last_error=c.last_error)
        for c in MeterCommands().log(meter_id)])


@route(bp, "/admin/negative-balances", access=Access.ADMIN, query=ListQuery,
       response=NegativeBalances,
       summary="Prepaid connections with a balance below 0, most negative first, with "
               "each meter's relay state; at most 30 a page")
def negative_balances(caller: Caller, query: ListQuery) -> NegativeBalances:
    page = AccountRepository().negatives(query.cursor, query.limit)
    return NegativeBalances(cursor=page.cursor, connections=[
        NegativeBalanceView(connection_id=a.connection_id, meter_id=a.meter_id,
                            balance=from_paise(int(a.balance_paise)),
                            balance_paise=int(a.balance_paise),
                            emergency_credit=from_paise(int(a.emergency_credit_paise)),
                            relay=a.relay, pending_command=a.pending_command,
                            disputed=bool(a.disputed))
        for a in page.items])


@route(bp, "/admin/relay-commands", access=Access.ADMIN, query=CommandsQuery,
       response=CommandList,
       summary="Relay commands by state: pending (not acknowledged yet, soonest next "
               "attempt first), acked or failed (newest first); paginated, up to 30 a page")
def relay_commands(caller: Caller, query: CommandsQuery) -> CommandList:
    page = MeterCommands().page(query.state, query.cursor, query.limit)
    return CommandList(state=query.state, cursor=page.cursor, commands=[
        CommandListItem(command_id=c.command_id, operation=c.operation, status=c.status,
                        issued_at=c.issued_at, attempts=int(c.attempts), relay=c.relay,
                        last_error=c.last_error, meter_id=c.meter_id,
                        connection_id=c.connection_id,
                        state_at=(c.state_at or "").split("#", 1)[0])
        for c in page.items])


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("The day is YYYY-MM-DD.") from None


def _rate_view(day: date) -> DailyRateView:
    rate = day_rate(day)
    by_target = _percent(rate.read_by_target, rate.meters_total)
    return DailyRateView(day=rate.day, run_id=daily_run_id(day), meters_total=rate.meters_total,
                         read=rate.read, share_read_percent=_percent(rate.read, rate.meters_total),
                         read_by_target=rate.read_by_target,
                         share_by_target_percent=by_target, target_percent=READ_TARGET_PERCENT,
                         # exact, not the rounded share: 98.995% is not 99%
                         target_met=rate.meters_total > 0 and rate.read_by_target * 100
                         >= READ_TARGET_PERCENT * rate.meters_total)


def _percent(part: int, whole: int) -> Decimal:
    return (Decimal(part * 100) / whole).quantize(Decimal("0.01")) if whole else Decimal("0.00")
