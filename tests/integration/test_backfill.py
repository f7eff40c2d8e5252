"""`python -m infra.backfill` against the emulator: items an older release saved
without this release's index keys get them once, and then show in the lists."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from functions.core.clock import utcnow
from functions.core.meters.models import MeterRecord
from functions.core.meters.repositories import MeterRepository
from functions.core.prepaid.models import LedgerEntryRecord
from functions.core.properties.models import LIST_KEY, PropertyRecord
from functions.core.runs.models import RUN_CLOSED, RUNS_LISTED, RUNS_OPEN, BillingRunRecord
from functions.core.shards import sharded
from infra.backfill import BACKFILLS, backfill, main

STARTED = datetime(2001, 1, 2, tzinfo=UTC)


def saved_by_an_older_release(record, *keys: str):
    record.save()  # this release sets the keys on save; an older one did not
    record.update(actions=[getattr(type(record), key).remove() for key in keys])
    record.refresh(consistent_read=True)
    assert all(getattr(record, key) is None for key in keys)
    return record


def test_old_items_get_their_index_keys_once_and_show_in_the_lists(emulator, capsys):
    tag = uuid.uuid4().hex[:8]
    prop = saved_by_an_older_release(PropertyRecord(
        property_id=f"prop-bf-{tag}", owner_id=f"usr-bf-{tag}", line1="1 Old Road",
        city="Pune", state="Maharashtra", pincode="411001", category="residential",
        sanctioned_load_kw="3", created_at=utcnow()), "list_shard")
    runs = {status: saved_by_an_older_release(BillingRunRecord(
        run_id=f"bf-{tag}-{status}", period="2001-01", status=status, started_at=STARTED,
        window_ends_at=STARTED),
        "list_key", "open_key") for status in ("collecting", RUN_CLOSED)}
    entry = saved_by_an_older_release(LedgerEntryRecord(
        connection_id=f"prp-bf-{tag}", entry_key="recharge#pay_old", kind="recharge",
        amount_paise=10000, day="2001-01-02", created_at=STARTED), "posted_key")

    meter = saved_by_an_older_release(MeterRecord(
        meter_id=f"mtr-bf{tag}", serial=f"BF-{tag}", public_key="old", public_key_id=f"old{tag}",
        model="SIM", firmware="1", endpoint_url="http://127.0.0.1:9/none", registered_at=STARTED),
        "list_shard", "status_list", "list_sort", "serial_key")

    assert main([]) == 0
    printed = capsys.readouterr().out
    assert all(f"{spec.table}: scanned" in printed for spec in BACKFILLS)

    assert any(p.property_id == prop.property_id for p in PropertyRecord.by_list.query(
        sharded(LIST_KEY, prop.property_id)))
    listed = {r.run_id for r in BillingRunRecord.by_period.query(RUNS_LISTED)}
    assert {r.run_id for r in runs.values()} <= listed
    still_open = {r.run_id for r in BillingRunRecord.open_runs.query(RUNS_OPEN)}
    assert runs["collecting"].run_id in still_open
    assert runs[RUN_CLOSED].run_id not in still_open  # a closed run stays out
    assert [e.entry_key for e in LedgerEntryRecord.by_posted.query(entry.connection_id)] == [
        "recharge#pay_old"]

    found = MeterRepository().search(serial=f"bf-{tag}")
    assert [m.meter_id for m in found.items] == [meter.meter_id]

    # A second run finds nothing left to do.
    again = [list(backfill(spec))[-1][0] for spec in BACKFILLS]
    assert sum(p.updated for p in again) == 0
