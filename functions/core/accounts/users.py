"""The users table behind a small repository."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from functions.core.accounts.models import UserRecord


def normalise_email(email: str) -> str:
    return email.strip().lower()


class UserRepository:
    def get(self, user_id: str) -> UserRecord | None:
        try:
            return UserRecord.get(user_id, consistent_read=True)
        except DoesNotExist:
            return None

    def by_email(self, email: str) -> UserRecord | None:
        for user in UserRecord.by_email.query(normalise_email(email), limit=1):
            return user
        return None

    def by_role_status(self, role: str, status: str, limit: int = 100) -> list[UserRecord]:
        return list(UserRecord.by_role_status.query(f"{role}#{status}", limit=limit))
