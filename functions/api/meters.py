"""Admin routes of the meter registry, the server key and the reading rejections."""

from __future__ import annotations

from datetime import timedelta

from chalice import Blueprint

from functions.api.http import Access, route
from functions.core.accounts.sessions import Caller
from functions.core.errors import NotFound
from functions.core.meters import intake
from functions.core.meters.schemas import (
    AssignedMeter,
    AssignMeter,
    MeterList,
    MeterQuery,
    MeterView,
    NewMeter,
    ProvisioningConfig,
    RejectionPage,
    RejectionQuery,
    ReplacedMeter,
    ReplaceMeter,
    RevokeServerKey,
    RootPublicKey,
    RotateMeterKey,
    RotateServerKey,
    ServerKeysView,
    ServerPublicKey,
    UpdateEndpoint,
)
from functions.core.meters.server_key import key_store, revoke_server_key, rotate_server_key
from functions.core.meters.service import MeterService, meter_view

bp = Blueprint(__name__)


@route(bp, "/admin/meters", methods=["POST"], access=Access.ADMIN, body=NewMeter,
       response=MeterView, status=201, summary="Register a meter (serial, public key, ...)")
def register_meter(caller: Caller, body: NewMeter) -> MeterView:
    return meter_view(MeterService().register(body, admin_id=caller.user_id))


@route(bp, "/admin/meters", access=Access.ADMIN, query=MeterQuery, response=MeterList,
       summary="Meters a page at a time, newest registered first: by status, by property, "
               "or by the start of the serial")
def list_meters(caller: Caller, query: MeterQuery) -> MeterList:
    page = MeterService().search(query)
    return MeterList(meters=[meter_view(m) for m in page.items], cursor=page.cursor)


@route(bp, "/admin/meters/{meter_id}", access=Access.ADMIN, response=MeterView,
       summary="One meter")
def get_meter(meter_id: str, caller: Caller) -> MeterView:
    return meter_view(MeterService().get(meter_id))


@route(bp, "/admin/meters/{meter_id}", methods=["PATCH"], access=Access.ADMIN,
       body=UpdateEndpoint, response=MeterView,
       summary="Change where the meter listens for read requests")
def update_meter(meter_id: str, caller: Caller, body: UpdateEndpoint) -> MeterView:
    return meter_view(MeterService().update_endpoint(meter_id, body.endpoint_url))


@route(bp, "/admin/meters/{meter_id}/assign", methods=["POST"], access=Access.ADMIN,
       body=AssignMeter, response=AssignedMeter,
       summary="Assign a meter to a verified customer's property; returns its provisioning")
def assign_meter(meter_id: str, caller: Caller, body: AssignMeter) -> AssignedMeter:
    return MeterService().assign(meter_id, body.property_id)


@route(bp, "/admin/meters/{meter_id}/provisioning", access=Access.ADMIN,
       response=ProvisioningConfig,
       summary="The meter's provisioning: its id, the server keys, the reading URL")
def meter_provisioning(meter_id: str, caller: Caller) -> ProvisioningConfig:
    service = MeterService()
    return service.provisioning(service.get(meter_id))


@route(bp, "/admin/meters/{meter_id}/activate", methods=["POST"], access=Access.ADMIN,
       response=MeterView, summary="Start reading the meter in billing runs")
def activate_meter(meter_id: str, caller: Caller) -> MeterView:
    return meter_view(MeterService().activate(meter_id))


@route(bp, "/admin/meters/{meter_id}/deactivate", methods=["POST"], access=Access.ADMIN,
       response=MeterView, summary="Stop reading the meter; its readings are refused")
def deactivate_meter(meter_id: str, caller: Caller) -> MeterView:
    return meter_view(MeterService().deactivate(meter_id))


@route(bp, "/admin/meters/{meter_id}/replace", methods=["POST"], access=Access.ADMIN,
       body=ReplaceMeter, response=ReplacedMeter,
       summary="Replace a fitted meter by a registered one, recording both registers")
def replace_meter(meter_id: str, caller: Caller, body: ReplaceMeter) -> ReplacedMeter:
    return MeterService().replace(meter_id, body)


@route(bp, "/admin/meters/{meter_id}/rotate-key", methods=["POST"], access=Access.ADMIN,
       body=RotateMeterKey, response=MeterView,
       summary="Give the meter a new public key; the old one is refused from now on")
def rotate_meter_key(meter_id: str, caller: Caller, body: RotateMeterKey) -> MeterView:
    return meter_view(MeterService().rotate_key(meter_id, body.public_key))


@route(bp, "/admin/meter-rejections", access=Access.ADMIN, query=RejectionQuery,
       response=RejectionPage,
       summary="Messages the reading endpoint refused, with the reason (newest first), "
               "a page at a time")
def list_rejections(caller: Caller, query: RejectionQuery) -> RejectionPage:
    return intake.list_rejections(meter_id=query.meter_id, run_id=query.run_id,
                                  reason=query.reason, cursor=query.cursor,
                                  limit=query.limit)


def _server_keys_view() -> ServerKeysView:
    keys = key_store().keys(refresh=True)
    return ServerKeysView(keys=[ServerPublicKey(**k) for k in keys.public_view()],
                          root_public_keys=[RootPublicKey(**k) for k in keys.root_view()],
                          endorsements=keys.endorsements(), revocations=list(keys.revocations))


@route(bp, "/admin/server-keys", access=Access.ADMIN, response=ServerKeysView,
       summary="The IoT server's public keys (current and in grace) and endorsements")
def server_keys_view(caller: Caller) -> ServerKeysView:
    return _server_keys_view()


@route(bp, "/admin/server-keys/rotate", methods=["POST"], access=Access.ADMIN,
       body=RotateServerKey, response=ServerKeysView,
       summary="Rotate the server key; the previous key stays valid for the grace period")
def rotate_server(caller: Caller, body: RotateServerKey) -> ServerKeysView:
    rotate_server_key(timedelta(days=body.grace_days))
    return _server_keys_view()


@route(bp, "/admin/server-keys/revoke", methods=["POST"], access=Access.ADMIN,
       body=RevokeServerKey, response=ServerKeysView,
       summary="Revoke a server key at once (root-signed; meters refuse it from the next "
               "request). Revoking the current key rotates first, without grace")
def revoke_server(caller: Caller, body: RevokeServerKey) -> ServerKeysView:
    try:
        revoke_server_key(body.key_id)
    except KeyError as error:
        raise NotFound("No such server key in use.") from error
    return _server_keys_view()
