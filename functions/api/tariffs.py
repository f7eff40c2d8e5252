"""Tariff versions (admin) and the price preview (any signed-in user)."""

from __future__ import annotations

from chalice import Blueprint, Response

from functions.api.http import Access, route
from functions.core.accounts.sessions import Caller
from functions.core.billing_rules.tariff import TariffVersion
from functions.core.tariffs.categories import CategoryService, CategoryView, NewCategory
from functions.core.tariffs.schemas import (
    PreviewRequest,
    PreviewResponse,
    TariffListQuery,
    TariffView,
)
from functions.core.tariffs.service import TariffService

bp = Blueprint(__name__)


@route(bp, "/admin/tariffs", methods=["POST"], access=Access.ADMIN, body=TariffVersion,
       response=TariffView, status=201,
       summary="Create a tariff version (slabs contiguous, non-overlapping, positive)")
def create_tariff(caller: Caller, body: TariffVersion) -> TariffView:
    return TariffView.of(TariffService().create(body, created_by=caller.user_id))


@route(bp, "/admin/tariffs", access=Access.ADMIN, query=TariffListQuery,
       response=list[TariffView], summary="Every tariff version, per category, oldest first")
def list_tariffs(caller: Caller, query: TariffListQuery) -> list[TariffView]:
    return [TariffView.of(r) for r in TariffService().list(query.category)]


@route(bp, "/admin/tariffs/{category}/{effective_from}", access=Access.ADMIN,
       response=TariffView, summary="One tariff version")
def get_tariff(category: str, effective_from: str, caller: Caller) -> TariffView:
    return TariffView.of(TariffService().get(category, effective_from))


@route(bp, "/admin/tariffs/{category}/{effective_from}", methods=["PUT"], access=Access.ADMIN,
       body=TariffVersion, response=TariffView,
       summary="Correct a version that has not priced a bill yet (409 once it has)")
def edit_tariff(category: str, effective_from: str, caller: Caller,
                body: TariffVersion) -> TariffView:
    return TariffView.of(TariffService().edit(category, effective_from, body, caller.user_id))


@route(bp, "/admin/tariffs/{category}/{effective_from}", methods=["DELETE"],
       access=Access.ADMIN, status=204,
       summary="Delete a version that has not priced a bill yet (409 once it has)")
def delete_tariff(category: str, effective_from: str, caller: Caller) -> Response:
    TariffService().delete(category, effective_from)
    return Response(body="", status_code=204)


@route(bp, "/tariffs/preview", methods=["POST"], access=Access.USER, body=PreviewRequest,
       response=PreviewResponse,
       summary="Price N units for a load and category (admins may pass a draft tariff)")
def preview(caller: Caller, body: PreviewRequest) -> PreviewResponse:
    return TariffService().preview(body, is_admin=caller.is_admin)


@route(bp, "/tariff-categories", access=Access.USER, response=list[CategoryView],
       summary="Property categories (residential and commercial, and those admins added)")
def list_categories(caller: Caller) -> list[CategoryView]:
    return CategoryService().list()


@route(bp, "/admin/tariff-categories", methods=["POST"], access=Access.ADMIN, body=NewCategory,
       response=CategoryView, status=201,
       summary="Add a property category (a lowercase key and a label)")
def create_category(caller: Caller, body: NewCategory) -> CategoryView:
    return CategoryService().create(body, created_by=caller.user_id)


@route(bp, "/admin/tariff-categories/{name}", methods=["DELETE"], access=Access.ADMIN,
       status=204, summary="Delete a category that has no tariff version (409 otherwise)")
def delete_category(name: str, caller: Caller) -> Response:
    TariffService().delete_category(name)
    return Response(body="", status_code=204)
