"""Pages over a sharded index: one list read shard after shard, with a cursor.

An index whose partition key carries a shard suffix ("2026-11#07") is read as
RUN_SHARDS partitions in order. A page takes up to `limit` items, moving on to
the next shard when one runs out, so a request reads at most `limit` items and
RUN_SHARDS queries, whatever the size of the list. The cursor is opaque to
clients: base64url JSON of the shard and DynamoDB's LastEvaluatedKey.

`merged_page` and `merged_tied_page` give one order across all the shards instead
(newest first, most negative first, largest first): a page queries every shard for up
to `limit` items and merges them, so it reads at most RUN_SHARDS x `limit` items.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pynamodb.exceptions import QueryError
from pynamodb.indexes import GlobalSecondaryIndex

from functions.core.errors import InvalidInput
from functions.core.shards import RUN_SHARDS, shard_key

T = TypeVar("T")
MAX_PAGE = 1000  # the most items any one request or slice reads from an index


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursor: str | None  # None: this was the last page


def encode_cursor(shard: int, last_key: dict[str, Any] | None) -> str:
    raw = json.dumps({"s": shard, "k": last_key}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[int, dict[str, Any] | None]:
    if not cursor:
        return 0, None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        shard, key = int(data["s"]), data["k"]
        if not 0 <= shard < RUN_SHARDS or not (key is None or isinstance(key, dict)):
            raise ValueError("out of range")
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise InvalidInput("The cursor is not one this list gave out.") from error
    return shard, key


@contextmanager
def _cursor_of_this_list(cursor: str | None) -> Iterator[None]:
    """A well-formed cursor of another list (or index) is refused by DynamoDB as a bad
    start key: the client's mistake (400), not a server error."""
    try:
        yield
    except QueryError as error:
        if cursor and error.cause_response_code == "ValidationException":
            raise InvalidInput("The cursor is not one this list gave out.") from error
        raise


def sharded_page(index: GlobalSecondaryIndex[Any], value: str, cursor: str | None,
                 limit: int, keep: Callable[[Any], bool] = lambda _: True,
                 **query: Any) -> Page[Any]:
    """Up to `limit` items of ``value#00`` .. ``value#NN``, from `cursor` on; `keep`
    filters items after reading (it never makes a page read more than `limit`)."""
    limit = max(1, min(limit, MAX_PAGE))
    shard, last_key = decode_cursor(cursor)
    items: list[Any] = []
    read = 0
    while shard < RUN_SHARDS:
        result = index.query(shard_key(value, shard), limit=limit - read,
                             last_evaluated_key=last_key, **query)
        with _cursor_of_this_list(cursor):
            for item in result:
                read += 1
                if keep(item):
                    items.append(item)
        last_key = result.last_evaluated_key
        if last_key is not None:  # stopped inside this shard: the page is full
            return Page(items, encode_cursor(shard, last_key))
        shard += 1
        if read >= limit:
            return Page(items, encode_cursor(shard, None) if shard < RUN_SHARDS else None)
    return Page(items, None)


def partition_page(index: GlobalSecondaryIndex[Any], value: str, cursor: str | None,
                   limit: int, keep: Callable[[Any], bool] = lambda _: True,
                   **query: Any) -> Page[Any]:
    """Up to `limit` items of one (unsharded) index partition from `cursor` on, with the
    same opaque cursors as sharded_page (its shard is always 0)."""
    limit = max(1, min(limit, MAX_PAGE))
    _, last_key = decode_cursor(cursor)
    result = index.query(value, limit=limit, last_evaluated_key=last_key, **query)
    with _cursor_of_this_list(cursor):
        items = [item for item in result if keep(item)]
    last_key = result.last_evaluated_key
    return Page(items, encode_cursor(0, last_key) if last_key is not None else None)


def merged_page(index: GlobalSecondaryIndex[Any], partitions: Sequence[str], sort_attr: str,
                cursor: str | None, limit: int, *, descending: bool,
                prefix: str | None = None) -> Page[Any]:
    """Up to `limit` items of the index `partitions` (the shards of a list) in ONE order
    (by `sort_attr`, the index's range key, unique per item), optionally only those whose
    key starts with `prefix`: merged_tied_page with no ties to break (each key is its own
    tiebreak). A request reads at most len(partitions) x limit items."""
    first, last = (prefix, prefix + "\uffff") if prefix is not None else (None, None)
    if descending:
        first, last = last, first
    return merged_tied_page(index, partitions, sort_attr, cursor, limit,
                            descending=descending, start_at=first, stop_at=last,
                            tiebreak=lambda item: str(getattr(item, sort_attr)))


def merged_tied_page(index: GlobalSecondaryIndex[Any], partitions: Sequence[str],
                     sort_attr: str, cursor: str | None, limit: int, *, descending: bool,
                     tiebreak: Callable[[Any], str], start_at: Any = None,
                     stop_at: Any = None,
                     keep: Callable[[Any], bool] = lambda _: True) -> Page[Any]:
    """Up to `limit` items of the index `partitions` (the shards of a list) in ONE order,
    for a range key that need not be unique per item (a time or an amount two items may
    share): items are ranked by (sort key value, `tiebreak`: a non-empty text, unique per
    item), and a page only gives out items whose sort key every stopped partition was
    read past, so nothing is skipped and ties are never split. `start_at` / `stop_at`:
    the first and last sort key values the list holds (inclusive; key conditions, so
    items outside are never read). `keep` filters after reading: a page reads about
    len(partitions) x limit items (more only to get past a run of ties) and may hold
    fewer than `limit`, even none, while its cursor goes on."""
    limit = max(1, min(limit, MAX_PAGE))
    attr = getattr(type(index), sort_attr)  # the attribute, not its value
    after: tuple[Any, str] | None = None
    if (position := _tied_cursor(cursor)) is not None:
        try:  # ranked by value: numbers in number order, times in time order
            after = attr.deserialize(position[0]), position[1]
        except (ValueError, TypeError) as error:
            raise InvalidInput("The cursor is not one this list gave out.") from error
    start = after[0] if after else start_at
    low, high = (stop_at, start) if descending else (start, stop_at)
    if low is not None and high is not None and low > high:
        return Page([], None)  # a cursor past the list's last key: nothing is left
    condition = (attr.between(low, high) if low is not None and high is not None
                 else attr >= low if low is not None
                 else attr <= high if high is not None else None)

    def rank(item: Any) -> tuple[Any, str]:
        return getattr(item, sort_attr), tiebreak(item)

    def ahead(a: Any, b: Any) -> bool:  # a comes before b in the list's order
        return bool(a > b) if descending else bool(a < b)

    found: list[tuple[tuple[Any, str], Any]] = []
    bound: Any = None  # every partition was read past this sort key
    for partition in partitions:
        read: list[tuple[tuple[Any, str], Any]] = []
        last_key: dict[str, Any] | None = None
        while True:
            result = index.query(partition, range_key_condition=condition,
                                 scan_index_forward=not descending, limit=limit,
                                 last_evaluated_key=last_key)
            read += [(rank(item), item) for item in result]
            last_key = result.last_evaluated_key
            # Stopped inside one run of ties: read on, or no page could get past it.
            if last_key is None or not read or read[0][0][0] != read[-1][0][0]:
                break
        found += [(r, item) for r, item in read
                  if (after is None or ahead(after, r)) and keep(item)]
        if last_key is not None and read:
            last = read[-1][0][0]
            bound = last if bound is None or ahead(last, bound) else bound
    if bound is not None:
        found = [f for f in found if ahead(f[0][0], bound)]
    found.sort(key=lambda f: f[0], reverse=descending)
    page = found[:limit]
    if len(found) > limit:
        next_after: tuple[Any, str] | None = page[-1][0]
    elif bound is not None:  # everything ranked before (bound, any tie) is given out
        next_after = (bound, "\uffff" if descending else "")
    else:
        next_after = None
    return Page([item for _, item in page], encode_cursor(0, {"after": [
        attr.serialize(next_after[0]), next_after[1]]}) if next_after else None)


def _tied_cursor(cursor: str | None) -> tuple[str, str] | None:
    """The position (sort key as stored, tiebreak) a merged list's cursor carries; None
    for the first page."""
    _, key = decode_cursor(cursor)
    if key is None:
        if cursor:
            raise InvalidInput("The cursor is not one this list gave out.")
        return None
    after = key.get("after")
    if not (isinstance(after, list) and len(after) == 2
            and all(isinstance(a, str) and len(a) <= 600 for a in after) and after[0]):
        raise InvalidInput("The cursor is not one this list gave out.")
    return after[0], after[1]
