"""Properties and leasing over HTTP. Rules live in core.properties.service."""

from __future__ import annotations

from chalice import Blueprint

from functions.api.http import Access, route
from functions.core.accounts.sessions import Caller
from functions.core.meters.service import find_meter
from functions.core.properties.schemas import (
    AdminPropertyList,
    AdminPropertyQuery,
    AdminPropertyView,
    InvitationView,
    MoveOutQuery,
    NewProperty,
    OwnerPropertyView,
    PropertyBasics,
    TenancyDates,
    TenancyView,
    TenantInvite,
    TenantPropertyView,
)
from functions.core.properties.service import PropertyService

bp = Blueprint(__name__)

PropertyView = OwnerPropertyView | TenantPropertyView


def meter_status(meter_id: str) -> str | None:
    meter = find_meter(meter_id)
    return meter.status if meter is not None else None


def service() -> PropertyService:
    return PropertyService(meter_status_lookup=meter_status)


@route(bp, "/properties", methods=["POST"], access=Access.CUSTOMER, body=NewProperty,
       response=OwnerPropertyView, status=201,
       summary="Register a property (verified customers only)")
def register_property(caller: Caller, body: NewProperty) -> OwnerPropertyView:
    return service().register(caller.user_id, body)


# Documented as the common part: owners' entries add tenant/pending_invitation,
# tenants' entries add their own tenancy.
@route(bp, "/properties", access=Access.CUSTOMER, response=list[PropertyBasics],
       summary="My properties: the ones I own, then the one I rent")
def my_properties(caller: Caller) -> list[PropertyView]:
    return service().list_for(caller.user_id)


@route(bp, "/properties/{property_id}", access=Access.CUSTOMER, response=PropertyView,
       summary="One of my properties (owner or current tenant)")
def get_property(property_id: str, caller: Caller) -> PropertyView:
    return service().view_for(caller.user_id, property_id)


@route(bp, "/properties/{property_id}/tenancies", access=Access.CUSTOMER,
       response=list[TenancyView], summary="Tenancy history of a property I own")
def tenancy_history(property_id: str, caller: Caller) -> list[TenancyView]:
    return service().tenancy_history(caller.user_id, property_id)


@route(bp, "/properties/{property_id}/tenants/invite", methods=["POST"],
       access=Access.CUSTOMER, body=TenantInvite, response=TenancyView, status=201,
       summary="Invite a tenant by email, optionally with their move-in day (owner)")
def invite_tenant(property_id: str, caller: Caller, body: TenantInvite) -> TenancyView:
    return service().invite_tenant(caller.user_id, property_id, str(body.email), body.move_in)


@route(bp, "/properties/{property_id}/invitations/{tenancy_id}", methods=["DELETE"],
       access=Access.CUSTOMER, response=TenancyView,
       summary="Cancel a pending tenant invitation (owner)")
def cancel_invitation(property_id: str, tenancy_id: str, caller: Caller) -> TenancyView:
    return service().cancel_invitation(caller.user_id, property_id, tenancy_id)


@route(bp, "/properties/{property_id}/tenant", methods=["DELETE"], access=Access.CUSTOMER,
       query=MoveOutQuery, response=TenancyView,
       summary="End the current tenancy, today or on the stated move-out day (owner)")
def delist_tenant(property_id: str, caller: Caller, query: MoveOutQuery) -> TenancyView:
    return service().delist_tenant(caller.user_id, property_id, query.move_out)


@route(bp, "/properties/{property_id}/tenancies/{tenancy_id}/dates", methods=["PUT"],
       access=Access.CUSTOMER, body=TenancyDates, response=TenancyView,
       summary="State the move-in (and, once ended, move-out) day of a tenancy (owner)")
def state_tenancy_dates(property_id: str, tenancy_id: str, caller: Caller,
                        body: TenancyDates) -> TenancyView:
    return service().state_dates(caller.user_id, property_id, tenancy_id, body)


@route(bp, "/properties/{property_id}/leave", methods=["POST"], access=Access.CUSTOMER,
       response=TenancyView, summary="Leave a property I rent (tenant)")
def leave_property(property_id: str, caller: Caller) -> TenancyView:
    return service().leave(caller.user_id, property_id)


@route(bp, "/tenancies", access=Access.CUSTOMER, response=list[TenancyView],
       summary="My tenancies as a tenant, current and past")
def my_tenancies(caller: Caller) -> list[TenancyView]:
    return service().my_tenancies(caller.user_id)


@route(bp, "/tenancies/invitations", access=Access.CUSTOMER, response=list[InvitationView],
       summary="Pending tenant invitations sent to my email address")
def my_invitations(caller: Caller) -> list[InvitationView]:
    return service().invitations_for(caller.user_id)


@route(bp, "/tenancies/{tenancy_id}/accept", methods=["POST"], access=Access.CUSTOMER,
       response=TenantPropertyView, summary="Accept a tenant invitation sent to my email")
def accept_invitation(tenancy_id: str, caller: Caller) -> TenantPropertyView:
    return service().accept_invitation(caller.user_id, tenancy_id)


@route(bp, "/admin/properties", access=Access.ADMIN, query=AdminPropertyQuery,
       response=AdminPropertyList, summary="Search all properties (admin), a page at a time")
def admin_properties(caller: Caller, query: AdminPropertyQuery) -> AdminPropertyList:
    return service().admin_search(query)


@route(bp, "/admin/properties/{property_id}", access=Access.ADMIN, response=AdminPropertyView,
       summary="Any property (admin)")
def admin_property(property_id: str, caller: Caller) -> AdminPropertyView:
    return service().admin_get(property_id)
