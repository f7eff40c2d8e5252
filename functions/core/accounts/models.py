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
    updated_at = UnicodeAttribute(null=True)
    email_verified = BooleanAttribute(default=False)
    mobile_verified = BooleanAttribute(default=False)
    password_hash = UnicodeAttribute(null=True)
    mfa_enabled = BooleanAttribute(default=False)
    # The language of the portal, emails and SMS (functions/core/i18n); null: English.
    language = UnicodeAttribute(null=True)
    status_reason = UnicodeAttribute(null=True)
    # The status a suspension interrupted, restored on reactivation.
    status_before_suspension = UnicodeAttribute(null=True)
    # Who created an admin account (an admin's user id, or "bootstrap").
    invited_by = UnicodeAttribute(null=True)
    # How the customer wants non-essential messages (bill ready, payment received, due
    # reminders): "email", "sms" or "email+sms"; null means email. Sign-in codes and
    # account notices go as they always do.
    notify_by = UnicodeAttribute(null=True)

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


@registered
class UserEmailRecord(Model):
    """Claims an email address for one account (conditional put = uniqueness)."""

    Meta = table_meta("user_emails")

    email = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()


@registered
class OneTimeCodeRecord(Model):
    """An email link token or SMS code, stored only as a salted SHA-256."""

    Meta = table_meta("one_time_codes")

    code_id = UnicodeAttribute(hash_key=True)
    purpose = UnicodeAttribute()
    user_id = UnicodeAttribute()
    salt = UnicodeAttribute()
    code_hash = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    expires_at_epoch = NumberAttribute()
    # What the code confirms beyond "it is you", e.g. the new mobile number or
    # the MFA setting asked for. Never a secret.
    subject = UnicodeAttribute(null=True)

