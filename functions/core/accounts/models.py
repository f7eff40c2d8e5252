"""Users and sessions in DynamoDB."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from functions.core.db import gsi_meta, registered, table_meta

ROLE_CUSTOMER = "customer"
ROLE_ADMIN = "admin"


class UsersByEmail(GlobalSecondaryIndex["UserRecord"]):
    Meta = gsi_meta("by_email")
    email = UnicodeAttribute(hash_key=True)


class UsersByRoleStatus(GlobalSecondaryIndex["UserRecord"]):
    Meta = gsi_meta("by_role_status")
    role_status = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


@registered
class UserRecord(Model):
    Meta = table_meta("users")

    user_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    mobile = UnicodeAttribute()
    role = UnicodeAttribute(default=ROLE_CUSTOMER)
    # pending_email -> pending_mobile -> pending_review -> verified | rejected; suspended.
    status = UnicodeAttribute()
    # "<role>#<status>", so admins can list e.g. customers waiting for review.
    role_status = UnicodeAttribute()
    created_at = UnicodeAttribute()
    email_verified = BooleanAttribute(default=False)
    mobile_verified = BooleanAttribute(default=False)
    password_hash = UnicodeAttribute(null=True)
    mfa_enabled = BooleanAttribute(default=False)
    status_reason = UnicodeAttribute(null=True)

    by_email = UsersByEmail()
    by_role_status = UsersByRoleStatus()


class SessionsByUser(GlobalSecondaryIndex["SessionRecord"]):
    Meta = gsi_meta("by_user")
    user_id = UnicodeAttribute(hash_key=True)


@registered
class SessionRecord(Model):
    Meta = table_meta("sessions")

    # Only the SHA-256 of the bearer token is stored: a table dump logs nobody in.
    token_hash = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    role = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    # DynamoDB TTL deletes late (up to days), so expiry is also checked on read.
    expires_at_epoch = NumberAttribute()

    by_user = SessionsByUser()
