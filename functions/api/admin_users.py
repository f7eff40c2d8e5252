"""Admin review of accounts and admin invitations."""

from __future__ import annotations

from typing import Annotated, Literal

from chalice import Blueprint
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from functions.api.accounts import Email, Mobile, Name, Profile
from functions.api.http import Access, route
from functions.core.accounts import review, signup
from functions.core.accounts.models import UserRecord
from functions.core.accounts.sessions import Caller

bp = Blueprint(__name__)


def _reason(text: str) -> str:
    cleaned = " ".join(text.split())
    if len(cleaned) < 3:
        raise ValueError("Give a reason the person can act on.")
    return cleaned


Reason = Annotated[str, Field(max_length=500), AfterValidator(_reason)]
StatusName = Literal["pending_email", "pending_mobile", "pending_review", "verified",
                     "rejected", "suspended"]


class AccountsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["customer", "admin"] = "customer"
    status: StatusName = "pending_review"
    # A page at a time (the next page: the cursor of the last one).
    cursor: str | None = Field(default=None, min_length=1, max_length=2000)
    limit: int = Field(default=100, ge=1, le=500)


class ReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    reason: Reason


class InvitationBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: Name
    email: Email
    mobile: Mobile


class AdminAccountView(Profile):
    """What an admin sees of an account: the profile plus review details."""

    invited_by: str | None
    updated_at: str | None

    @classmethod
    def of(cls, user: UserRecord) -> AdminAccountView:
        return cls(**Profile.of(user).model_dump(), invited_by=user.invited_by,
                   updated_at=user.updated_at)


class AdminAccountList(BaseModel):
    accounts: list[AdminAccountView]
    cursor: str | None = Field(default=None, description="the next page (null: the last)")


@route(bp, "/admin/users", access=Access.ADMIN, query=AccountsQuery,
       response=AdminAccountList,
       summary="Accounts by role and status (default: customers waiting for review), oldest "
               "first, a page at a time")
def list_accounts(caller: Caller, query: AccountsQuery) -> AdminAccountList:
    page = review.list_accounts(query.role, query.status, query.limit, query.cursor)
    return AdminAccountList(accounts=[AdminAccountView.of(user) for user in page.items],
                            cursor=page.cursor)


@route(bp, "/admin/users/{user_id}", access=Access.ADMIN, response=AdminAccountView,
       summary="One account's details")
def account_detail(caller: Caller, user_id: str) -> AdminAccountView:
    return AdminAccountView.of(review.account(user_id))


@route(bp, "/admin/users/{user_id}/verify", methods=["POST"], access=Access.ADMIN,
       response=AdminAccountView, summary="Verify a customer (they are emailed)")
def verify_customer(caller: Caller, user_id: str) -> AdminAccountView:
    return AdminAccountView.of(review.verify_customer(caller, user_id))


@route(bp, "/admin/users/{user_id}/reject", methods=["POST"], access=Access.ADMIN,
       body=ReasonBody, response=AdminAccountView,
       summary="Reject a customer with a reason (they are emailed)")
def reject_customer(caller: Caller, user_id: str, body: ReasonBody) -> AdminAccountView:
    return AdminAccountView.of(review.reject_customer(caller, user_id, body.reason))


@route(bp, "/admin/users/{user_id}/suspend", methods=["POST"], access=Access.ADMIN,
       body=ReasonBody, response=AdminAccountView,
       summary="Suspend an account (ends its sessions)")
def suspend(caller: Caller, user_id: str, body: ReasonBody) -> AdminAccountView:
    return AdminAccountView.of(review.suspend(caller, user_id, body.reason))


@route(bp, "/admin/users/{user_id}/reactivate", methods=["POST"], access=Access.ADMIN,
       response=AdminAccountView, summary="Reactivate a suspended account")
def reactivate(caller: Caller, user_id: str) -> AdminAccountView:
    return AdminAccountView.of(review.reactivate(caller, user_id))


@route(bp, "/admin/invitations", methods=["POST"], access=Access.ADMIN, body=InvitationBody,
       response=AdminAccountView, status=201,
       summary="Invite an administrator (they confirm email and mobile)")
def invite_admin(caller: Caller, body: InvitationBody) -> AdminAccountView:
    user = signup.invite_admin(signup.NewAccount(body.name, body.email, body.mobile),
                               invited_by=caller.user_id)
    return AdminAccountView.of(user)
