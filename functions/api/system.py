"""Health and the API's own description."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from functions.api.http import Access, json_response, route
from functions.api.openapi import openapi_document
from functions.core.health import dependency_report

bp = Blueprint(__name__)


@route(bp, "/health", access=Access.PUBLIC, summary="State of every table and queue")
def health() -> Response:
    report: dict[str, Any] = dependency_report()
    return json_response(report, 200 if report["status"] == "ok" else 503)


@route(bp, "/openapi.json", access=Access.PUBLIC, summary="This API as OpenAPI 3")
def openapi() -> Response:
    return json_response(openapi_document())
