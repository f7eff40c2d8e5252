"""Users: statuses, the rules for names/emails/mobiles, and the repository."""

from __future__ import annotations

import re
import secrets
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from functions.core.accounts.models import UserEmailRecord, UserRecord
from functions.core.clock import iso, utcnow
from functions.core.db import cancellation_codes
from functions.core.errors import Conflict
from functions.core.paging import Page, partition_page
from functions.core.settings import get_settings

# Status life cycle (DESIGN.md section 5):
#   pending_email -> pending_mobile -> pending_review (customers) -> verified | rejected
#                                   -> verified (admins: an admin invited them)
#   verified / pending_review -> suspended -> (back to what it was)
PENDING_EMAIL = "pending_email"
PENDING_MOBILE = "pending_mobile"
PENDING_REVIEW = "pending_review"
VERIFIED = "verified"
REJECTED = "rejected"
SUSPENDED = "suspended"
STATUSES = (PENDING_EMAIL, PENDING_MOBILE, PENDING_REVIEW, VERIFIED, REJECTED, SUSPENDED)

# +91, then ten digits of which the first is 6-9 (Indian mobile numbering plan).
INDIAN_MOBILE = re.compile(r"^\+91[6-9][0-9]{9}$")
NAME_MAX = 100


def normalise_email(email: str) -> str:
    return email.strip().lower()


def normalise_mobile(mobile: str) -> str:
    """Drop the spaces and hyphens people type; raise ValueError unless the
    rest is an Indian mobile number in +91 form."""
    compact = re.sub(r"[\s-]", "", mobile)
    if not INDIAN_MOBILE.fullmatch(compact):
        raise ValueError("Enter an Indian mobile number: +91 followed by 10 digits "
                         "starting with 6, 7, 8 or 9.")
    return compact


def normalise_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValueError("Enter a name.")
    if len(cleaned) > NAME_MAX:
        raise ValueError(f"Use at most {NAME_MAX} characters.")
    if any(not ch.isprintable() for ch in cleaned):
        raise ValueError("The name contains characters that cannot be shown.")
    return cleaned


def new_user_id() -> str:
    return f"usr_{secrets.token_hex(8)}"


def _connection() -> Connection:
    settings = get_settings()
    return Connection(region=settings.aws_region, host=settings.endpoint_for("dynamodb"))


class StaleUser(Conflict):
    def __init__(self) -> None:
        super().__init__("The account changed in the meantime; please reload and try again.")


class UserRepository:
    def get(self, user_id: str) -> UserRecord | None:
        if not user_id:  # DynamoDB refuses an empty key (a 500); no user has one
            return None
        try:
            return UserRecord.get(user_id, consistent_read=True)
        except DoesNotExist:
            return None

    def by_email(self, email: str) -> UserRecord | None:
        """The account owning this email: the claim item first (strongly
        consistent), then the index (users written without a claim, e.g. by tests)."""
        address = normalise_email(email)
        try:
            claim = UserEmailRecord.get(address, consistent_read=True)
        except DoesNotExist:
            claim = None
        if claim is not None:
            return self.get(claim.user_id)
        for user in UserRecord.by_email.query(address, limit=1):
            return user
        return None

    def email_owner(self, email: str) -> str | None:
        try:
            return str(UserEmailRecord.get(normalise_email(email), consistent_read=True).user_id)
        except DoesNotExist:
            return None

    def by_role_status(self, role: str, status: str, limit: int = 100,
                       newest_first: bool = False) -> list[UserRecord]:
        return list(UserRecord.by_role_status.query(
            f"{role}#{status}", limit=limit, scan_index_forward=not newest_first))

    def role_status_page(self, role: str, status: str, cursor: str | None,
                         limit: int) -> Page[UserRecord]:
        """Oldest first (the review queue's order), a page at a time."""
        return partition_page(UserRecord.by_role_status, f"{role}#{status}", cursor, limit)

    def create(self, user: UserRecord) -> bool:
        """Write a new user and claim its email in one transaction; False if the
        email already belongs to an account."""
        try:
            with TransactWrite(connection=_connection()) as transaction:
                transaction.save(UserEmailRecord(email=user.email, user_id=user.user_id),
                                 condition=UserEmailRecord.email.does_not_exist())
                transaction.save(user, condition=UserRecord.user_id.does_not_exist())
        except TransactWriteError as exc:
            reasons = cancellation_codes(exc)
            if "ConditionalCheckFailed" in reasons:
                return False
            raise
        return True

    def replace_unverified(self, user: UserRecord) -> bool:
        """Overwrite an account whose email was never confirmed (a repeated
        sign-up); False if it got confirmed meanwhile."""
        try:
            user.save(condition=UserRecord.status == PENDING_EMAIL)
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def remove_unverified(self, user: UserRecord) -> None:
        """Roll back a sign-up whose email could not be sent."""
        with TransactWrite(connection=_connection()) as transaction:
            transaction.delete(user, condition=UserRecord.status == PENDING_EMAIL)
            transaction.delete(UserEmailRecord(email=user.email),
                               condition=UserEmailRecord.user_id == user.user_id)

    def release_email(self, email: str, user_id: str) -> None:
        try:
            UserEmailRecord(email=normalise_email(email)).delete(
                condition=UserEmailRecord.user_id == user_id)
        except DeleteError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise

    def update(self, user: UserRecord, expected_status: str | tuple[str, ...] | None = None,
               **changes: Any) -> UserRecord:
        """Set ``changes`` on the user, only if its status is still what the
        caller saw (so two admins or two tabs cannot both act on stale data)."""
        if "status" in changes:
            changes["role_status"] = f"{user.role}#{changes['status']}"
        changes["updated_at"] = iso(utcnow())
        actions = []
        for name, value in changes.items():
            attribute = getattr(UserRecord, name)
            actions.append(attribute.remove() if value is None else attribute.set(value))
        condition = UserRecord.user_id.exists()
        if expected_status is not None:
            allowed = (expected_status,) if isinstance(expected_status, str) else expected_status
            condition &= UserRecord.status.is_in(*allowed)
        try:
            user.update(actions=actions, condition=condition)
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise StaleUser() from exc
            raise
        return user
