"""Scheduled work of the billing side."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Cron

from functions.core.clock import utcnow
from functions.core.payments.overdue import mark_overdue

bp = Blueprint(__name__)


# 18:30 UTC is midnight IST: bills due "today" become overdue as the IST day ends.
@bp.schedule(Cron(30, 18, "*", "*", "?", "*"), name="overdue_sweep",
             description="Issued bills past their due date become overdue (with surcharge)")
def overdue_sweep(event: Any) -> dict[str, Any]:
    run = mark_overdue(utcnow())
    return {"as_of": run.as_of.isoformat(), "marked": len(run.bill_ids)}
