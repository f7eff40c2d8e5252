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
from functions.core.paging import Page


class BillQueries:
    def __init__(self, bills: BillRepository | None = None) -> None:
        self.bills = bills or BillRepository()

    def mine(self, caller: Caller, query: MyBillsQuery) -> Page[BillRecord]:
        """The caller's bills a page at a time, newest period first (a status filters
        what the page read: a page may come short and still go on)."""
        return self.bills.payer_page(caller.user_id, query.cursor, query.limit, query.period,
                                     lambda b: query.status is None or b.status == query.status)

    def one(self, caller: Caller, bill_id: str) -> BillRecord:
        bill = self.bills.get(bill_id) if len(bill_id) <= 200 else None
        if bill is None or not (caller.is_admin or bill.payer_id == caller.user_id):
            raise NotFound("No such bill.")
        return bill

    def admin_search(self, query: AdminBillsQuery) -> Page[BillRecord]:
        """A property's or a payer's bills whole; a period's or a status's a page at a
        time (a period holds a bill per property of the fleet)."""
        def wanted(bill: BillRecord) -> bool:
            return (query.period is None or bill.period == query.period) \
                and (query.status is None or bill.status == query.status)

        if query.property_id or query.payer_id:
            bills = self.bills.for_property(query.property_id) if query.property_id \
                else self.bills.for_payer(query.payer_id or "")
            return Page(sorted(filter(wanted, bills), key=lambda b: (b.period, b.bill_id)),
                        None)
        if query.period:
            return self.bills.period_page(query.period, query.cursor, query.limit, wanted)
        if query.status:
            return self.bills.status_page(query.status, query.cursor, query.limit)
        raise InvalidInput("Give a period, a status, a property_id or a payer_id.")
