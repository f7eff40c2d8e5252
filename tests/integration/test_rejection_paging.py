"""GET /admin/meter-rejections comes a page at a time, newest first across the 32 shards of
the rejections index (or from one meter's partition), with an opaque cursor: followed to
the end it gives every rejection once, filtered or not; a cursor it did not give is a 400."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.core.clock import iso
from functions.core.meters.models import REJECTED_PREFIX, RejectionRecord
from functions.core.meters.repositories import ReadingRepository
from functions.core.shards import RUN_SHARDS, shard_of

PATH = "/admin/meter-rejections"


@pytest.fixture
def sixty(stack) -> Iterator[list[RejectionRecord]]:
    """60 rejections dated after every real one (so they lead the list), three of them
    received at the same instant; removed afterwards, so no other test sees them."""
    tag = secrets.token_hex(4)
    start = datetime(2099, 1, 1, tzinfo=UTC) + timedelta(hours=secrets.randbelow(10_000))
    made = []
    for i in range(60):
        at = start + timedelta(seconds=min(i, 57))  # the last three tie
        made.append(RejectionRecord(
            f"mtr-page-{tag}-{i % 3}", f"{REJECTED_PREFIX}{iso(at)}#{uuid.uuid4().hex[:12]}",
            reason="bad_mac" if i % 2 else "counter_replay", received_at=at,
            body_bytes=100 + i, detail=f"paging {i}"))
    repository = ReadingRepository()
    for record in made:
        repository.add_rejection(record)
    yield made
    for record in made:
        record.delete()


def walk(as_admin, limit: int, stop: int, **filters: Any
         ) -> tuple[list[dict[str, Any]], list[int]]:
    """Pages followed until `stop` items came (ours lead the list) or the list ended."""
    items: list[dict[str, Any]] = []
    sizes: list[int] = []
    cursor = None
    while True:
        answer = as_admin.get(PATH, params={**filters, "limit": limit,
                                            **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        items += page["rejections"]
        sizes.append(len(page["rejections"]))
        cursor = page["cursor"]
        if cursor is None or len(items) >= stop:
            return items, sizes


def keys(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["meter_id"], r["reading_key"]) for r in items]


def test_rejections_page_newest_first_across_shards_each_once(admin, sixty):
    _, as_admin = admin
    assert len({shard_of(r.reading_key, RUN_SHARDS) for r in sixty}) > 10  # many shards
    ours = {(r.meter_id, r.reading_key) for r in sixty}

    items, sizes = walk(as_admin, 25, 60)
    assert sizes[0] == 25 and all(size <= 25 for size in sizes)
    assert len(sizes) >= 3
    first = items[:60]
    assert set(keys(first)) == ours and len(set(keys(first))) == 60  # all, each once
    times = [r["received_at"] for r in first]
    assert times == sorted(times, reverse=True)  # newest first overall

    # Filtered by reason: a page may be short, but followed it gives each of ours once.
    items, _ = walk(as_admin, 25, 30, reason="bad_mac")
    mine = [k for k in keys(items) if k in ours]
    assert len(mine) == len(set(mine)) == 30
    assert {r["reason"] for r in items} == {"bad_mac"}

    # One meter's, from its own partition.
    meter = sixty[0].meter_id
    items, sizes = walk(as_admin, 8, 10_000, meter_id=meter)
    assert sizes[:2] == [8, 8]
    assert keys(items) == sorted(((r.meter_id, r.reading_key) for r in sixty
                                  if r.meter_id == meter), reverse=True)

    # The merged list's cursor is not one meter's (a 400, not a start key in the wrong place).
    merged = as_admin.get(PATH, params={"limit": 25}).json()["cursor"]
    refused = as_admin.get(PATH, params={"meter_id": meter, "cursor": merged})
    assert refused.status_code == 400, refused.text


def test_a_cursor_the_list_did_not_give_is_refused(admin):
    _, as_admin = admin
    from_other_list = as_admin.get("/admin/meters", params={"limit": 1}).json()["cursor"]
    for bad in ("not-a-cursor", "eyJzIjo5OTksImsiOm51bGx9", from_other_list):
        if bad is None:
            continue
        refused = as_admin.get(PATH, params={"cursor": bad})
        assert refused.status_code == 400, refused.text
        assert "cursor" in refused.json()["message"]
    assert as_admin.get(PATH, params={"limit": 101}).status_code == 400
