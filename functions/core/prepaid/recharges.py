"""Recharges through the payment gateway, on the same order and webhook path as bills.

A recharge is a gateway order whose target is "prepaid#<connection id>" instead of
a bill id. The webhook (payments/service.py) hands a payment for such an order to
`apply_recharge`: the payment record is kept as for a bill, and the ledger credits
the payment id once (ledger entry "recharge#<payment id>"), so a webhook delivered
twice, or the checkout's return and the webhook together, credit once; its receipt
(email, and SMS to payers who chose SMS: notices.py) is keyed by the payment id too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from functions.core.accounts.sessions import Caller
from functions.core.errors import InvalidInput, NotFound
from functions.core.money import from_paise
from functions.core.payments.models import ORDER_PAID, PaymentOrderRecord
from functions.core.payments.provider import OnlineMethod, OrderRequest
from functions.core.payments.schemas import OrderView, WebhookResult
from functions.core.prepaid.models import MODE_PREPAID
from functions.core.prepaid.notices import recharge_receipt
from functions.core.prepaid.service import PrepaidService, min_recharge_paise
from functions.core.properties.repositories import PropertyRepository
from functions.core.settings import get_settings

if TYPE_CHECKING:
    from functions.core.payments.provider import GatewayPayment
    from functions.core.payments.repositories import PaymentRecord
    from functions.core.payments.service import PaymentService, Target

RECHARGE_PREFIX = "prepaid#"
CHECKOUT_LIFETIME = timedelta(minutes=30)


def is_recharge(target_id: str) -> bool:
    return target_id.startswith(RECHARGE_PREFIX)


def recharge_target(connection_id: str) -> str:
    return RECHARGE_PREFIX + connection_id


def connection_of(target_id: str) -> str:
    return target_id.removeprefix(RECHARGE_PREFIX)


def may_see(caller: Caller, connection_id: str,
            properties: PropertyRepository | None = None) -> bool:
    """The owner of the connection's property (or an admin)."""
    if caller.is_admin:
        return True
    found = (properties or PropertyRepository()).get(connection_id)
    return found is not None and found.owner_id == caller.user_id


def start_recharge(payments: PaymentService, caller: Caller, connection_id: str,
                   amount_paise: int, method: OnlineMethod,
                   prepaid: PrepaidService | None = None) -> OrderView:
    if not may_see(caller, connection_id):
        raise NotFound("No such connection.")
    account = (prepaid or PrepaidService()).accounts.get(connection_id)
    if account is None or account.mode != MODE_PREPAID:
        raise NotFound("This connection is not prepaid.")
    minimum = min_recharge_paise()
    if amount_paise < minimum:
        raise InvalidInput(f"The smallest recharge is {from_paise(minimum)}.")
    order = payments.provider.create_order(OrderRequest(
        bill_id=recharge_target(connection_id), amount_paise=amount_paise,
        method=method,
        description=f"Prepaid recharge ({connection_id})"))
    now = payments.clock()
    record = PaymentOrderRecord(
        order_id=order.order_id, bill_id=recharge_target(connection_id),
        payer_id=caller.user_id, provider=order.provider, amount_paise=order.amount_paise,
        currency=order.currency, method=method, created_at=now,
        expires_at=now + CHECKOUT_LIFETIME,
        return_url=f"{get_settings().portal_origin}/prepaid.html?c={quote(connection_id)}")
    payments.orders.create(record)
    checkout_url = (f"{get_settings().api_base_url.rstrip('/')}/payments/checkout/"
                    f"{quote(order.order_id, safe='')}")
    return OrderView(order_id=order.order_id, bill_id=record.bill_id,
                     amount=from_paise(order.amount_paise), amount_paise=order.amount_paise,
                     currency=order.currency, method=method,
                     provider=order.provider, checkout_url=checkout_url,
                     expires_at=record.expires_at, status=record.status)


def apply_recharge(payments: PaymentService, event: GatewayPayment, target: Target,
                   existing: PaymentRecord | None,
                   prepaid: PrepaidService | None = None) -> WebhookResult:
    """A gateway payment for a recharge order: keep the payment, credit the ledger once."""
    if not event.money_received:
        return payments._record_unsuccessful(event, target, existing)
    if existing is None:
        record = payments._payment_from(event, target)
        record.applied = True
        payments.payments.add(record)  # False: a concurrent delivery kept it first
    if target.order_id:
        payments.orders.note_attempt(target.order_id, ORDER_PAID, event.payment_id)
    service = prepaid or PrepaidService.default()
    connection_id = connection_of(target.bill_id)
    credited = service.recharge(connection_id, event.payment_id, event.amount_paise,
                                event.created_at)
    # On a repeat too: the first delivery may have died before its receipt; the
    # outbox key (the payment id) makes it one receipt.
    account = service.accounts.get(connection_id)
    if account is not None:
        recharge_receipt(account, event.payment_id, event.amount_paise, event.created_at,
                         payer_id=target.payer_id)
    return WebhookResult(result="paid" if credited else "duplicate",
                         payment_id=event.payment_id, bill_status=None)
