"""Access helpers other parts of the platform call.

`get_user(user_id)` and `require_verified_customer(user_id)` are the public
way to look a user up and to check that a customer may own properties, meters
and bills (DESIGN.md section 5: "Only verified customers get properties,
meters and bills").
"""

from __future__ import annotations

from functions.core.accounts.models import ROLE_CUSTOMER, UserRecord
from functions.core.accounts.users import UserRepository
from functions.core.errors import Forbidden, NotFound

STATUS_VERIFIED = "verified"


def get_user(user_id: str, users: UserRepository | None = None) -> UserRecord:
    """The user with this id; NotFound (404) if there is none."""
    user = (users or UserRepository()).get(user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def find_user(user_id: str, users: UserRepository | None = None) -> UserRecord | None:
    """The user with this id, or None."""
    return (users or UserRepository()).get(user_id)


def require_verified_customer(user_id: str, users: UserRepository | None = None) -> UserRecord:
    """The customer with this id if an admin has verified them.

    Raises Forbidden (403) for an unknown id, an admin, or a customer who is
    pending, rejected or suspended, so callers need one check only.
    """
    user = (users or UserRepository()).get(user_id)
    if user is None or user.role != ROLE_CUSTOMER or user.status != STATUS_VERIFIED:
        raise Forbidden("This account is not a verified customer.")
    return user
