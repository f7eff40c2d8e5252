"""Properties and tenancies behind small repositories (pynamodb)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from functions.core.errors import Conflict
from functions.core.paging import Page, sharded_page
from functions.core.properties.models import (
    LIST_KEY,
    TENANCY_ACTIVE,
    TENANCY_ENDED,
    TENANCY_INVITED,
    PropertyRecord,
    TenancyRecord,
)


class PropertyRepository:
    def get(self, property_id: str) -> PropertyRecord | None:
        try:
            return PropertyRecord.get(property_id, consistent_read=True)
        except DoesNotExist:
            return None

    def create(self, record: PropertyRecord) -> None:
        record.save(condition=PropertyRecord.property_id.does_not_exist())

    def of_owner(self, owner_id: str) -> list[PropertyRecord]:
        return list(PropertyRecord.by_owner.query(owner_id))

    def by_consumer_number(self, number: str) -> PropertyRecord | None:
        """The property with this consumer number (one index query, one item)."""
        for record in PropertyRecord.by_consumer_number.query(number, limit=1):
            return record
        return None

    def set_consumer_number(self, property_id: str, number: str) -> bool:
        """Give an older property its number; False if it already has one."""
        try:
            PropertyRecord(property_id=property_id).update(
                actions=[PropertyRecord.consumer_number.set(number)],
                condition=PropertyRecord.property_id.exists()
                & PropertyRecord.consumer_number.does_not_exist())
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def page(self, cursor: str | None, limit: int,
             keep: Callable[[PropertyRecord], bool] = lambda _: True) -> Page[PropertyRecord]:
        """Every property, a page at a time (the by_list index, shard after shard, the
        newest first within a shard): a request reads at most `limit` items, whatever
        the size of the table. `keep` filters what was read (a page may come short)."""
        return sharded_page(PropertyRecord.by_list, LIST_KEY, cursor, limit, keep,
                            scan_index_forward=False)

    def set_meter(self, property_id: str, meter_id: str, at: datetime) -> PropertyRecord:
        """Attach `meter_id`; Conflict if the property already has a different meter."""
        record = PropertyRecord(property_id=property_id)
        try:
            record.update(
                actions=[PropertyRecord.meter_id.set(meter_id),
                         PropertyRecord.meter_attached_at.set(at)],
                condition=PropertyRecord.property_id.exists()
                & (PropertyRecord.meter_id.does_not_exist()
                   | (PropertyRecord.meter_id == meter_id)),
            )
        except UpdateError as error:
            raise Conflict("The property already has another meter; detach it first.") \
                from error
        return record

    def clear_meter(self, property_id: str) -> None:
        PropertyRecord(property_id=property_id).update(
            actions=[PropertyRecord.meter_id.remove(), PropertyRecord.meter_attached_at.remove()],
            condition=PropertyRecord.property_id.exists(),
        )


class TenancyRepository:
    def get(self, property_id: str, tenancy_id: str) -> TenancyRecord | None:
        try:
            return TenancyRecord.get(property_id, tenancy_id, consistent_read=True)
        except DoesNotExist:
            return None

    def of_property(self, property_id: str) -> list[TenancyRecord]:
        return list(TenancyRecord.query(property_id, consistent_read=True))

    def of_tenant(self, tenant_id: str) -> list[TenancyRecord]:
        return list(TenancyRecord.by_tenant.query(tenant_id))

    def invited_email(self, email: str) -> list[TenancyRecord]:
        return list(TenancyRecord.by_invite_email.query(email))

    def create(self, record: TenancyRecord) -> None:
        try:
            record.save(condition=TenancyRecord.tenancy_id.does_not_exist())
        except PutError as error:
            raise Conflict("This invitation exists already.") from error

    def cancel(self, record: TenancyRecord, at: datetime) -> None:
        """invited -> cancelled, only if it is still an invitation."""
        try:
            record.update(actions=[TenancyRecord.status.set("cancelled"),
                                   TenancyRecord.cancelled_at.set(at)],
                          condition=TenancyRecord.status == TENANCY_INVITED)
        except UpdateError as error:
            raise Conflict("The invitation is no longer pending.") from error

    def activate(self, tenancy: TenancyRecord, tenant_id: str, tenant_name: str,
                 at: datetime) -> None:
        """invited -> active and mark the property as let, in one transaction:
        it fails (Conflict) if the invitation is no longer pending or the
        property already has an active tenancy."""
        try:
            with TransactWrite(connection=_connection(TenancyRecord)) as transaction:
                transaction.update(
                    tenancy,
                    actions=[TenancyRecord.status.set(TENANCY_ACTIVE),
                             TenancyRecord.tenant_id.set(tenant_id),
                             TenancyRecord.tenant_name.set(tenant_name),
                             TenancyRecord.start_date.set(at)],
                    condition=TenancyRecord.status == TENANCY_INVITED,
                )
                transaction.update(
                    PropertyRecord(property_id=tenancy.property_id),
                    actions=[PropertyRecord.active_tenancy_id.set(tenancy.tenancy_id)],
                    condition=PropertyRecord.property_id.exists()
                    & PropertyRecord.active_tenancy_id.does_not_exist(),
                )
        except TransactWriteError as error:
            raise Conflict("The property already has a tenant, or the invitation is no "
                           "longer pending.") from error

    def end(self, tenancy: TenancyRecord, reason: str, at: datetime) -> None:
        """active -> ended and free the property, in one transaction."""
        try:
            with TransactWrite(connection=_connection(TenancyRecord)) as transaction:
                transaction.update(
                    tenancy,
                    actions=[TenancyRecord.status.set(TENANCY_ENDED),
                             TenancyRecord.end_date.set(at),
                             TenancyRecord.ended_reason.set(reason)],
                    condition=TenancyRecord.status == TENANCY_ACTIVE,
                )
                transaction.update(
                    PropertyRecord(property_id=tenancy.property_id),
                    actions=[PropertyRecord.active_tenancy_id.remove()],
                    condition=PropertyRecord.active_tenancy_id == tenancy.tenancy_id,
                )
        except TransactWriteError as error:
            raise Conflict("The tenancy has already ended.") from error


    def set_dates(self, tenancy: TenancyRecord, start: datetime, end: datetime | None,
                  at: datetime) -> None:
        """The owner's stated move-in/move-out, provided the tenancy is still as read
        (status and dates): Conflict if it changed meanwhile."""
        unchanged = TenancyRecord.status == tenancy.status
        for attribute, value in ((TenancyRecord.start_date, tenancy.start_date),
                                 (TenancyRecord.end_date, tenancy.end_date)):
            unchanged &= attribute.does_not_exist() if value is None else attribute == value
        actions: list[Any] = [TenancyRecord.dates_stated_at.set(at),
                              TenancyRecord.start_date.set(start)]
        if end is not None:
            actions.append(TenancyRecord.end_date.set(end))
        try:
            tenancy.update(actions=actions, condition=unchanged)
        except UpdateError as error:
            raise Conflict("The tenancy changed meanwhile; reload and try again.") from error


def _connection(model: type[TenancyRecord]) -> Connection:
    meta = model.Meta
    return Connection(region=meta.region, host=meta.host)
