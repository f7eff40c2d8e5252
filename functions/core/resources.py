"""The one definition of every table and queue.

`tools/provision.py` creates these on the emulator and `infra/` renders them
into CloudFormation, so the local stack and the cloud cannot drift (a test
compares them). pynamodb models take their table names from here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from functions.core.settings import Settings, get_settings

AttrType = Literal["S", "N"]


@dataclass(frozen=True)
class Key:
    name: str
    type: AttrType = "S"


@dataclass(frozen=True)
class Index:
    name: str
    hash_key: Key
    range_key: Key | None = None
    # KEYS_ONLY: an update of other attributes writes nothing to the index (the lists
    # read the keys, then the items by key).
    projection: Literal["ALL", "KEYS_ONLY"] = "ALL"


@dataclass(frozen=True)
class TableDef:
    logical: str
    hash_key: Key
    range_key: Key | None = None
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None

    def physical(self, settings: Settings | None = None) -> str:
        return (settings or get_settings()).resource_name(self.logical)

    def attribute_types(self) -> dict[str, AttrType]:
        keys = [self.hash_key, self.range_key]
        for index in self.indexes:
            keys += [index.hash_key, index.range_key]
        return {k.name: k.type for k in keys if k is not None}


@dataclass(frozen=True)
class QueueDef:
    logical: str
    # Lambda's rule of thumb: visibility >= 6 x the function timeout.
    visibility_timeout: int = 60
    max_receive_count: int = 3
    batch_size: int = 10
    retention_seconds: int = 4 * 24 * 3600
    dlq_retention_seconds: int = 14 * 24 * 3600
    tags: dict[str, str] = field(default_factory=dict)

    def physical(self, settings: Settings | None = None) -> str:
        return (settings or get_settings()).resource_name(self.logical)

    def dlq_physical(self, settings: Settings | None = None) -> str:
        return f"{self.physical(settings)}-dlq"


S = Key
N = lambda name: Key(name, "N")  # noqa: E731 - reads better in the table list below


TABLES: tuple[TableDef, ...] = (
    TableDef(
        "users",
        S("user_id"),
        indexes=(
            Index("by_email", S("email")),
            Index("by_role_status", S("role_status"), S("created_at")),
        ),
    ),
    TableDef("sessions", S("token_hash"), indexes=(Index("by_user", S("user_id")),),
             ttl_attribute="expires_at_epoch"),
    TableDef("one_time_codes", S("code_id"), ttl_attribute="expires_at_epoch"),
    TableDef("rate_limits", S("bucket"), ttl_attribute="expires_at_epoch"),
    # One item per email address: a conditional put makes sign-up unique per email
    # (a GSI cannot enforce uniqueness).
    TableDef("user_emails", S("email")),
    TableDef("properties", S("property_id"),
             indexes=(Index("by_owner", S("owner_id")),
                      # The consumer number (properties/consumer_numbers.py): quick pay,
                      # admin search and payment references find the connection by it.
                      Index("by_consumer_number", S("consumer_number")),
                      # by_list: "property#<shard>" -> properties by registration time; the
                      # admin search reads it a page at a time (no scan on a request path).
                      Index("by_list", S("list_shard"), S("created_at")))),
    TableDef(
        "tenancies",
        S("property_id"),
        S("tenancy_id"),
        indexes=(Index("by_tenant", S("tenant_id")), Index("by_invite_email", S("invite_email"))),
    ),
    TableDef(
        "meters",
        S("meter_id"),
        # by_status: "<status>#<shard>" -> meter ids; a run lists each shard in slices.
        # The admin's list: by_recent "<status>#<shard of 4>" -> "<registered_at>#<id>",
        # newest first; by_serial "meter#<shard of 4>" -> "<SERIAL>#<id>", the search by
        # the start of a serial. Keys only: a reading's update of the meter writes neither.
        indexes=(Index("by_property", S("property_id")),
                 Index("by_status", S("status_shard"), S("meter_id")),
                 Index("by_recent", S("status_list"), S("list_sort"), "KEYS_ONLY"),
                 Index("by_serial", S("list_shard"), S("serial_key"), "KEYS_ONLY")),
    ),
    TableDef("tariffs", S("category"), S("effective_from")),
    # by_period: every started run by id (= period), newest first (the admin's list);
    # by_open_window: runs not closed yet by the end of their answer window (sparse: a
    # closed run leaves it), for the window sweep. A run writes them a few times in its life.
    TableDef("billing_runs", S("run_id"),
             indexes=(Index("by_period", S("list_key"), S("run_id")),
                      Index("by_open_window", S("open_key"), S("window_ends_at")))),
    # A run's progress counters, one item per shard ("<run_id>#<shard>"): no item
    # takes every meter's write; the progress view reads all shards in one call.
    TableDef("run_counters", S("counter_key")),
    # A run's silent meters, one item each ("<run_id>#<meter_id>"), listed by shard.
    TableDef("run_silent_meters", S("silent_key"),
             indexes=(Index("by_run", S("run_shard"), S("meter_id")),)),
    # Markers of run slices already done, so a redelivered slice does nothing twice.
    TableDef("run_slices", S("slice_key"), ttl_attribute="purge_at_epoch"),
    TableDef(
        "read_requests",
        S("nonce"),
        indexes=(Index("by_run", S("run_shard"), S("meter_id")),),
        ttl_attribute="purge_at_epoch",
    ),
    TableDef(
        "readings",
        S("meter_id"),
        S("reading_key"),
        # by_rejections: "rejected#<shard>" -> what the reading endpoint refused, by time.
        indexes=(Index("by_run", S("run_shard"), S("meter_id")),
                 Index("by_rejections", S("rejection_shard"), S("received_at"))),
    ),
    TableDef(
        "bills",
        S("bill_id"),
        indexes=(
            Index("by_payer", S("payer_id"), S("period")),
            Index("by_property", S("property_id"), S("period")),
            Index("by_period", S("period_shard"), S("bill_id")),
            Index("by_status", S("status_shard"), S("due_date")),
        ),
    ),
    # What each payer owes on overdue bills (functions/core/bills/arrears.py), changed in
    # the bill's own transaction; by_owed: "owed#<shard>" -> payers by amount (sparse:
    # only while they owe): the defaulters list reads it a page at a time.
    TableDef("arrears", S("payer_id"),
             indexes=(Index("by_owed", S("owed_shard"), N("owed_paise")),)),
    TableDef("payments", S("payment_id"),
             indexes=(Index("by_bill", S("bill_id")),
                      # The IST day the money was taken: the daily reconciliation's read.
                      Index("by_day", S("paid_day"), S("payment_id")))),
    # Refunds through the gateway: one item per refund we asked for (or the gateway
    # reported), keyed by our idempotency key.
    TableDef("payment_refunds", S("refund_key"),
             indexes=(Index("by_bill", S("bill_id")), Index("by_payment", S("payment_id")))),
    # The daily reconciliation with the gateway: a summary and one item per mismatch.
    TableDef("payment_reconciliations", S("day"), S("entry")),
    # Our side of a payment gateway order: which bill it pays and the amount it was
    # created for, so a webhook is checked against what we asked for.
    TableDef("payment_orders", S("order_id"), indexes=(Index("by_bill", S("bill_id")),)),
    TableDef(
        "tickets",
        S("ticket_id"),
        indexes=(Index("by_customer", S("customer_id"), S("created_at")),
                 Index("by_status", S("status"), S("created_at")),
                 # by_list: "ticket#<shard>" -> every ticket by age, a page at a time (admin).
                 Index("by_list", S("list_shard"), S("created_at"))),
    ),
    TableDef("ticket_comments", S("ticket_id"), S("comment_key")),
    TableDef("counters", S("name")),
    # Notifications (functions/core/notifications): one item per message, keyed by the
    # event that caused it ("bill_issued#<bill_id>"), so an event notifies once.
    # by_pending: "pending#<shard>" while not yet handed to SES/SNS (the sweep's read);
    # by_undelivered: "<topic>#<shard>" until a delivery event confirms it (the admin's
    # "who never got their bill"). Both sparse: the attribute goes once done.
    TableDef("notifications", S("message_key"),
             indexes=(Index("by_pending", S("pending_shard"), S("created_at")),
                      Index("by_undelivered", S("undelivered_shard"), S("message_key")))),
    # Addresses (email or mobile) that bounced permanently or complained: never sent to.
    TableDef("suppressed_addresses", S("address")),
    # Prepaid (functions/core/prepaid): an account per connection (mode, balance, relay),
    # and its append-only ledger, one item per entry keyed by what caused it.
    # by_negative: "negative#<shard>" -> accounts whose balance went below 0, by balance
    # (sparse: set by a debit's transaction, removed once the balance is back).
    TableDef("prepaid_accounts", S("connection_id"),
             indexes=(Index("by_negative", S("negative_shard"), N("balance_paise")),)),
    TableDef("prepaid_ledger", S("connection_id"), S("entry_key"),
             indexes=(Index("by_posted", S("connection_id"), S("posted_key")),)),
    # Remote disconnect/reconnect commands, one item per command, by meter; by_state:
    # "<pending|acked|failed>#<shard>" -> by when due again (pending) or done: the retry
    # sweep's read and the admin's lists.
    TableDef("meter_commands", S("command_id"),
             indexes=(Index("by_meter", S("meter_id"), S("issued_at")),
                      Index("by_state", S("state_shard"), S("state_at")))),
    # Daily reads: one item per meter-day, kept for the configured retention (TTL).
    TableDef("meter_days", S("meter_id"), S("day"), ttl_attribute="purge_at_epoch"),
)

QUEUES: tuple[QueueDef, ...] = (
    # Batches of meter ids for one billing run -> iot_fanout sends read requests.
    QueueDef("fanout", visibility_timeout=180, batch_size=1),
    # Verified raw readings -> billing validates, prices and writes bills.
    QueueDef("readings", visibility_timeout=120, batch_size=10),
    # Slices of a billing run's listing and closing: a page of one shard's meters each,
    # with the continuation of that shard in the message it sends next.
    QueueDef("run_steps", visibility_timeout=180, batch_size=1),
    # Keys of notifications to send -> notification_sender hands them to SES/SNS once.
    QueueDef("notifications", visibility_timeout=120, batch_size=5),
    # Slices of the nightly overdue sweep: a page of one shard's issued past-due bills
    # each, with the shard's next page in the message it sends next.
    QueueDef("overdue_steps", visibility_timeout=180, batch_size=1),
    # SES delivery, bounce and complaint events (configuration set -> SNS -> this queue)
    # -> notification_events records them and suppresses bad addresses.
    QueueDef("notification_events", visibility_timeout=60, batch_size=10),
)


def table(logical: str) -> TableDef:
    for definition in TABLES:
        if definition.logical == logical:
            return definition
    raise KeyError(f"no table named {logical!r} in functions/core/resources.py")


def queue(logical: str) -> QueueDef:
    for definition in QUEUES:
        if definition.logical == logical:
            return definition
    raise KeyError(f"no queue named {logical!r} in functions/core/resources.py")
