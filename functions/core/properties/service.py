"""Properties and leasing: the rules.

Access, in one sentence: a customer sees the properties they own and the one
they currently rent (a tenant sees the basics and their own tenancy only);
anyone else gets 404, so ids reveal nothing. Admins see everything.

Public functions other parts call:
- get_property(property_id), property_role(user_id, property_id)
- attach_meter(property_id, meter_id), detach_meter(property_id)  (meters)
- occupants(property_id, period), current_payer(property_id)      (billing)
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, Literal

from functions.core.accounts.models import UserRecord
from functions.core.accounts.service import find_user, require_verified_customer
from functions.core.accounts.users import UserRepository, normalise_email
from functions.core.billing_rules.periods import (
    BillingPeriod,
    format_ist_date,
    ist_date,
    ist_midnight_utc,
    parse_period,
)
from functions.core.bills.repository import BillRepository
from functions.core.clock import utcnow
from functions.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from functions.core.logs import logger, mask_email
from functions.core.notifications.service import Notifications
from functions.core.properties.consumer_numbers import LENGTH as CONSUMER_NUMBER_LENGTH
from functions.core.properties.consumer_numbers import is_valid as consumer_number_valid
from functions.core.properties.consumer_numbers import next_consumer_number
from functions.core.properties.consumer_numbers import parse as parse_consumer_number
from functions.core.properties.models import (
    ENDED_DELISTED,
    ENDED_LEFT,
    PROPERTY_ACTIVE,
    TENANCY_ACTIVE,
    TENANCY_ENDED,
    TENANCY_INVITED,
    PropertyRecord,
    TenancyRecord,
)
from functions.core.properties.occupancy import Occupancy, occupants_for_period
from functions.core.properties.repositories import PropertyRepository, TenancyRepository
from functions.core.properties.schemas import (
    Address,
    AdminPropertyList,
    AdminPropertyQuery,
    AdminPropertyView,
    InvitationSummary,
    InvitationView,
    NewProperty,
    OwnerPropertyView,
    TenancyDates,
    TenancyView,
    TenantPropertyView,
    TenantSummary,
)
from functions.core.settings import get_settings
from functions.core.tariffs.categories import CategoryService

Role = Literal["owner", "tenant"]

# Hooks: the latest bill a viewer may see for a property (default: from the
# bills table, below), and the live status of a meter (the API passes the meter
# registry's; the meters package imports this one, so not the other way round).
# Without a meter lookup an attached meter shows "assigned".
LatestBillLookup = Callable[[PropertyRecord, str], dict[str, Any] | None]
MeterStatusLookup = Callable[[str], str | None]

# How far ahead an owner may state a move-in day.
MAX_MOVE_IN_AHEAD = timedelta(days=90)

NO_METER = "not_assigned"
METER_ASSIGNED = "assigned"


def latest_bill_of_viewer(record: PropertyRecord, viewer_id: str,
                          bills: BillRepository | None = None) -> dict[str, Any] | None:
    """The newest bill of the property that `viewer_id` pays: a tenant sees the
    bills of their tenancy, the owner those of untenanted stretches (the bills
    API, not this summary, shows the owner who was billed for the others)."""
    for bill in (bills or BillRepository()).for_property(record.property_id):
        if bill.payer_id == viewer_id:
            return {"bill_id": bill.bill_id, "period": bill.period, "status": bill.status,
                    "total": str(bill.amount), "amount_due": str(bill.amount_due),
                    "due_date": bill.due_date, "estimated": bool(bill.estimated)}
    return None


PROPERTY_ID = re.compile(r"prp_[0-9a-f]{16}")  # what register() gives out


class PropertyService:
    """Holds its repositories; the module-level functions below use a default one."""

    def __init__(self, properties: PropertyRepository | None = None,
                 tenancies: TenancyRepository | None = None,
                 users: UserRepository | None = None,
                 latest_bill_lookup: LatestBillLookup | None = None,
                 meter_status_lookup: MeterStatusLookup | None = None,
                 notifications: Notifications | None = None,
                 bills: BillRepository | None = None) -> None:
        self.properties = properties or PropertyRepository()
        self.bills = bills or BillRepository()
        self.tenancies = tenancies or TenancyRepository()
        self.users = users or UserRepository()
        self.latest_bill = latest_bill_lookup or latest_bill_of_viewer
        self.meter_status = meter_status_lookup
        self.notifications = notifications or Notifications()

    # ---- lookups and access -------------------------------------------------

    def get_property(self, property_id: str) -> PropertyRecord:
        record = self.properties.get(property_id)
        if record is None:
            raise NotFound("No such property.")
        return record

    def active_tenancy(self, record: PropertyRecord) -> TenancyRecord | None:
        if not record.active_tenancy_id:
            return None
        tenancy = self.tenancies.get(record.property_id, record.active_tenancy_id)
        return tenancy if tenancy is not None and tenancy.status == TENANCY_ACTIVE else None

    def role_of(self, user_id: str, record: PropertyRecord) -> Role | None:
        if record.owner_id == user_id:
            return "owner"
        tenancy = self.active_tenancy(record)
        if tenancy is not None and tenancy.tenant_id == user_id:
            return "tenant"
        return None

    def visible_property(self, user_id: str, property_id: str) -> tuple[PropertyRecord, Role]:
        """The property and the caller's role in it; NotFound if they have none
        (the same answer as for an id that does not exist)."""
        record = self.properties.get(property_id)
        role = self.role_of(user_id, record) if record is not None else None
        if record is None or role is None:
            raise NotFound("No such property.")
        return record, role

    def owned_property(self, user_id: str, property_id: str) -> PropertyRecord:
        record, role = self.visible_property(user_id, property_id)
        if role != "owner":
            # A tenant knows the property exists, so 403 reveals nothing new.
            raise Forbidden("Only the owner of the property can do this.")
        return record

    # ---- registering and viewing --------------------------------------------

    def register(self, owner_id: str, data: NewProperty) -> OwnerPropertyView:
        require_verified_customer(owner_id, self.users)
        CategoryService().require(data.category)
        record = PropertyRecord(
            property_id=f"prp_{secrets.token_hex(8)}", owner_id=owner_id,
            line1=data.line1, line2=data.line2, city=data.city, state=data.state,
            pincode=data.pincode, category=data.category,
            sanctioned_load_kw=str(data.sanctioned_load_kw), created_at=utcnow(),
            status=PROPERTY_ACTIVE, consumer_number=next_consumer_number(),
        )
        self.properties.create(record)
        logger.info("property registered", extra={"property_id": record.property_id})
        return self.owner_view(record, owner_id)

    def view_for(self, user_id: str, property_id: str
                 ) -> OwnerPropertyView | TenantPropertyView:
        record, role = self.visible_property(user_id, property_id)
        if role == "owner":
            return self.owner_view(record, user_id)
        return self.tenant_view(record, user_id)

    def list_for(self, user_id: str) -> list[OwnerPropertyView | TenantPropertyView]:
        """Owned properties (oldest first), then the ones the user rents now."""
        owned = sorted(self.properties.of_owner(user_id), key=lambda p: p.created_at)
        views: list[OwnerPropertyView | TenantPropertyView] = [
            self.owner_view(record, user_id) for record in owned]
        for tenancy in self.tenancies.of_tenant(user_id):
            if tenancy.status != TENANCY_ACTIVE:
                continue
            record = self.properties.get(tenancy.property_id)
            if record is not None and record.active_tenancy_id == tenancy.tenancy_id:
                views.append(self.tenant_view(record, user_id, tenancy))
        return views

    def admin_search(self, query: AdminPropertyQuery) -> AdminPropertyList:
        """One index query whatever the table's size: by consumer number, an owner's
        properties, or a page of all of them (filters apply to what the page read)."""
        typed = "".join((query.q or "").split()).replace("-", "")
        if not query.consumer_number and len(typed) == CONSUMER_NUMBER_LENGTH \
                and consumer_number_valid(typed):
            query = query.model_copy(update={"consumer_number": typed})  # typed into q
        if query.consumer_number:
            found = self.properties.by_consumer_number(parse_consumer_number(
                query.consumer_number))
            return AdminPropertyList(properties=[self.admin_view(found)]
                                     if found is not None else [], cursor=None)
        if query.q and PROPERTY_ID.fullmatch(query.q):  # an id: one read
            record = self.properties.get(query.q)
            return AdminPropertyList(properties=[self.admin_view(record)] if record is not None
                                     and _matches(record, query) else [], cursor=None)
        if query.owner_id:  # an owner's few properties, whole
            owned = sorted((p for p in self.properties.of_owner(query.owner_id)
                            if _matches(p, query)), key=lambda p: p.created_at, reverse=True)
            return AdminPropertyList(properties=[self.admin_view(p) for p in owned],
                                     cursor=None)
        page = self.properties.page(query.cursor, query.limit, lambda p: _matches(p, query))
        return AdminPropertyList(properties=[self.admin_view(p) for p in page.items],
                                 cursor=page.cursor)

    def admin_get(self, property_id: str) -> AdminPropertyView:
        return self.admin_view(self.get_property(property_id))

    # ---- views ---------------------------------------------------------------

    def consumer_number_of(self, record: PropertyRecord) -> str:
        """The property's consumer number; one registered before numbers existed
        gets its own now, once (a conditional write: two viewers agree on one)."""
        if not record.consumer_number:
            self.properties.set_consumer_number(record.property_id, next_consumer_number())
            record.refresh(consistent_read=True)
        return str(record.consumer_number)

    def _basics(self, record: PropertyRecord) -> dict[str, Any]:
        return {
            "property_id": record.property_id,
            "consumer_number": self.consumer_number_of(record),
            "address": Address(line1=record.line1, line2=record.line2, city=record.city,
                               state=record.state, pincode=record.pincode),
            "category": record.category, "sanctioned_load_kw": record.sanctioned_load_kw,
            "status": record.status, "meter_id": record.meter_id,
            "meter_status": self._meter_status(record),
        }

    def _meter_status(self, record: PropertyRecord) -> str:
        if not record.meter_id:
            return NO_METER
        live = self.meter_status(record.meter_id) if self.meter_status else None
        return live or METER_ASSIGNED

    def _owner_fields(self, record: PropertyRecord) -> dict[str, Any]:
        tenancies = self.tenancies.of_property(record.property_id)
        tenant = next((t for t in tenancies if t.status == TENANCY_ACTIVE
                       and t.tenancy_id == record.active_tenancy_id), None)
        pending = [t for t in tenancies if t.status == TENANCY_INVITED]
        invitation = max(pending, key=lambda t: t.invited_at, default=None)
        return {
            "created_at": record.created_at,
            "tenant": TenantSummary(tenancy_id=tenant.tenancy_id, name=tenant.tenant_name or "",
                                    since=tenant.start_date)
            if tenant is not None and tenant.start_date is not None else None,
            "pending_invitation": InvitationSummary(
                tenancy_id=invitation.tenancy_id, email=invitation.invite_email,
                invited_at=invitation.invited_at) if invitation is not None else None,
        }

    def owner_view(self, record: PropertyRecord, viewer_id: str) -> OwnerPropertyView:
        return OwnerPropertyView(**self._basics(record), **self._owner_fields(record),
                                 relationship="owner",
                                 latest_bill=self.latest_bill(record, viewer_id))

    def tenant_view(self, record: PropertyRecord, viewer_id: str,
                    tenancy: TenancyRecord | None = None) -> TenantPropertyView:
        tenancy = tenancy or self.active_tenancy(record)
        if tenancy is None or tenancy.tenant_id != viewer_id:  # ended a moment ago
            raise NotFound("No such property.")
        return TenantPropertyView(**self._basics(record), relationship="tenant",
                                  tenancy=tenancy_view(tenancy),
                                  latest_bill=self.latest_bill(record, viewer_id))

    def admin_view(self, record: PropertyRecord) -> AdminPropertyView:
        return AdminPropertyView(**self._basics(record), **self._owner_fields(record),
                                 relationship="admin", owner_id=record.owner_id,
                                 latest_bill=None)

    # ---- meters (called by the meter service) --------------------------------

    def attach_meter(self, property_id: str, meter_id: str) -> PropertyRecord:
        self.get_property(property_id)
        self.properties.set_meter(property_id, meter_id, utcnow())
        return self.get_property(property_id)

    def detach_meter(self, property_id: str) -> PropertyRecord:
        self.get_property(property_id)
        self.properties.clear_meter(property_id)
        return self.get_property(property_id)

    # ---- leasing -------------------------------------------------------------

    def invite_tenant(self, owner_id: str, property_id: str, email: str,
                      move_in: date | None = None) -> TenancyView:
        owner = require_verified_customer(owner_id, self.users)
        record = self.owned_property(owner_id, property_id)
        invite_email = normalise_email(email)
        if invite_email == normalise_email(owner.email):
            raise InvalidInput("You cannot invite yourself as the tenant of your own property.")
        if record.active_tenancy_id:
            raise Conflict("The property already has a tenant; delist them first.")
        others = self.tenancies.of_property(property_id)
        if any(t.status == TENANCY_INVITED for t in others):
            raise Conflict("There is already a pending invitation; cancel it first.")
        if move_in is not None:
            self._check_dates(record, others, None, move_in, None)
        tenancy = TenancyRecord(
            property_id=property_id, tenancy_id=f"ten_{secrets.token_hex(8)}",
            owner_id=owner_id, invite_email=invite_email, status=TENANCY_INVITED,
            invited_at=utcnow(), move_in_date=move_in.isoformat() if move_in else None,
        )
        self.tenancies.create(tenancy)
        # Through the outbox (functions/core/notifications), once per tenancy; in the
        # owner's language (the invitee may have no account, so no language, yet).
        self.notifications.queue_email(
            "tenant_invited", tenancy.tenancy_id, invite_email, topic="tenancy",
            ref=tenancy.tenancy_id, lang=owner.language, owner_name=owner.name,
            address=_one_line(record), portal=get_settings().portal_origin)
        logger.info("tenant invited", extra={"property_id": property_id,
                                              "to": mask_email(invite_email)})
        return tenancy_view(tenancy)

    def cancel_invitation(self, owner_id: str, property_id: str, tenancy_id: str) -> TenancyView:
        self.owned_property(owner_id, property_id)
        tenancy = self.tenancies.get(property_id, tenancy_id)
        if tenancy is None:
            raise NotFound("No such invitation.")
        self.tenancies.cancel(tenancy, utcnow())
        return tenancy_view(self._reloaded(tenancy))

    def invitations_for(self, user_id: str) -> list[InvitationView]:
        """Pending invitations addressed to the user's email (works for people
        who signed up after being invited: they are matched by email)."""
        user = find_user(user_id, self.users)
        if user is None:
            return []
        views = []
        for tenancy in self.tenancies.invited_email(normalise_email(user.email)):
            record = self.properties.get(tenancy.property_id)
            if tenancy.status != TENANCY_INVITED or record is None:
                continue
            views.append(InvitationView(
                tenancy_id=tenancy.tenancy_id, property_id=record.property_id,
                address=self._basics(record)["address"], category=record.category,
                invited_at=tenancy.invited_at))
        return sorted(views, key=lambda v: v.invited_at)

    def accept_invitation(self, user_id: str, tenancy_id: str) -> TenantPropertyView:
        tenant = require_verified_customer(user_id, self.users)
        tenancy = self._invitation_for(tenant, tenancy_id)
        if tenancy.status != TENANCY_INVITED:
            raise Conflict(f"This invitation is {tenancy.status}, not pending.")
        record = self.get_property(tenancy.property_id)
        if record.owner_id == tenant.user_id:
            raise InvalidInput("You cannot be the tenant of your own property.")
        self.tenancies.activate(tenancy, tenant.user_id, tenant.name,
                                self._start_on_acceptance(record, tenancy))
        tenancy = self._reloaded(tenancy)
        record = self.get_property(tenancy.property_id)
        self._tell_owner(record, "tenancy_accepted", tenancy.tenancy_id,
                         tenant_name=tenant.name)
        return self.tenant_view(record, user_id, tenancy)

    def delist_tenant(self, owner_id: str, property_id: str,
                      move_out: date | None = None) -> TenancyView:
        """End the tenancy: from today, or from the move-out day the owner states."""
        record = self.owned_property(owner_id, property_id)
        tenancy = self.active_tenancy(record)
        if tenancy is None:
            raise Conflict("The property has no tenant.")
        end = utcnow()
        if move_out is not None:
            start = ist_date(tenancy.start_date) if tenancy.start_date else move_out
            self._check_dates(record, self.tenancies.of_property(property_id), tenancy,
                              start, move_out, moved_from=(start, None))
            end = ist_midnight_utc(move_out)
        self.tenancies.end(tenancy, ENDED_DELISTED, end)
        tenant = find_user(tenancy.tenant_id or "", self.users)
        if tenant is not None:
            self.notifications.queue_email(
                "tenancy_ended", tenancy.tenancy_id, tenant.email, topic="tenancy",
                recipient_id=tenant.user_id, ref=tenancy.tenancy_id, lang=tenant.language,
                address=_one_line(record))
        return tenancy_view(self._reloaded(tenancy))

    def leave(self, tenant_id: str, property_id: str) -> TenancyView:
        record, role = self.visible_property(tenant_id, property_id)
        if role == "owner":
            raise Conflict("You own this property; to end a tenancy, delist the tenant.")
        tenancy = self.active_tenancy(record)
        if tenancy is None:  # ended a moment ago
            raise NotFound("No such property.")
        self.tenancies.end(tenancy, ENDED_LEFT, utcnow())
        self._tell_owner(record, "tenant_left", tenancy.tenancy_id,
                         tenant_name=tenancy.tenant_name)
        return tenancy_view(self._reloaded(tenancy))

    def state_dates(self, owner_id: str, property_id: str, tenancy_id: str,
                    dates: TenancyDates) -> TenancyView:
        """The owner states (or corrects) the move-in and/or move-out day of a tenancy
        that has started: the split of bills follows them. Days of months already
        billed for the property cannot move (those bills are final)."""
        record = self.owned_property(owner_id, property_id)
        tenancy = self.tenancies.get(property_id, tenancy_id)
        if tenancy is None or tenancy.status not in (TENANCY_ACTIVE, TENANCY_ENDED) \
                or tenancy.start_date is None:
            raise NotFound("No such tenancy (an invitation's move-in is set by inviting).")
        if dates.move_out is not None and tenancy.status == TENANCY_ACTIVE:
            raise Conflict("The tenant still lives here: delist them with their move-out day.")
        start = dates.move_in or ist_date(tenancy.start_date)
        end = dates.move_out or (ist_date(tenancy.end_date) if tenancy.end_date else None)
        self._check_dates(record, self.tenancies.of_property(property_id), tenancy, start, end,
                          moved_from=(ist_date(tenancy.start_date),
                                      ist_date(tenancy.end_date) if tenancy.end_date else None))
        self.tenancies.set_dates(tenancy, ist_midnight_utc(start),
                                 ist_midnight_utc(end) if end else None, utcnow())
        logger.info("tenancy dates stated", extra={"property_id": property_id,
                                                   "tenancy_id": tenancy_id})
        return tenancy_view(self._reloaded(tenancy))

    def tenancy_history(self, owner_id: str, property_id: str) -> list[TenancyView]:
        self.owned_property(owner_id, property_id)
        history = self.tenancies.of_property(property_id)
        return [tenancy_view(t) for t in sorted(history, key=lambda t: t.invited_at)]

    def my_tenancies(self, tenant_id: str) -> list[TenancyView]:
        history = self.tenancies.of_tenant(tenant_id)
        return [tenancy_view(t) for t in sorted(history, key=lambda t: t.invited_at)]

    # ---- billing -------------------------------------------------------------

    def occupants(self, property_id: str, period: BillingPeriod | str) -> list[Occupancy]:
        billing_period = BillingPeriod.parse(period) if isinstance(period, str) else period
        record = self.get_property(property_id)
        return occupants_for_period(record, self.tenancies.of_property(property_id),
                                    billing_period.start_utc, billing_period.end_utc)

    def current_payer(self, property_id: str) -> str:
        record = self.get_property(property_id)
        tenancy = self.active_tenancy(record)
        return tenancy.tenant_id if tenancy is not None and tenancy.tenant_id else record.owner_id

    # ---- move dates ------------------------------------------------------------

    def _first_unbilled_day(self, property_id: str) -> date | None:
        """The first day after the property's latest billed month (one keyed query)."""
        latest = self.bills.for_property(property_id, limit=1)
        return parse_period(latest[0].period).next().first_day if latest else None

    def _check_dates(self, record: PropertyRecord, tenancies: list[TenancyRecord],
                     tenancy: TenancyRecord | None, move_in: date, move_out: date | None,
                     moved_from: tuple[date, date | None] | None = None) -> None:
        """The rules for stated move days (InvalidInput / Conflict otherwise):
        move-in at most MAX_MOVE_IN_AHEAD ahead, move-out not after today and not before
        move-in; no overlap with another tenancy; and no day that changes hands may lie
        in a month already billed for the property (its bills are final)."""
        today = ist_date(utcnow())
        if move_in > today + MAX_MOVE_IN_AHEAD:
            raise InvalidInput(f"A move-in day can be at most {MAX_MOVE_IN_AHEAD.days} days "
                               "ahead.")
        if move_out is not None and move_out > today:
            raise InvalidInput("A move-out day cannot be in the future; delist the tenant on "
                               "the day they leave.")
        if move_out is not None and move_out < move_in:
            raise InvalidInput("The move-out day is before the move-in day.")
        for other in tenancies:
            if tenancy is not None and other.tenancy_id == tenancy.tenancy_id:
                continue
            if other.status not in (TENANCY_ACTIVE, TENANCY_ENDED) or other.start_date is None:
                continue
            first = ist_date(other.start_date)
            stop = ist_date(other.end_date) if other.end_date else None
            if (stop is None or move_in < stop) and (move_out is None or first < move_out):
                raise Conflict(f"Those days overlap another tenancy (from "
                               f"{format_ist_date(first)}"
                               + (f" to {format_ist_date(stop)})." if stop else ")."))
        unbilled = self._first_unbilled_day(record.property_id)
        if unbilled is None:
            return
        # The first day that changes hands: from the earlier of the old and new day on.
        if moved_from is None:
            changed = [move_in, *([move_out] if move_out else [])]
        else:
            changed = [day if before is None else min(day, before)
                       for day, before in zip((move_in, move_out), moved_from, strict=True)
                       if day is not None and day != before]
        if any(day < unbilled for day in changed):
            raise Conflict(f"Bills up to {format_ist_date(unbilled - timedelta(days=1))} are "
                           "issued and final; move days can only be on or after "
                           f"{format_ist_date(unbilled)}.")

    def _start_on_acceptance(self, record: PropertyRecord, tenancy: TenancyRecord
                             ) -> datetime:
        """00:00 IST of the stated move-in day, or now. A month billed since the
        invitation is final: the tenancy then starts on the first day after it."""
        now = utcnow()
        if not tenancy.move_in_date:
            return now
        start = date.fromisoformat(tenancy.move_in_date)
        unbilled = self._first_unbilled_day(record.property_id)
        if unbilled is not None and start < unbilled:
            start = unbilled
        return ist_midnight_utc(start)

    # ---- helpers -------------------------------------------------------------

    def _invitation_for(self, user: UserRecord, tenancy_id: str) -> TenancyRecord:
        for tenancy in self.tenancies.invited_email(normalise_email(user.email)):
            if tenancy.tenancy_id == tenancy_id:
                return self._reloaded(tenancy)  # the index is eventually consistent
        raise NotFound("No such invitation for your email address.")

    def _reloaded(self, tenancy: TenancyRecord) -> TenancyRecord:
        fresh = self.tenancies.get(tenancy.property_id, tenancy.tenancy_id)
        if fresh is None:
            raise NotFound("No such tenancy.")
        return fresh

    def _tell_owner(self, record: PropertyRecord, template: str, tenancy_id: str,
                    **context: Any) -> None:
        owner = find_user(record.owner_id, self.users)
        if owner is not None:
            self.notifications.queue_email(
                template, tenancy_id, owner.email, topic="tenancy", recipient_id=owner.user_id,
                ref=tenancy_id, lang=owner.language, address=_one_line(record), **context)


def tenancy_view(tenancy: TenancyRecord) -> TenancyView:
    return TenancyView(
        tenancy_id=tenancy.tenancy_id, property_id=tenancy.property_id, status=tenancy.status,
        invite_email=tenancy.invite_email, invited_at=tenancy.invited_at,
        tenant_name=tenancy.tenant_name, start_date=tenancy.start_date,
        end_date=tenancy.end_date, ended_reason=tenancy.ended_reason,
        move_in_date=date.fromisoformat(tenancy.move_in_date) if tenancy.move_in_date else None,
        move_in_display=format_ist_date(ist_date(tenancy.start_date))
        if tenancy.start_date else None,
        move_out_display=format_ist_date(ist_date(tenancy.end_date))
        if tenancy.end_date else None,
    )


def _one_line(record: PropertyRecord) -> str:
    parts = [record.line1, record.line2, record.city, record.state, record.pincode]
    return ", ".join(p for p in parts if p)


def _matches(record: PropertyRecord, query: AdminPropertyQuery) -> bool:
    if query.category and record.category != query.category:
        return False
    if query.city and record.city.casefold() != query.city.casefold():
        return False
    if query.pincode and record.pincode != query.pincode:
        return False
    if query.owner_id and record.owner_id != query.owner_id:
        return False
    if query.has_meter is not None and bool(record.meter_id) != query.has_meter:
        return False
    if query.q:
        haystack = " ".join(filter(None, [record.property_id, record.consumer_number,
                                          record.owner_id, record.line1,
                                          record.line2, record.city, record.state,
                                          record.pincode, record.meter_id]))
        return query.q.casefold() in haystack.casefold()
    return True


# ---- module-level entry points (what other parts import) -----------------------

def get_property(property_id: str) -> PropertyRecord:
    """The property; NotFound if there is none."""
    return PropertyService().get_property(property_id)


def property_role(user_id: str, property_id: str) -> Role | None:
    """"owner", "tenant" (current tenant) or None: for access checks elsewhere."""
    service = PropertyService()
    record = service.properties.get(property_id)
    return service.role_of(user_id, record) if record is not None else None


def attach_meter(property_id: str, meter_id: str) -> PropertyRecord:
    """Record that `meter_id` measures the property. NotFound for an unknown
    property; Conflict if another meter is attached (detach it first)."""
    return PropertyService().attach_meter(property_id, meter_id)


def detach_meter(property_id: str) -> PropertyRecord:
    return PropertyService().detach_meter(property_id)


def occupants(property_id: str, period: BillingPeriod | str) -> list[Occupancy]:
    """Who pays for which IST days of `period` ("2026-10" or a BillingPeriod):
    see properties.occupancy for the rule."""
    return PropertyService().occupants(property_id, period)


def current_payer(property_id: str) -> str:
    """The user who occupies the property now: the active tenant, else the owner."""
    return PropertyService().current_payer(property_id)

