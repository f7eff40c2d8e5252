"""Properties and their tenancies in DynamoDB.

A property has one owner for life. Leasing is recorded as tenancies (one row
per invitation, kept forever as history): invited -> active -> ended, or
invited -> cancelled. The property row carries `active_tenancy_id`, written in
the same transaction that activates a tenancy, so "at most one active tenancy
per property" is a conditional write, not a read-then-write race.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from functions.core.db import gsi_meta, registered, table_meta
from functions.core.shards import sharded

CATEGORIES = ("residential", "commercial")

PROPERTY_ACTIVE = "active"
LIST_KEY = "property"  # the by_list index's partition value (before its shard)

TENANCY_INVITED = "invited"
TENANCY_ACTIVE = "active"
TENANCY_ENDED = "ended"
TENANCY_CANCELLED = "cancelled"

ENDED_DELISTED = "delisted_by_owner"
ENDED_LEFT = "left_by_tenant"


class PropertiesByOwner(GlobalSecondaryIndex["PropertyRecord"]):
    Meta = gsi_meta("by_owner")
    owner_id = UnicodeAttribute(hash_key=True)


class PropertiesByConsumerNumber(GlobalSecondaryIndex["PropertyRecord"]):
    Meta = gsi_meta("by_consumer_number")
    consumer_number = UnicodeAttribute(hash_key=True)


class PropertiesByList(GlobalSecondaryIndex["PropertyRecord"]):
    """"property#<shard of the id>" -> properties by registration time: the admin search
    reads it a page at a time (sharded: a bulk registration spreads its writes)."""

    Meta = gsi_meta("by_list")
    list_shard = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


@registered
class PropertyRecord(Model):
    Meta = table_meta("properties")

    property_id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    line1 = UnicodeAttribute()
    line2 = UnicodeAttribute(null=True)
    city = UnicodeAttribute()
    state = UnicodeAttribute()
    pincode = UnicodeAttribute()  # six digits, text: an identifier, not a number
    category = UnicodeAttribute()  # residential | commercial
    sanctioned_load_kw = UnicodeAttribute()  # a Decimal as text, e.g. "5" or "7.5"
    created_at = UTCDateTimeAttribute()
    meter_id = UnicodeAttribute(null=True)  # set by the meter service through attach_meter()
    meter_attached_at = UTCDateTimeAttribute(null=True)
    status = UnicodeAttribute(default=PROPERTY_ACTIVE)
    # The one tenancy in status "active", if any (see the module docstring).
    active_tenancy_id = UnicodeAttribute(null=True)
    # Ten digits with a Verhoeff check digit, assigned once (consumer_numbers.py). Null
    # only on properties registered before numbers existed, until first viewed.
    consumer_number = UnicodeAttribute(null=True)
    list_shard = UnicodeAttribute(null=True)  # "property#<shard>": set on save

    by_owner = PropertiesByOwner()
    by_consumer_number = PropertiesByConsumerNumber()
    by_list = PropertiesByList()

    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        self.list_shard = sharded(LIST_KEY, self.property_id)
        return super().serialize(null_check)


class TenanciesByTenant(GlobalSecondaryIndex["TenancyRecord"]):
    Meta = gsi_meta("by_tenant")
    tenant_id = UnicodeAttribute(hash_key=True)


class TenanciesByInviteEmail(GlobalSecondaryIndex["TenancyRecord"]):
    Meta = gsi_meta("by_invite_email")
    invite_email = UnicodeAttribute(hash_key=True)


@registered
class TenancyRecord(Model):
    Meta = table_meta("tenancies")

    property_id = UnicodeAttribute(hash_key=True)
    tenancy_id = UnicodeAttribute(range_key=True)
    owner_id = UnicodeAttribute()
    invite_email = UnicodeAttribute()  # normalised (lower case)
    status = UnicodeAttribute(default=TENANCY_INVITED)
    invited_at = UTCDateTimeAttribute()
    # Set on acceptance: the tenant's user id and name (shown on the property).
    tenant_id = UnicodeAttribute(null=True)
    tenant_name = UnicodeAttribute(null=True)
    # UTC instants. The tenant occupies from start_date until end_date (exclusive);
    # which IST days that covers is decided by properties.occupancy.
    start_date = UTCDateTimeAttribute(null=True)
    end_date = UTCDateTimeAttribute(null=True)
    # The move-in day the owner stated when inviting (IST date "YYYY-MM-DD"): on
    # acceptance the tenancy starts at 00:00 IST that day instead of the moment of
    # acceptance. The owner can also state (or correct) the move-in and move-out days
    # of a tenancy later, outside months already billed (properties.service).
    move_in_date = UnicodeAttribute(null=True)
    dates_stated_at = UTCDateTimeAttribute(null=True)  # when the owner last stated dates
    ended_reason = UnicodeAttribute(null=True)  # delisted_by_owner | left_by_tenant
    cancelled_at = UTCDateTimeAttribute(null=True)

    by_tenant = TenanciesByTenant()
    by_invite_email = TenanciesByInviteEmail()
