"""Malformed JSON bodies (issue 18, item 1): every route that reads a JSON body answers
a small hostile body with a 400 in the usual error shape, never a 500, and cheaply.

A body of 1,000 nested arrays is about 2 KB; before the fix every such route answered 500
and logged a traceback (json.loads recursed until RecursionError)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from app import app
from functions.api.device import REFUSALS
from functions.api.http import ROUTES, Access

assert app  # importing the app registers every route in ROUTES

DEEP_ARRAYS = b"[" * 1000 + b"]" * 1000
DEEP_OBJECTS = b'{"a":' * 1000 + b"1" + b"}" * 1000
DEEP_INSIDE_A_FIELD = b'{"email":' + b"[" * 500 + b"]" * 500 + b"}"
HOSTILE = {
    "deep arrays": DEEP_ARRAYS,
    "deep objects": DEEP_OBJECTS,
    "deep inside a field": DEEP_INSIDE_A_FIELD,
    "unclosed deep": b"[" * 5000,
    "NaN": b'{"units": NaN}',
    "Infinity": b'{"units": -Infinity}',
    "huge exponent": b'{"units": 1e999999}',
    "long integer": b'{"units": ' + b"9" * 5000 + b"}",
    "not UTF-8": b'{"name": "\xff\xfe"}',
    "lone surrogate": b'{"name": "\\ud800"}',
    "truncated": b'{"name": "abc',
    "not an object": b"[1, 2, 3]",
    "empty": b"",
}

# The routes that read a JSON body: every route declaring a body model.
BODY_ROUTES = sorted({(doc.method, doc.path, doc.access) for doc in ROUTES
                      if doc.body is not None},
                     key=lambda route: (route[1], route[0]))


def concrete(path: str) -> str:
    return re.sub(r"{\w+}", "x-unknown", path)


def caller_for(access: Access, customer: Any, admin: Any, stack: Any) -> Any:
    if access is Access.ADMIN:
        return admin[1]
    if access in (Access.CUSTOMER, Access.USER):
        return customer[1]
    return stack.api


def test_every_json_route_is_covered() -> None:
    paths = {path for _, path, _ in BODY_ROUTES}
    assert len(BODY_ROUTES) >= 30
    assert {"/auth/login/password", "/auth/signup", "/admin/tariffs", "/admin/runs",
            "/properties", "/device/readings"} <= paths


@pytest.mark.parametrize(("method", "path", "access"), BODY_ROUTES,
                         ids=[f"{m.upper()} {p}" for m, p, _ in BODY_ROUTES])
def test_deeply_nested_json_is_a_400_with_the_error_shape(
        stack, admin, customer, fresh_rate_limits, method, path, access) -> None:
    client = caller_for(access, customer, admin, stack)
    started = time.monotonic()
    response = client.request(method.upper(), concrete(path), data=DEEP_ARRAYS,
                              headers={"Content-Type": "application/json"})
    elapsed = time.monotonic() - started
    assert response.status_code == 400, (path, response.status_code, response.text[:200])
    if path == "/device/readings":
        # The reading endpoint answers every refusal alike (docs/meter-protocol.md).
        assert response.json() == REFUSALS[400]
    else:
        body = response.json()
        assert body["error"] == "invalid_input" and body["message"], body
    assert elapsed < 2, f"{path} took {elapsed:.2f}s"


@pytest.mark.parametrize("label", sorted(HOSTILE))
def test_hostile_bodies_at_sign_in_and_a_customer_route(stack, customer, fresh_rate_limits,
                                                        label) -> None:
    for client, path in ((stack.api, "/auth/login/password"),
                         (customer[1], "/properties"),
                         (customer[1], "/tariffs/preview")):
        response = client.post(path, data=HOSTILE[label],
                               headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (label, path, response.status_code,
                                             response.text[:200])
        body = response.json()
        assert body["error"] == "invalid_input", body
        assert isinstance(body["message"], str) and body["message"]


def test_an_ordinary_nested_body_still_works(stack, customer) -> None:
    """A tariff-shaped depth (objects in lists in objects) is far from the limit."""
    response = customer[1].post("/tariffs/preview", json={
        "category": "residential", "units": 300, "sanctioned_load_kw": 3, "period": "2026-10"})
    assert response.status_code in (200, 404), response.text


def test_a_decimal_too_large_to_quantize_is_a_400(stack, admin) -> None:
    """Found by the schemathesis run: "1e100" in a tariff made the decimal validator raise
    InvalidOperation, which pydantic does not turn into a validation error (500)."""
    from functions.core.billing_rules.fixtures import DERC_DOMESTIC_2019_20_JSON

    slabs: list[dict[str, Any]] = list(DERC_DOMESTIC_2019_20_JSON["load_slabs"])  # type: ignore[call-overload]
    tariff = {**DERC_DOMESTIC_2019_20_JSON, "effective_from": "2019-09-01",
              "load_slabs": [{**slab, "rate_per_kw": "1e100"} for slab in slabs]}
    response = admin[1].put("/admin/tariffs/residential/2019-09-01", json=tariff)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_input"
