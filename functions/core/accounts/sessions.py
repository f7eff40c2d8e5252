"""Bearer sessions: random tokens, stored hashed, expiring and revocable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist

from functions.core.accounts.models import SessionRecord, UserRecord
from functions.core.clock import epoch, utcnow

SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class Caller:
    """Who is calling, as established by the authorizer."""

    user_id: str
    role: str
    session_id: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionRepository:
    def get(self, token_hash: str) -> SessionRecord | None:
        try:
            return SessionRecord.get(token_hash)
        except DoesNotExist:
            return None

    def save(self, record: SessionRecord) -> None:
        record.save()

    def delete(self, token_hash: str) -> None:
        SessionRecord(token_hash=token_hash).delete()

    def for_user(self, user_id: str) -> list[SessionRecord]:
        return list(SessionRecord.by_user.query(user_id))


def issue_session(user: UserRecord, repo: SessionRepository | None = None,
                  lifetime: timedelta = SESSION_LIFETIME) -> str:
    """Create a session for ``user`` and return the bearer token (shown once)."""
    repo = repo or SessionRepository()
    token = secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + lifetime
    repo.save(SessionRecord(
        token_hash=hash_token(token), user_id=user.user_id, role=user.role,
        created_at=now, expires_at=expires, expires_at_epoch=epoch(expires),
    ))
    return token


def resolve_session(token: str, repo: SessionRepository | None = None) -> Caller | None:
    repo = repo or SessionRepository()
    if not token or len(token) > 200:
        return None
    token_hash = hash_token(token)
    record = repo.get(token_hash)
    if record is None or record.expires_at <= utcnow():
        return None
    return Caller(user_id=record.user_id, role=record.role, session_id=token_hash)


def revoke_session(session_id: str, repo: SessionRepository | None = None) -> None:
    (repo or SessionRepository()).delete(session_id)


def revoke_all_sessions(user_id: str, repo: SessionRepository | None = None,
                        keep: str | None = None) -> int:
    """End every session of ``user_id`` (except ``keep``, a session id); the count ended."""
    repo = repo or SessionRepository()
    sessions = [r for r in repo.for_user(user_id) if r.token_hash != keep]
    for record in sessions:
        repo.delete(record.token_hash)
    return len(sessions)
