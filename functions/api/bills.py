"""Bills: a customer's own bills and their detail; the admin's search."""

from __future__ import annotations

from chalice import Blueprint

from functions.api.http import Access, route
from functions.core.accounts.sessions import Caller
from functions.core.bills.queries import BillQueries
from functions.core.bills.schemas import (
    AdminBillList,
    AdminBillsQuery,
    BillDetail,
    BillSummary,
    BillTotals,
    MyBillsQuery,
)

bp = Blueprint(__name__)


@route(bp, "/bills", access=Access.CUSTOMER, query=MyBillsQuery, response=list[BillSummary],
       summary="The bills I pay (owner of untenanted days, or tenant of my tenancy)")
def my_bills(caller: Caller, query: MyBillsQuery) -> list[BillSummary]:
    return [BillSummary.of(b) for b in BillQueries().mine(caller, query)]


@route(bp, "/bills/{bill_id}", access=Access.USER, response=BillDetail,
       summary="One bill with its line items, tariff version and registers")
def bill_detail(bill_id: str, caller: Caller) -> BillDetail:
    return BillDetail.of(BillQueries().one(caller, bill_id))


@route(bp, "/admin/bills", access=Access.ADMIN, query=AdminBillsQuery, response=AdminBillList,
       summary="Bills by period or status (a page at a time), property or payer, with the "
               "page's total")
def admin_bills(caller: Caller, query: AdminBillsQuery) -> AdminBillList:
    page = BillQueries().admin_search(query)
    return AdminBillList(totals=BillTotals.of(page.items), cursor=page.cursor,
                         bills=[BillSummary.of(b) for b in page.items])
