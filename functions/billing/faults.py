"""Fault injection for the end-to-end tests, active only in the local stage.

BILLING_FAULT_CRASH_AFTER_BILLS=<n>: the billing function crashes (the whole
invocation fails, as when Lambda dies) right after it has written its n-th
bill since the variable got this value, once. Nothing is deleted from the
queue, so SQS delivers the batch again: that must not make a second bill.
"""

from __future__ import annotations

import os
import threading

from functions.core.bills.models import BillRecord
from functions.core.settings import get_settings

CRASH_AFTER_BILLS = "BILLING_FAULT_CRASH_AFTER_BILLS"


class SimulatedCrash(Exception):
    """Stands for the function dying mid-batch; never raised outside the local stage."""


class CrashAfterBills:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: str | None = None
        self._written = 0
        self._fired = False

    def __call__(self, bills: list[BillRecord]) -> None:
        if not get_settings().is_local:
            return
        value = os.environ.get(CRASH_AFTER_BILLS) or None
        with self._lock:
            if value != self._armed:
                self._armed, self._written, self._fired = value, 0, False
            if value is None or self._fired:
                return
            self._written += 1
            if self._written < int(value):
                return
            self._fired = True
        raise SimulatedCrash(f"injected crash after writing {bills[0].bill_id}")
