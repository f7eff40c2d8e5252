"""Accounts and access: users, sessions, sign-up, login, admin review.

Other parts of the platform use `get_user` and `require_verified_customer`.
"""

from functions.core.accounts.service import find_user, get_user, require_verified_customer

__all__ = ["find_user", "get_user", "require_verified_customer"]
