"""Issue 16, item 1: a period is priced by exactly the version the rules select,
whatever the billing function's per-container tariff cache holds."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.core.billing_rules import parse_period
from functions.core.billing_rules.fixtures import DERC_DOMESTIC_2019_20_JSON
from functions.core.billing_rules.tariff import TariffVersion
from functions.core.bills.service import BillingService
from functions.core.errors import Conflict
from functions.core.tariffs import models as tariff_models
from functions.core.tariffs.repository import TariffRepository
from functions.core.tariffs.service import TariffBook, TariffService
from tests.integration.billing_support import (
    a_customer,
    a_meter,
    a_property,
    decided,
    ensure_reference_tariffs,
    send_readings,
    stored_reading,
)


def a_version(effective_from: str, name: str, energy_rate: str) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(DERC_DOMESTIC_2019_20_JSON)
    body.update(effective_from=effective_from, name=name)
    for slab in body["energy_slabs"]:
        slab["rate_per_kwh"] = energy_rate
    return body


def test_a_version_created_just_before_a_run_prices_it_despite_the_cache(stack, admin):
    _, as_admin = admin
    ensure_reference_tariffs(as_admin)
    created = as_admin.post("/admin/tariffs", json=a_version("2086-01-01", "FY86", "5.00"))
    assert created.status_code == 201, created.text
    # January is billed: the billing function caches the residential versions.
    january = a_meter(a_property(a_customer()))
    reading = stored_reading(january, "2086-01", 100_000, datetime(2026, 1, 1, tzinfo=UTC))
    send_readings([reading])
    assert decided(reading).status == "accepted"
    assert as_admin.get(f"/bills/BILL-{january.property_id}-2086-01").json()[
        "tariff_version"] == "residential@2086-01-01"

    # Seconds later a new version takes effect from February (allowed: only
    # January is billed), and February's readings arrive at once.
    newer = as_admin.post("/admin/tariffs", json=a_version("2086-02-01", "FY86 revised", "6.00"))
    assert newer.status_code == 201, newer.text
    february = a_meter(a_property(a_customer()))
    reading = stored_reading(february, "2086-02", 100_000, datetime(2026, 1, 1, tzinfo=UTC))
    send_readings([reading])
    assert decided(reading).status == "accepted"
    bill = as_admin.get(f"/bills/BILL-{february.property_id}-2086-02").json()
    assert bill["tariff_version"] == "residential@2086-02-01"
    assert bill["line_items"][0]["rate"] == "6.00"
    # And the new version is the one locked for February.
    versions = {v["version_id"]: v for v in as_admin.get(
        "/admin/tariffs?category=residential").json()}
    assert versions["residential@2086-02-01"]["last_priced_period"] == "2086-02"
    assert versions["residential@2086-01-01"]["last_priced_period"] == "2086-01"


@contextmanager
def tariff_calls() -> Iterator[Counter[str]]:
    """Counts the AWS calls made on the tariffs table's own connections."""
    counts: Counter[str] = Counter()

    def hook(model: Any, **_: Any) -> None:
        counts[model.name] += 1

    tables = [getattr(tariff_models, name) for name in ("TariffRecord", "TariffCatalogRecord")
              if hasattr(tariff_models, name)]
    clients = {id(c): c for c in (m._get_connection().connection.client for m in tables)}
    for client in clients.values():
        client.meta.events.register("before-parameter-build", hook)
    try:
        yield counts
    finally:
        for client in clients.values():
            client.meta.events.unregister("before-parameter-build", hook)


def test_tariff_calls_per_batch_are_bounded_not_per_meter(stack, admin):
    """What the freshness check costs: one catalog GetItem and one query per
    category load, one lock transaction per version and period, nothing per
    bill (a batch of 12 readings, then another of 12)."""
    ensure_reference_tariffs(admin[1])
    service = BillingService(tariffs=TariffBook())
    meters = [a_meter(a_property(a_customer())) for _ in range(24)]
    readings = [stored_reading(m, "2023-11", 50_000 + i * 1000,
                               datetime(2023, 12, 1, 3, tzinfo=UTC))
                for i, m in enumerate(meters)]
    with tariff_calls() as first:
        batch = service.start_batch(readings[:12])
        verdicts = [batch.bill(r) for r in readings[:12]]
        batch.finish()
    assert [v.status for v in verdicts] == ["accepted"] * 12
    # GetItem (catalog) + Query (versions) + TransactWriteItems (the lock), and one read
    # more when an earlier test locked this version for a later month: bounded per
    # batch, nothing per bill, whatever ran before.
    assert sum(first.values()) <= 4, first
    with tariff_calls() as second:
        batch = service.start_batch(readings[12:])
        verdicts = [batch.bill(r) for r in readings[12:]]
        batch.finish()
    assert [v.status for v in verdicts] == ["accepted"] * 12
    assert sum(second.values()) == 0, second
    assert service.tariffs.for_period("residential", parse_period("2023-11")).version_id \
        == "residential@2019-08-01"


def test_a_version_cannot_slip_in_before_a_period_locked_meanwhile(stack, admin):
    """The create checks the latest billed period, then writes: a lock that lands
    in between makes the write fail instead of back-dating a billed period."""
    _, as_admin = admin
    assert as_admin.post("/admin/tariffs", json=a_version(
        "2087-01-01", "FY87", "5.00")).status_code == 201
    service = TariffService()
    repository = TariffRepository()
    locks_seen = repository.catalog("residential").locks
    # Billing locks FY87 for March 2087 after the create read the lock count ...
    book = TariffBook()
    book.mark_used(book.for_period("residential", parse_period("2087-03")),
                   parse_period("2087-03"))
    # ... so a version from 1 March 2087, checked against the count read before, fails.
    late = TariffVersion.model_validate(a_version("2087-03-01", "Back-dated", "9.00"))
    record = tariff_models.TariffRecord(
        category="residential", effective_from="2087-03-01", name=late.name,
        definition=late.model_dump_json(), revision=1, created_at=datetime.now(UTC))
    with pytest.raises(Conflict, match="priced"):
        repository.create(record, expected_locks=locks_seen)
    assert repository.get("residential", "2087-03-01") is None
    # Through the service (which reads the count afresh) it is the usual 409.
    with pytest.raises(Conflict, match="already priced"):
        service.create(late, created_by=None)
