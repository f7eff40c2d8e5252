"""Time is UTC in storage; India Standard Time only when shown to people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

IST = timezone(timedelta(hours=5, minutes=30), name="IST")


def utcnow() -> datetime:
    return datetime.now(UTC)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with a Z, the one timestamp format on the wire and in storage."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
