"""Pages over a sharded index: one list read shard after shard, with a cursor.

An index whose partition key carries a shard suffix ("2026-11#07") is read as
RUN_SHARDS partitions in order. A page takes up to `limit` items, moving on to
the next shard when one runs out, so a request reads at most `limit` items and
RUN_SHARDS queries, whatever the size of the list. The cursor is opaque to
clients: base64url JSON of the shard and DynamoDB's LastEvaluatedKey.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
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
