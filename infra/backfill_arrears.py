"""Count bills that went overdue before this release in their payers' arrears items.

    APP_STAGE=prod RESOURCE_PREFIX=iotbill-prod python -m infra.backfill_arrears
        [--start '<cursor printed by an earlier run>'] [--page 200]

The defaulters list reads arrears items (functions/core/bills/arrears.py), which the
bills' own transactions keep from this release on. A bill already overdue before it has
no `in_arrears_paise` and is on nobody's list until this runs once after the deploy. It
reads the overdue bills through bills.by_status ("overdue#<shard>", no Scan) a page at a
time, prints a resumable cursor after every page, and adds each uncounted bill to its
payer's item in one transaction with the bill, conditional on the bill being overdue,
uncounted and unchanged: a payment racing with it wins, and a second run adds nothing.
"""

from __future__ import annotations

import argparse
import sys

from functions.core.bills.models import BILL_OVERDUE
from functions.core.bills.repository import BillRepository
from functions.core.paging import Page


def backfill(cursor: str | None, page: int, bills: BillRepository | None = None
             ) -> tuple[int, int, str | None]:
    """One page: (bills read, bills counted, the next cursor or None when done)."""
    bills = bills or BillRepository()
    found: Page = bills.status_page(BILL_OVERDUE, cursor, page)
    counted = sum(1 for bill in found.items if bills.count_in_arrears(bill))
    return len(found.items), counted, found.cursor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--start", default=None, help="the cursor an earlier run printed")
    parser.add_argument("--page", type=int, default=200)
    args = parser.parse_args(argv)
    cursor, read, counted = args.start, 0, 0
    while True:
        page_read, page_counted, cursor = backfill(cursor, args.page)
        read, counted = read + page_read, counted + page_counted
        print(f"read {read}, counted {counted}, cursor {cursor or '(done)'}", flush=True)
        if cursor is None:
            return 0


if __name__ == "__main__":
    sys.exit(main())
