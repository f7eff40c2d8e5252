"""Prepaid rules: payment mode, recharges, daily debits, alerts, supply control.

Every change of the balance is a ledger entry (repository.LedgerRepository.append:
once per key). After an entry is applied the account is looked at again: a
low-balance threshold newly crossed alerts once (a conditional claim per
threshold, re-armed when the balance goes back above it), and the relay policy
(policy.py) may send a disconnect or a reconnect command (commands.py)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from functions.core.billing_rules.daily_debits import daily_debit
from functions.core.billing_rules.tariff import TariffVersion, Usage
from functions.core.clock import IST, utcnow
from functions.core.errors import Conflict, InvalidInput, NotFound
from functions.core.money import from_paise, sum_money, to_paise
from functions.core.prepaid.models import (
    ENTRY_ADJUSTMENT,
    ENTRY_DEBIT,
    ENTRY_RECHARGE,
    MODE_POSTPAID,
    MODE_PREPAID,
    RELAY_CONNECTED,
    RELAY_DISCONNECTED,
    LedgerEntryRecord,
    PrepaidAccountRecord,
)
from functions.core.prepaid.policy import (
    DEFAULT_THRESHOLDS,
    ProtectedWindows,
    disconnect_decision,
    may_reconnect,
    thresholds_below,
)
from functions.core.prepaid.repository import AccountRepository, LedgerRepository
from functions.core.prepaid.schemas import DailyPoint, LedgerEntryView, ModeChange, PrepaidView

logger = logging.getLogger(__name__)

OP_DISCONNECT = "disconnect"
OP_RECONNECT = "reconnect"


class SupplyControl(Protocol):
    """Sends a signed relay command to the connection's meter; returns its id."""

    def send(self, account: PrepaidAccountRecord, operation: str) -> str | None: ...

    def retry(self, account: PrepaidAccountRecord) -> None: ...


Alert = Callable[[PrepaidAccountRecord, int, int], None]  # account, threshold %, balance
# The daily balance SMS: account (after the debit), day, the day's charge in paise.
DailyNotice = Callable[[PrepaidAccountRecord, date, int], object]
# A debit posted late (a meter that answered days later, a backfill) sends no stale
# balance SMS: only the debits of the last two days do.
DAILY_NOTICE_MAX_AGE = timedelta(days=2)


CARRY_PREFIX = "carry#"  # the balance carried to the postpaid account (_carry)


def debit_key(day: date) -> str:
    return f"{ENTRY_DEBIT}#{day.isoformat()}"


def recharge_key(payment_id: str) -> str:
    return f"{ENTRY_RECHARGE}#{payment_id}"


def _no_alert(account: PrepaidAccountRecord, threshold: int, balance: int) -> None:
    logger.info("low balance", extra={"connection_id": account.connection_id,
                                      "threshold": threshold, "balance_paise": balance})


@dataclass
class PrepaidService:
    accounts: AccountRepository = field(default_factory=AccountRepository)
    ledger: LedgerRepository = field(default_factory=LedgerRepository)
    alert: Alert = _no_alert
    daily_notice: DailyNotice | None = None
    supply: SupplyControl | None = None
    windows: ProtectedWindows = field(default_factory=ProtectedWindows)
    thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def default(cls) -> PrepaidService:
        """Wired to the meters: relay commands go out over the meter channel."""
        from functions.core.prepaid.notices import daily_balance_notice, low_balance_alert
        from functions.core.prepaid.supply import MeterSupply

        service = cls(alert=low_balance_alert, daily_notice=daily_balance_notice)
        service.supply = MeterSupply(service.accounts, after_ack=service.review)
        return service

    # ---- payment mode --------------------------------------------------------------

    def set_mode(self, admin_id: str, connection_id: str, mode: str, from_day: date, *,
                 payer_id: str | None = None, meter_id: str | None = None,
                 emergency_credit_paise: int | None = None,
                 monthly_reference_paise: int | None = None) -> PrepaidAccountRecord:
        """Change the payment mode from any day D, settling the mode it leaves
        (settlement.py): to prepaid, a final postpaid bill up to D-1 (none on the 1st:
        the previous month's bill is it); to postpaid, the debits up to D-1 and the
        balance carried to the postpaid account. D is from the 1st of last month (IST)
        on, one change a month; a day whose opening read is not in is refused (409).
        The same change sent again is applied once (each step is keyed)."""
        from functions.core.prepaid import settlement

        if mode not in (MODE_POSTPAID, MODE_PREPAID):
            raise InvalidInput("The payment mode is postpaid or prepaid.")
        today = self.clock().astimezone(IST).date()
        earliest = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        if not earliest <= from_day <= today + timedelta(days=366):
            raise InvalidInput(f"A payment mode changes from a day between {earliest} (the "
                               "1st of last month) and a year from today.")
        account = self.accounts.ensure(connection_id)
        history = list(account.mode_history or [])
        repeat = bool(history) and history[-1]["mode"] == mode \
            and history[-1]["from"] == from_day.isoformat()
        if account.mode == mode and not repeat:
            raise Conflict(f"This connection is {mode} already.")
        earlier = history[:-1] if repeat else history
        last_from = date.fromisoformat(earlier[-1]["from"]) if earlier else None
        if last_from is not None and (from_day <= last_from or (
                last_from.day != 1 and last_from.strftime("%Y-%m") == f"{from_day:%Y-%m}")):
            raise Conflict(f"The mode last changed from {last_from}: a later day, and only "
                           "one change in a month after its 1st.")
        change: dict[str, Any] = {"mode": mode, "from": from_day.isoformat(), "by": admin_id,
                                  "at": self.clock().isoformat()}
        prop = None
        if from_day.day != 1 or mode == MODE_POSTPAID:
            from functions.core.properties.repositories import PropertyRepository

            prop = PropertyRepository().get(connection_id)
        if mode == MODE_PREPAID and from_day.day != 1:
            if prop is None:
                raise NotFound("No such connection.")
            final = settlement.settle_postpaid(prop, from_day, self.clock())
            change.update(final_bill_id=final.bill_id, settled_paise=final.charged_paise,
                          settled_units=final.units)
        elif mode == MODE_POSTPAID:
            settlement.close_prepaid(connection_id, prop.meter_id if prop else None, from_day)
            month = f"{ENTRY_DEBIT}#{from_day.replace(day=1) - timedelta(days=1):%Y-%m}-" \
                if from_day.day == 1 else f"{ENTRY_DEBIT}#{from_day:%Y-%m}-"
            change["debits_paise"] = 0 if from_day.day == 1 else -sum(
                int(e.amount_paise) for e in self.ledger.with_prefix(connection_id, month)
                if e.entry_key < debit_key(from_day))
            change["carried_paise"] = self._carry(admin_id, connection_id, from_day)
        if repeat:  # applied before: its steps found done, the history already says so
            return self._changed(connection_id)
        now = self.clock()
        actions: list[Any] = [PrepaidAccountRecord.mode.set(mode),
                              PrepaidAccountRecord.mode_from.set(from_day.isoformat()),
                              PrepaidAccountRecord.mode_history.set([*history, change]),
                              PrepaidAccountRecord.updated_at.set(now)]
        if payer_id is not None:
            actions.append(PrepaidAccountRecord.payer_id.set(payer_id))
        meter_id = meter_id or (prop.meter_id if prop is not None else None)
        if meter_id is not None:
            actions.append(PrepaidAccountRecord.meter_id.set(meter_id))
        if emergency_credit_paise is not None:
            actions.append(PrepaidAccountRecord.emergency_credit_paise.set(
                _non_negative(emergency_credit_paise, "emergency credit")))
        if monthly_reference_paise is not None:
            actions.append(PrepaidAccountRecord.monthly_reference_paise.set(
                _non_negative(monthly_reference_paise, "monthly reference")))
        # Two admins at once: the second sees the mode changed under it.
        if not self.accounts.update(connection_id, actions,
                                    PrepaidAccountRecord.mode == account.mode):
            raise Conflict("The payment mode was changed meanwhile; look again.")
        return self._changed(connection_id)

    def _changed(self, connection_id: str) -> PrepaidAccountRecord:
        """The account after a change of mode; turned postpaid, its meter is reconnected
        if the prepaid side had disconnected it (a retried change tries again)."""
        account = self._account(connection_id)
        if account.mode == MODE_POSTPAID:
            self._control_supply(account)
        return account

    def _carry(self, admin_id: str, connection_id: str, from_day: date) -> int:
        """Bring the balance to 0 with one entry keyed by the day (a credit left goes to
        the postpaid account, a debt becomes its charge); the paise carried."""
        key = f"{CARRY_PREFIX}{from_day.isoformat()}"
        done = self.ledger.get(connection_id, key)
        if done is not None:
            return -int(done.amount_paise)
        account = self._account(connection_id)
        balance = int(account.balance_paise)
        if balance:  # no review: a postpaid account gets no low-balance alert for it
            self.ledger.append(LedgerEntryRecord(
                connection_id=connection_id, entry_key=key, kind=ENTRY_ADJUSTMENT,
                amount_paise=-balance, day=from_day.isoformat(), created_at=self.clock(),
                created_by=admin_id,
                explanation=f"Balance {from_paise(balance)} carried to the postpaid account "
                            f"from {from_day:%d %b %Y}"), self.clock())
        return balance

    def mode_on(self, account: PrepaidAccountRecord, day: date) -> str:
        from functions.core.prepaid.settlement import mode_on

        return mode_on(account, day)

    def set_disputed(self, connection_id: str, disputed: bool) -> PrepaidAccountRecord:
        """A ticket disputing the balance opened (True) or closed (False)."""
        self._account(connection_id)
        self.accounts.update(connection_id, [PrepaidAccountRecord.disputed.set(disputed)])
        return self.review(connection_id)

    # ---- ledger entries ----------------------------------------------------------

    def recharge(self, connection_id: str, payment_id: str, amount_paise: int,
                 paid_at: datetime | None = None) -> bool:
        """Credit a captured payment once (False: this payment was credited already)."""
        if amount_paise <= 0:
            raise InvalidInput("A recharge must be for a positive amount.")
        account = self._account(connection_id)
        now = self.clock()
        entry = LedgerEntryRecord(
            connection_id=connection_id, entry_key=recharge_key(payment_id),
            kind=ENTRY_RECHARGE, amount_paise=amount_paise, payment_id=payment_id,
            day=(paid_at or now).astimezone(IST).date().isoformat(), created_at=now,
            explanation=f"Recharge {from_paise(amount_paise)} (payment {payment_id})")
        return self._apply(account, entry)

    def adjust(self, admin_id: str, connection_id: str, key: str, amount_paise: int,
               reason: str) -> bool:
        if not reason.strip():
            raise InvalidInput("An adjustment needs a reason.")
        account = self._account(connection_id)
        now = self.clock()
        entry = LedgerEntryRecord(
            connection_id=connection_id, entry_key=f"adjust#{key}", kind=ENTRY_ADJUSTMENT,
            amount_paise=amount_paise, day=now.astimezone(IST).date().isoformat(),
            created_at=now, created_by=admin_id, explanation=reason.strip()[:200])
        return self._apply(account, entry)

    def post_daily_debit(self, connection_id: str, day: date,
                         versions: Iterable[TariffVersion], category: str,
                         units_to_date: int | Decimal, sanctioned_load_kw: Decimal, *,
                         usage: Usage | None = None) -> bool:
        """Debit `day` once: the month-to-date charge less this month's debits so far
        (billing_rules/daily_debits.py). False: not prepaid that day, or posted already."""
        account = self._account(connection_id)
        if self.mode_on(account, day) != MODE_PREPAID:
            return False
        posted_before = self.ledger.get(connection_id, debit_key(day))
        if posted_before is not None:
            # The first run may have died before its SMS: the outbox key makes it once.
            self._daily_notice(account, day, -int(posted_before.amount_paise))
            return False
        month_prefix = f"{ENTRY_DEBIT}#{day:%Y-%m}-"
        posted = [e for e in self.ledger.with_prefix(connection_id, month_prefix)
                  if e.entry_key < debit_key(day)]
        # A change to prepaid inside the month: its final postpaid bill charged the days
        # before it, so the debits start from there (prepaid/settlement.py).
        from functions.core.prepaid.settlement import settled_before

        settled = from_paise(settled_before(account, day))
        debit = daily_debit(versions, category, day, units_to_date, sanctioned_load_kw,
                            settled + sum_money(from_paise(-int(e.amount_paise))
                                                for e in posted), usage=usage)
        entry = LedgerEntryRecord(
            connection_id=connection_id, entry_key=debit_key(day), kind=ENTRY_DEBIT,
            amount_paise=-to_paise(debit.amount), day=day.isoformat(),
            created_at=self.clock(), explanation=debit.explanation,
            charge_to_date_paise=to_paise(debit.charge_to_date),
            units_to_date=str(debit.units_to_date))
        applied = self._apply(account, entry)
        self._daily_notice(account, day, -int(entry.amount_paise))
        return applied

    def _daily_notice(self, account: PrepaidAccountRecord, day: date, charge: int) -> None:
        """The daily balance SMS, for connections whose payer switched it on: it rides
        on the meter's own debit (no fleet-wide loop), once per connection and day."""
        if self.daily_notice is None or not account.daily_sms:
            return
        if day < self.clock().astimezone(IST).date() - DAILY_NOTICE_MAX_AGE:
            return
        self.daily_notice(self._account(account.connection_id), day, charge)

    def set_daily_sms(self, connection_id: str, enabled: bool) -> PrepaidAccountRecord:
        """The payer's daily balance SMS for a prepaid connection, on or off."""
        account = self.accounts.get(connection_id)
        if account is None or account.mode != MODE_PREPAID:
            raise NotFound("This connection is not prepaid.")
        self.accounts.update(connection_id, [PrepaidAccountRecord.daily_sms.set(enabled)])
        return self._account(connection_id)

    # ---- what the customer sees -----------------------------------------------------

    def view(self, connection_id: str, cursor: str | None = None, limit: int = 50
             ) -> PrepaidView:
        # A connection never made prepaid is postpaid with an empty ledger (not a 404).
        account = self.accounts.get(connection_id) or PrepaidAccountRecord(
            connection_id=connection_id)
        page = self.ledger.page(connection_id, cursor, limit)
        # Key order puts adjustments before debits before recharges: the chart and the
        # rate read the month's debits by key prefix instead (at most 62 items).
        today = self.clock().astimezone(IST).date()
        last_month = (today.replace(day=1) - timedelta(days=1))
        debits = [*self.ledger.with_prefix(connection_id, f"{ENTRY_DEBIT}#{last_month:%Y-%m}-"),
                  *self.ledger.with_prefix(connection_id, f"{ENTRY_DEBIT}#{today:%Y-%m}-")]
        recent = [-int(e.amount_paise) for e in debits[-7:]]
        average = sum(recent) // len(recent) if recent else 0
        balance = int(account.balance_paise)
        headroom = balance + int(account.emergency_credit_paise)
        days_left = None if average <= 0 else max(0, headroom // average)
        return PrepaidView(
            connection_id=connection_id, mode=account.mode, mode_from=account.mode_from,
            balance=from_paise(balance), balance_paise=balance,
            emergency_credit=from_paise(int(account.emergency_credit_paise)),
            relay=account.relay, disputed=bool(account.disputed),
            average_daily_debit=from_paise(average), days_left=days_left,
            min_recharge=from_paise(min_recharge_paise()),
            ledger=[entry_view(e) for e in page.items], next_cursor=page.cursor,
            daily=[DailyPoint(day=e.day, debit=from_paise(-int(e.amount_paise)))
                   for e in debits[-31:]], daily_sms=bool(account.daily_sms),
            mode_history=[ModeChange(from_day=c["from"], **{
                k: v for k, v in c.items() if k != "from" and k in ModeChange.model_fields})
                for c in account.mode_history or []])

    # ---- after each entry ----------------------------------------------------------

    def _apply(self, account: PrepaidAccountRecord, entry: LedgerEntryRecord) -> bool:
        applied = self.ledger.append(entry, self.clock())
        logger.info("ledger entry", extra={"connection_id": entry.connection_id,
                                           "entry_key": entry.entry_key, "applied": applied})
        # A repeat still looks again: the first delivery may have died before it did.
        self.review(entry.connection_id)
        return applied

    def review(self, connection_id: str) -> PrepaidAccountRecord:
        """Alerts for thresholds newly crossed, and the relay policy, on today's balance."""
        account = self._account(connection_id)
        balance = int(account.balance_paise)
        below = thresholds_below(balance, int(account.monthly_reference_paise),
                                 self.thresholds)
        alerted = set(int(t) for t in (account.alerted or set()))
        self.accounts.rearm(connection_id, alerted - below)
        if balance >= 0 and account.negative_shard:  # back in credit: off the admin's list
            self.accounts.leave_negatives(connection_id)
        if account.mode == MODE_PREPAID:  # a postpaid account's balance warns nobody
            for threshold in sorted(below - alerted, reverse=True):
                if self.accounts.mark_alerted(connection_id, threshold):
                    self.alert(account, threshold, balance)
        self._control_supply(account)
        return account

    def _control_supply(self, account: PrepaidAccountRecord) -> None:
        if self.supply is None:
            return
        if account.mode != MODE_PREPAID:
            # Postpaid supply never hangs on the prepaid balance: a relay the prepaid side
            # opened closes again once the connection is postpaid. A command still pending
            # goes first; its acknowledgement brings the account back here.
            if account.relay == RELAY_DISCONNECTED and not account.pending_command:
                self.supply.send(account, OP_RECONNECT)
            return
        if account.pending_command:  # one command at a time; retried until acknowledged
            self.supply.retry(account)
            return
        balance, credit = int(account.balance_paise), int(account.emergency_credit_paise)
        if account.relay == RELAY_CONNECTED:
            decision = disconnect_decision(balance, credit, bool(account.disputed),
                                           self.clock(), self.windows)
            if decision.disconnect:
                self.supply.send(account, OP_DISCONNECT)
            else:
                logger.info("no disconnection", extra={"connection_id": account.connection_id,
                                                       "reason": decision.reason})
        elif account.relay == RELAY_DISCONNECTED and may_reconnect(balance, credit):
            self.supply.send(account, OP_RECONNECT)

    def _account(self, connection_id: str) -> PrepaidAccountRecord:
        account = self.accounts.get(connection_id)
        if account is None:
            raise NotFound("No prepaid account for this connection.")
        return account


def entry_view(entry: LedgerEntryRecord) -> LedgerEntryView:
    charge = entry.charge_to_date_paise
    amount = int(entry.amount_paise)
    # The facts behind the English explanation, so a page can word it in its language.
    return LedgerEntryView(
        entry_key=entry.entry_key, kind=entry.kind, day=entry.day,
        amount=from_paise(amount), amount_paise=amount,
        explanation=entry.explanation,
        charge_to_date=None if charge is None else from_paise(int(charge)),
        units_to_date=entry.units_to_date,
        posted_before=from_paise(int(charge) + amount)
        if charge is not None and entry.kind == ENTRY_DEBIT else None,
        payment_id=entry.payment_id if entry.kind == ENTRY_RECHARGE else None,
        carried_balance=from_paise(-amount) if entry.entry_key.startswith(CARRY_PREFIX)
        else None)


def min_recharge_paise() -> int:
    """The smallest recharge (configuration; Rs 100 unless PREPAID_MIN_RECHARGE_PAISE)."""
    return int(os.environ.get("PREPAID_MIN_RECHARGE_PAISE", "10000"))


def _non_negative(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"The {what} is a whole number of paise, at least 0.")
    return value
