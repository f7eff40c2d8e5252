"""Admin review of accounts: verify or reject new customers, suspend and
reactivate accounts. The person is emailed each time.

Every change is conditional on the status the admin acted on, so two admins
deciding at once cannot both win (the second gets 409).
"""

from __future__ import annotations

from collections.abc import Callable

from functions.core.accounts.deps import AccountsDeps
from functions.core.accounts.models import ROLE_CUSTOMER, UserRecord
from functions.core.accounts.sessions import Caller, revoke_all_sessions
from functions.core.accounts.users import (
    PENDING_REVIEW,
    REJECTED,
    SUSPENDED,
    VERIFIED,
)
from functions.core.errors import Conflict, NotFound
from functions.core.logs import logger
from functions.core.paging import Page

SUSPENDABLE = (VERIFIED, PENDING_REVIEW)


def list_accounts(role: str = ROLE_CUSTOMER, status: str = PENDING_REVIEW, limit: int = 100,
                  cursor: str | None = None, deps: AccountsDeps | None = None
                  ) -> Page[UserRecord]:
    """Accounts with this role and status, oldest first (the review queue's order), a
    page at a time: a million verified customers are never read in one request."""
    return (deps or AccountsDeps()).users.role_status_page(role, status, cursor, limit)


def account(user_id: str, deps: AccountsDeps | None = None) -> UserRecord:
    user = (deps or AccountsDeps()).users.get(user_id)
    if user is None:
        raise NotFound("No such account.")
    return user


def _notify(action: str, user: UserRecord, send: Callable[[], None]) -> None:
    try:
        send()
    except Exception as exc:  # the decision stands; the email can be resent by hand
        logger.warning("account email not sent", extra={"user_id": user.user_id,
                                                        "action": action,
                                                        "error": type(exc).__name__})


def verify_customer(admin: Caller, user_id: str, deps: AccountsDeps | None = None
                    ) -> UserRecord:
    deps = deps or AccountsDeps()
    user = account(user_id, deps)
    if user.role != ROLE_CUSTOMER or user.status not in (PENDING_REVIEW, REJECTED):
        raise Conflict(f"Only customers waiting for review can be verified (this one is "
                       f"{user.status}).")
    user = deps.users.update(user, (PENDING_REVIEW, REJECTED), status=VERIFIED,
                             status_reason=None)
    logger.info("customer verified", extra={"user_id": user_id, "by": admin.user_id})
    _notify("verified", user, lambda: deps.notifier.account_verified(user.email, user.name,
                                                                         lang=user.language))
    return user


def reject_customer(admin: Caller, user_id: str, reason: str,
                    deps: AccountsDeps | None = None) -> UserRecord:
    deps = deps or AccountsDeps()
    user = account(user_id, deps)
    if user.role != ROLE_CUSTOMER or user.status != PENDING_REVIEW:
        raise Conflict(f"Only customers waiting for review can be rejected (this one is "
                       f"{user.status}).")
    user = deps.users.update(user, PENDING_REVIEW, status=REJECTED, status_reason=reason)
    revoke_all_sessions(user_id, deps.sessions)
    logger.info("customer rejected", extra={"user_id": user_id, "by": admin.user_id})
    _notify("rejected", user,
            lambda: deps.notifier.account_rejected(user.email, user.name, reason,
                                                   lang=user.language))
    return user


def suspend(admin: Caller, user_id: str, reason: str, deps: AccountsDeps | None = None
            ) -> UserRecord:
    deps = deps or AccountsDeps()
    if user_id == admin.user_id:
        raise Conflict("You cannot suspend your own account.")
    user = account(user_id, deps)
    if user.status not in SUSPENDABLE:
        raise Conflict(f"Only verified or pending accounts can be suspended (this one is "
                       f"{user.status}).")
    previous = user.status
    user = deps.users.update(user, previous, status=SUSPENDED, status_reason=reason,
                             status_before_suspension=previous)
    ended = revoke_all_sessions(user_id, deps.sessions)
    logger.info("account suspended", extra={"user_id": user_id, "by": admin.user_id,
                                            "sessions_ended": ended})
    _notify("suspended", user,
            lambda: deps.notifier.account_suspended(user.email, user.name, reason,
                                                    lang=user.language))
    return user


def reactivate(admin: Caller, user_id: str, deps: AccountsDeps | None = None) -> UserRecord:
    deps = deps or AccountsDeps()
    user = account(user_id, deps)
    if user.status != SUSPENDED:
        raise Conflict(f"Only suspended accounts can be reactivated (this one is "
                       f"{user.status}).")
    restored = user.status_before_suspension or VERIFIED
    user = deps.users.update(user, SUSPENDED, status=restored, status_reason=None,
                             status_before_suspension=None)
    logger.info("account reactivated", extra={"user_id": user_id, "by": admin.user_id})
    _notify("reactivated", user,
            lambda: deps.notifier.account_reactivated(user.email, user.name,
                                                      lang=user.language))
    return user
