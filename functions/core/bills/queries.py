"""Who may see which bill.

A customer sees the bills they pay: as the owner, the bills of periods (or
days) nobody rented the property; as a tenant, the bills of their own
tenancy only. Asking for any other bill is a 404, so ids reveal nothing.
Admins see every bill.
"""

from __future__ import annotations

from functions.core.accounts.sessions import Caller
from functions.core.bills.models import BillRecord
from functions.core.bills.repository import BillRepository
from functions.core.bills.schemas import AdminBillsQuery, MyBillsQuery
from functions.core.errors import InvalidInput, NotFound


class BillQueries:
    def __init__(self, bills: BillRepository | None = None) -> None:
        self.bills = bills or BillRepository()

    def mine(self, caller: Caller, query: MyBillsQuery) -> list[BillRecord]:
        """The caller's bills, newest period first."""
        bills = self.bills.for_payer(caller.user_id)
        return [b for b in bills
                if (query.period is None or b.period == query.period)
                and (query.status is None or b.status == query.status)]

    def one(self, caller: Caller, bill_id: str) -> BillRecord:
        bill = self.bills.get(bill_id) if len(bill_id) <= 200 else None
        if bill is None or not (caller.is_admin or bill.payer_id == caller.user_id):
            raise NotFound("No such bill.")
        return bill

    def admin_search(self, query: AdminBillsQuery) -> list[BillRecord]:
        if query.property_id:
            bills = self.bills.for_property(query.property_id)
        elif query.payer_id:
            bills = self.bills.for_payer(query.payer_id)
        elif query.period:
            bills = self.bills.for_period(query.period)
        elif query.status:
            bills = self.bills.with_status(query.status)
        else:
            raise InvalidInput("Give a period, a status, a property_id or a payer_id.")
        return sorted((b for b in bills
                       if (query.period is None or b.period == query.period)
                       and (query.status is None or b.status == query.status)),
                      key=lambda b: (b.period, b.bill_id))
