"""Quick pay: anyone who knows a consumer number pays that connection's bill without
signing in, as on every Indian discom's site.

What a lookup shows is the least a payer needs: the amount due, the due date and the
payer's name masked ("A*** R**"), never an address, a bill id or a history. The bill
paid is the connection's oldest unpaid one (arrears first); once it is paid the next
one shows.

Enumeration: a lookup or payment is counted per client (its IP address) in fixed
windows (functions/core/ratelimit.py), whatever the number asked for, so walking the
number space from one client stops after LOOKUPS_PER_WINDOW tries. A number whose
check digit is wrong is refused (400) before anything is read, and counts too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from functions.core.accounts.users import UserRepository
from functions.core.billing_rules.periods import format_ist_date
from functions.core.bills.models import UNPAID_STATUSES, BillRecord
from functions.core.bills.repository import BillRepository
from functions.core.clock import epoch, utcnow
from functions.core.errors import NotFound
from functions.core.money import format_inr, to_paise
from functions.core.payments.provider import OnlineMethod
from functions.core.payments.schemas import OrderView, QuickPayView
from functions.core.payments.service import PaymentService
from functions.core.properties.consumer_numbers import parse
from functions.core.properties.repositories import PropertyRepository
from functions.core.ratelimit import Limit, RateLimitRepository, enforce, limit_key
from functions.core.settings import get_settings

LOOKUPS_PER_WINDOW = 10
WINDOW_SECONDS = 600
LOOKUP_LIMIT = Limit("quick_pay", "client", LOOKUPS_PER_WINDOW, WINDOW_SECONDS)
# Bills looked at for the oldest unpaid one: a year of monthly bills and its shares.
BILLS_LOOKED_AT = 24
NOT_FOUND = "No bill is due for this consumer number."


def mask_name(name: str) -> str:
    """"Asha Rao" -> "A*** R**": enough to tell it is the right connection."""
    return " ".join(word[0] + "*" * (len(word) - 1) for word in name.split() if word)


def oldest_unpaid_bill(number: str, properties: PropertyRepository | None = None,
                       bills: BillRepository | None = None) -> BillRecord | None:
    """The bill a payment quoting consumer number `number` pays: the connection's oldest
    unpaid one (quick pay, a UPI reference, a cash counter entry). None if none is due."""
    prop = (properties or PropertyRepository()).by_consumer_number(number)
    if prop is None:
        return None
    unpaid = [bill for bill in (bills or BillRepository()).for_property(
        prop.property_id, limit=BILLS_LOOKED_AT)
        if bill.status in UNPAID_STATUSES and to_paise(bill.amount_due) > 0]
    return min(unpaid, key=lambda bill: (bill.period, int(bill.share)), default=None)


def quick_pay_page(number: str) -> str:
    return f"{get_settings().portal_origin}/quick-pay.html?n={quote(number, safe='')}"


@dataclass
class QuickPay:
    properties: PropertyRepository = field(default_factory=PropertyRepository)
    bills: BillRepository = field(default_factory=BillRepository)
    users: UserRepository = field(default_factory=UserRepository)
    limits: RateLimitRepository = field(default_factory=RateLimitRepository)
    clock: Callable[[], datetime] = utcnow

    def _count(self, client: str) -> None:
        enforce(LOOKUP_LIMIT, limit_key(client or "unknown"), self.limits,
                now_epoch=epoch(self.clock()))

    def _due_bill(self, number: str) -> BillRecord:
        bill = oldest_unpaid_bill(number, self.properties, self.bills)
        if bill is None:
            raise NotFound(NOT_FOUND)
        return bill

    def lookup(self, text: str, client: str) -> QuickPayView:
        self._count(client)
        number = parse(text)
        bill = self._due_bill(number)
        payer = self.users.get(bill.payer_id)
        return QuickPayView(
            consumer_number=number, name=mask_name(payer.name if payer else ""),
            amount_due=bill.amount_due, amount_due_display=format_inr(bill.amount_due),
            due_date=bill.due_date,
            due_date_display=format_ist_date(datetime.fromisoformat(bill.due_date).date()),
            overdue=bill.status != "issued")

    def pay(self, text: str, method: OnlineMethod, client: str) -> OrderView:
        self._count(client)
        number = parse(text)
        bill = self._due_bill(number)
        return PaymentService.default().order_for(bill, method, quick_pay_page(number))
