"""The meter's last known register moves only with a reading that passed validation
(issue 18, item 2).

A reading whose register goes backwards is verified and accepted by the reading endpoint
(202: it is authentic) and then rejected by billing. The admin meter page must not show that
rejected register as the meter's `last_register_wh` / `last_read_at`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from functions.core.billing_rules.periods import period_of
from functions.core.clock import utcnow
from functions.core.meters.models import RawReadingRecord
from tests.integration.meters_support import (
    current_server_key,
    fitted_meter,
    issue_request,
    new_run,
    seal_reading,
    wait_for,
    wire,
)

pytestmark = pytest.mark.usefixtures("meters_retired_after_each_test")

INITIAL_WH = 5_000_000


def send(stack: Any, key: Any, meter_id: str, server_key: str, *, period: str, counter: int,
         register_wh: int, read_at: datetime) -> RawReadingRecord:
    """A reading for a run of its own; returns the stored reading once billing decided."""
    run_id = new_run(period=period)
    request = issue_request(meter_id, run_id, period=period,
                            issued_at=read_at - timedelta(minutes=1), ttl=timedelta(hours=2))
    envelope = seal_reading(key, meter_id, request, server_key, counter=counter,
                            register_wh=register_wh, read_at=read_at)
    response = stack.api.post("/device/readings", data=wire(envelope),
                              headers={"Content-Type": "application/json"})
    assert response.status_code == 202, response.text

    def decided() -> RawReadingRecord | None:
        for reading in RawReadingRecord.query(meter_id, RawReadingRecord.reading_key
                                              .startswith("reading#"), consistent_read=True):
            if reading.run_id == run_id and reading.status != "received":
                return reading
        return None

    return wait_for(decided, timeout=30)


def meter_page(as_admin: Any, meter_id: str) -> dict[str, Any]:
    response = as_admin.get(f"/admin/meters/{meter_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_rejected_reading_does_not_move_the_meters_last_register(stack, admin, customer):
    _, as_admin = admin
    meter, key, _ = fitted_meter(as_admin, customer[1], initial_register_wh=INITIAL_WH)
    meter_id, server_key = meter["meter_id"], current_server_key(as_admin)
    now = utcnow().replace(microsecond=0)
    # The good reading bills last month (a live register read within days of its end);
    # an older period's would be held as read long after the period (billing rule).
    last_month = str(period_of(now).previous())

    # Backwards from the register the meter was fitted with: authentic, but rejected.
    backwards = send(stack, key, meter_id, server_key, period="2021-03", counter=1,
                     register_wh=INITIAL_WH - 1_000_000, read_at=now - timedelta(minutes=30))
    assert (backwards.status, backwards.validation_reason) == (
        "rejected", "decrease_without_replacement")
    page = meter_page(as_admin, meter_id)
    assert page["last_counter"] == 1  # the replay counter moves with every authentic message
    assert page["last_register_wh"] is None, page
    assert page["last_read_at"] is None, page

    # A good reading moves it ...
    good_at = now - timedelta(minutes=20)
    good = send(stack, key, meter_id, server_key, period=last_month, counter=2,
                register_wh=INITIAL_WH + 250_000, read_at=good_at)
    assert good.status == "accepted", (good.status, good.validation_reason)
    page = meter_page(as_admin, meter_id)
    assert page["last_register_wh"] == INITIAL_WH + 250_000
    assert datetime.fromisoformat(page["last_read_at"]) == good_at

    # ... and a later backwards one does not.
    again = send(stack, key, meter_id, server_key, period=last_month, counter=3,
                 register_wh=INITIAL_WH + 100_000, read_at=now - timedelta(minutes=10))
    assert again.status == "rejected", again.status
    page = meter_page(as_admin, meter_id)
    assert page["last_counter"] == 3
    assert page["last_register_wh"] == INITIAL_WH + 250_000
    assert datetime.fromisoformat(page["last_read_at"]) == good_at
