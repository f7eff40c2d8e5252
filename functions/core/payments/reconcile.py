"""The daily reconciliation with the gateway.

`reconcile(day)` (a scheduled function runs it every night for the IST day
before; an admin can run it for any day) compares three lists:

- the gateway's payments created that IST day (`payments_between`, the SDK's
  `payment.all` with from/to),
- the gateway's settlements of that day (`settlement.all`) and the combined
  settlement report (`settlement.report`), for the totals, and
- our payments of that day (the payments table's by_day index).

and records, for admins, every mismatch:

- `missed_webhook_repaired`: captured at the gateway for an order (or bill) of
  ours, unknown or not captured here: a webhook we never got. The payment is
  applied once, through the same path as the webhook (a bill paid meanwhile
  gets the automatic refund).
- `captured_unknown_here`: captured at the gateway for nothing of ours. Open,
  for an admin.
- `applied_not_captured`: captured (and applied) here, not captured at the
  gateway. Open, for an admin.
- `amount_differs`: the same payment with different amounts here and there.
  Open, for an admin.
- `missed_refund_webhook_repaired`: a refund in the day's settlement report (so
  processed at the gateway) that is still open here: its refund.processed webhook
  never took effect. It is marked processed once, through the webhook's path (the
  payer's email included).

A day can be reconciled again: the report is replaced, and repairs already made
stay listed. Applying a payment is idempotent, so a repair happens once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from functions.core.billing_rules import ist_date
from functions.core.errors import DomainError
from functions.core.logs import logger
from functions.core.money import from_paise
from functions.core.payments.models import (
    ITEM_OPEN,
    ITEM_REPAIRED,
    MISMATCH_AMOUNT,
    MISMATCH_NOT_CAPTURED,
    MISMATCH_UNKNOWN_HERE,
    PAYMENT_CAPTURED,
    PROVIDER_OFFLINE,
    REFUND_OPEN_STATUSES,
    REPAIRED_MISSED_REFUND_WEBHOOK,
    REPAIRED_MISSED_WEBHOOK,
    SUMMARY_ENTRY,
    PaymentRecord,
    ReconciliationRecord,
)
from functions.core.payments.provider import (
    GatewayEvent,
    GatewayFailure,
    GatewayPayment,
    SettledItem,
)
from functions.core.payments.razorpay_gateway import ist_day_window
from functions.core.payments.repositories import ReconciliationRepository
from functions.core.payments.schemas import (
    ReconciliationItem,
    ReconciliationTotals,
    ReconciliationView,
)
from functions.core.payments.service import PaymentService


@dataclass
class _Item:
    kind: str
    status: str
    payment_id: str | None
    bill_id: str | None = None
    order_id: str | None = None
    gateway_amount: int | None = None
    our_amount: int | None = None
    gateway_status: str | None = None
    our_status: str | None = None
    detail: str | None = None
    refund_id: str | None = None  # an item about a refund (a payment can have several)


def yesterday_ist(now: datetime) -> date:
    return ist_date(now) - timedelta(days=1)


def reconcile(day: date, service: PaymentService, now: datetime,
              reports: ReconciliationRepository | None = None) -> ReconciliationView:
    reports = reports or ReconciliationRepository()
    provider = service.provider
    start, end = ist_day_window(day)
    gateway = [p for p in provider.payments_between(start, end) if p.money_received]
    settlements = provider.settlements_between(start, end)
    try:
        settled = provider.settlement_report(day)
    except GatewayFailure:
        logger.warning("settlement report unavailable", extra={"day": day.isoformat()})
        settled = []

    items: list[_Item] = []
    matched: list[int] = []
    seen: set[str] = set()
    for payment in gateway:
        seen.add(payment.payment_id)
        ours = service.payments.get(payment.payment_id)
        if ours is None or ours.status != PAYMENT_CAPTURED:
            items.append(_repair(service, payment, ours))
        elif int(ours.amount_paise) != payment.amount_paise:
            items.append(_item(MISMATCH_AMOUNT, payment, ours,
                               "the gateway and we record different amounts"))
        else:
            matched.append(payment.amount_paise)

    for ours in service.payments.on_day(day.isoformat()):
        if (ours.provider == PROVIDER_OFFLINE or ours.status != PAYMENT_CAPTURED
                or ours.payment_id in seen):
            continue
        at_gateway = provider.fetch_payment(ours.payment_id)
        if at_gateway is not None and at_gateway.money_received:
            # Captured, but listed on another day at the gateway (a midnight edge).
            if at_gateway.amount_paise != int(ours.amount_paise):
                items.append(_item(MISMATCH_AMOUNT, at_gateway, ours,
                                   "the gateway and we record different amounts"))
            else:
                matched.append(at_gateway.amount_paise)
            continue
        items.append(_Item(MISMATCH_NOT_CAPTURED, ITEM_OPEN, ours.payment_id, ours.bill_id,
                           ours.order_id, at_gateway.amount_paise if at_gateway else None,
                           int(ours.amount_paise),
                           at_gateway.status if at_gateway else "unknown to the gateway",
                           "applied" if ours.applied else ours.status,
                           "recorded as captured here; the gateway did not capture it"))

    refunds = [s for s in settled if s.type == "refund"]
    items += [item for item in (_refund_repair(service, line) for line in refunds) if item]

    # Repairs of an earlier run stay on the report (the payment is matched now).
    current = {_entry(i) for i in items}
    carried = [old for old in reports.entries(day.isoformat())
               if old.status == ITEM_REPAIRED and old.entry not in current]
    ours_now = [p for p in service.payments.on_day(day.isoformat())
                if p.provider != PROVIDER_OFFLINE and p.status == PAYMENT_CAPTURED]
    totals = ReconciliationTotals(
        gateway_captured_count=len(gateway),
        gateway_captured=from_paise(sum(p.amount_paise for p in gateway)),
        our_captured_count=len(ours_now),
        our_captured=from_paise(sum(int(p.amount_paise) for p in ours_now)),
        matched_count=len(matched), matched=from_paise(sum(matched)),
        refunds_count=len(refunds), refunded=from_paise(sum(r.amount_paise for r in refunds)),
        settlements_count=len(settlements),
        settled=from_paise(sum(s.amount_paise for s in settlements)),
        settlement_fees=from_paise(sum(s.fees_paise for s in settlements)),
        settlement_tax=from_paise(sum(s.tax_paise for s in settlements)),
        open_mismatches=sum(1 for i in items if i.status == ITEM_OPEN),
        repaired=sum(1 for i in items if i.status == ITEM_REPAIRED) + len(carried),
    )
    _store(reports, day, now, totals, items, carried)
    logger.info("reconciliation", extra={"day": day.isoformat(),
                                         "open": totals.open_mismatches,
                                         "repaired": totals.repaired})
    return reconciliation_view(day, reports)


def _repair(service: PaymentService, payment: GatewayPayment,
            ours: PaymentRecord | None) -> _Item:
    """Captured at the gateway, not here: apply it once if it is for an order or bill of ours."""
    if service.target_of(payment) is None:
        return _item(MISMATCH_UNKNOWN_HERE, payment, ours,
                     "captured at the gateway for no order or bill of ours")
    try:
        result = service.apply_gateway_payment(payment)
    except DomainError as error:
        return _item(MISMATCH_UNKNOWN_HERE, payment, ours, f"could not apply: {error.message}")
    stored = service.payments.get(payment.payment_id)
    outcome = {"paid": "applied to its bill",
               "not_applied": "recorded, not applicable to its bill, refunded"}.get(
        result.result, result.result)
    return _Item(REPAIRED_MISSED_WEBHOOK, ITEM_REPAIRED, payment.payment_id,
                 stored.bill_id if stored else None, payment.order_id, payment.amount_paise,
                 int(stored.amount_paise) if stored else None, payment.status,
                 stored.status if stored else None, f"missed webhook: {outcome}")


def _refund_repair(service: PaymentService, line: SettledItem) -> _Item | None:
    """A refund the gateway settled, so processed: mark it processed here if it is still
    open (its webhook was lost). Refunds known here as done cost no gateway call."""
    if not line.payment_id:
        return None
    ours = next((r for r in service.refunds.for_payment(line.payment_id)
                 if r.gateway_refund_id == line.entity_id), None)
    if ours is not None and ours.status not in REFUND_OPEN_STATUSES:
        return None
    refund = next((r for r in service.provider.refunds_of(line.payment_id)
                   if r.refund_id == line.entity_id), None)
    if refund is None:
        return None
    result = service.refund_update(GatewayEvent(None, "reconciliation", "refund",
                                                refund=refund))
    if result.result != "refund_updated":
        return None  # not ours, or its webhook got there meanwhile
    now = next((r for r in service.refunds.for_payment(line.payment_id)
                if r.gateway_refund_id == refund.refund_id), None)
    return _Item(REPAIRED_MISSED_REFUND_WEBHOOK, ITEM_REPAIRED, line.payment_id,
                 now.bill_id if now else None, None, refund.amount_paise,
                 int(now.amount_paise) if now else None, refund.status,
                 now.status if now else None,
                 f"missed webhook: refund {refund.refund_id} marked {refund.status}",
                 refund_id=refund.refund_id)


def _item(kind: str, payment: GatewayPayment, ours: PaymentRecord | None, detail: str) -> _Item:
    return _Item(kind, ITEM_OPEN, payment.payment_id, ours.bill_id if ours else None,
                 payment.order_id, payment.amount_paise,
                 int(ours.amount_paise) if ours else None, payment.status,
                 ours.status if ours else None, detail)


def _entry(item: _Item) -> str:
    return f"item#{item.refund_id or item.payment_id}#{item.kind}"


def _store(reports: ReconciliationRepository, day: date, now: datetime,
           totals: ReconciliationTotals, items: list[_Item],
           carried: list[ReconciliationRecord]) -> None:
    key = day.isoformat()
    records = [ReconciliationRecord(day=key, entry=SUMMARY_ENTRY, run_at=now,
                                    totals=totals.model_dump_json())]
    for item in items:
        records.append(ReconciliationRecord(
            day=key, entry=_entry(item), kind=item.kind, status=item.status,
            payment_id=item.payment_id, bill_id=item.bill_id, order_id=item.order_id,
            gateway_amount_paise=item.gateway_amount, our_amount_paise=item.our_amount,
            gateway_status=item.gateway_status, our_status=item.our_status,
            detail=item.detail, run_at=now))
    reports.replace(key, records + carried)


def reconciliation_view(day: date, reports: ReconciliationRepository | None = None
                        ) -> ReconciliationView:
    reports = reports or ReconciliationRepository()
    entries = reports.entries(day.isoformat())
    summary = next((e for e in entries if e.entry == SUMMARY_ENTRY), None)
    items = [ReconciliationItem(
        kind=e.kind or "", status=e.status or "", payment_id=e.payment_id, bill_id=e.bill_id,
        order_id=e.order_id, gateway_amount=_rupees(e.gateway_amount_paise),
        our_amount=_rupees(e.our_amount_paise), gateway_status=e.gateway_status,
        our_status=e.our_status, detail=e.detail)
        for e in entries if e.entry != SUMMARY_ENTRY]
    items.sort(key=lambda i: (i.status != ITEM_OPEN, i.kind, i.payment_id or ""))
    totals: Any = json.loads(summary.totals) if summary and summary.totals else None
    return ReconciliationView(day=day, run_at=summary.run_at if summary else None,
                              totals=ReconciliationTotals(**totals) if totals else None,
                              items=items)


def _rupees(paise: Any) -> Any:
    return None if paise is None else from_paise(int(paise))
