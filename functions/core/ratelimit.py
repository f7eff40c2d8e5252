"""Fixed-window rate limits, counted in the rate_limits table.

Each (action, scope, key, window) is one item. A hit is one atomic UpdateItem:
ADD 1 to the count on the condition that the count is still below the limit.
The condition failing means the window is full: the caller gets RateLimited
(429) with Retry-After set to the seconds left in the window. Items carry a TTL
so DynamoDB removes old windows by itself.

Keys that identify a person (emails) are hashed first: the table holds no
addresses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.models import Model

from functions.core.clock import epoch, utcnow
from functions.core.db import registered, table_meta
from functions.core.errors import RateLimited


@registered
class RateLimitRecord(Model):
    """A fixed-window counter: bucket = "<action>:<scope>:<key>:<window start>"."""

    Meta = table_meta("rate_limits")

    bucket = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(default=0)
    expires_at_epoch = NumberAttribute()


@dataclass(frozen=True)
class Limit:
    action: str
    scope: str  # "account" or "client"
    max_hits: int
    window_seconds: int


class RateLimitRepository:
    def hit(self, bucket: str, max_hits: int, expires_at_epoch: int) -> bool:
        """Count one hit; False (and nothing counted) if the bucket is full."""
        record = RateLimitRecord(bucket=bucket)
        try:
            record.update(
                actions=[RateLimitRecord.hits.add(1),
                         RateLimitRecord.expires_at_epoch.set(expires_at_epoch)],
                condition=(RateLimitRecord.hits.does_not_exist()
                           | (RateLimitRecord.hits < max_hits)),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True


def limit_key(value: str) -> str:
    """A short, stable, non-reversible key for an email or similar."""
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]


def enforce(limit: Limit, key: str, repo: RateLimitRepository | None = None,
            now_epoch: int | None = None) -> None:
    """Count a hit of ``limit`` for ``key``; raise RateLimited if over the limit."""
    repo = repo or RateLimitRepository()
    now = epoch(utcnow()) if now_epoch is None else now_epoch
    window_start = now - now % limit.window_seconds
    window_end = window_start + limit.window_seconds
    bucket = f"{limit.action}:{limit.scope}:{key}:{window_start}"
    # Keep the item a little past its window, then let TTL delete it.
    if not repo.hit(bucket, limit.max_hits, window_end + 60):
        raise RateLimited("Too many requests. Please wait and try again.",
                          retry_after=max(1, window_end - now))
