"""/openapi.json is a contract a client can be generated from (issue 22 item 5): it validates,
names and tags every operation, documents one error body and every status, carries the
models' constraints, and gives an example of every request body that the route really
accepts. (tests/property/api_fuzz.py checks the running API against it.)"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from openapi_spec_validator import validate

from app import app  # noqa: F401  (registers every route)
from functions.api.http import ROUTES, InvalidInput, check_path_params, parse_json_body
from functions.api.openapi import openapi_document
from functions.api.openapi_examples import EXAMPLES

DOC = openapi_document()
OPERATIONS = [(path, method, op) for path, ops in DOC["paths"].items()
              for method, op in ops.items()]


def test_the_document_passes_openapi_spec_validator() -> None:
    validate(DOC)


def test_every_operation_has_a_unique_operation_id_and_a_tag() -> None:
    ids = [op["operationId"] for _, _, op in OPERATIONS]
    assert all(ids) and len(ids) == len(set(ids))
    assert all(op["tags"] and op["tags"][0] for _, _, op in OPERATIONS)
    assert {tag for _, _, op in OPERATIONS for tag in op["tags"]} == \
        {tag["name"] for tag in DOC["tags"]}


def test_every_error_answer_is_the_one_error_body_and_429_says_retry_after() -> None:
    body = DOC["components"]["schemas"]["ErrorBody"]
    assert body["required"] == ["error", "message"]
    for path, method, op in OPERATIONS:
        for code, response in op["responses"].items():
            if not 400 <= int(code) < 500 or path == "/payments/razorpay/callback":
                continue
            assert response["content"]["application/json"]["schema"] == \
                {"$ref": "#/components/schemas/ErrorBody"}, (method, path, code)
        assert {"400", "415", "429"} <= set(op["responses"]), (method, path)
        assert op["responses"]["429"]["headers"]["Retry-After"]["required"] is True
        if op["x-access"] != "public":
            assert {"401", "403"} <= set(op["responses"]), (method, path)


def test_every_request_body_has_an_example_its_route_accepts() -> None:
    bodies = {doc.body.__name__: doc.body for doc in ROUTES if doc.body is not None}
    missing = set(bodies) - set(EXAMPLES)
    assert not missing, f"add an example of {missing} to functions/api/openapi_examples.py"
    for name, model in bodies.items():
        if name == "WireEnvelope":  # the reading endpoint parses bytes itself (strictly)
            model.model_validate(EXAMPLES[name])
            continue
        parse_json_body(json.dumps(EXAMPLES[name]).encode(), model, 64 * 1024)
    for path, method, op in OPERATIONS:
        if "requestBody" in op:
            content = op["requestBody"]["content"]
            assert any("example" in media for media in content.values()) \
                or path == "/payments/razorpay/callback", (method, path)


def _schemas() -> dict[str, Any]:
    return DOC["components"]["schemas"]


def test_decimals_are_strings_with_a_pattern_and_a_maximum() -> None:
    found = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "string" and "maximum" in node:
                found.append(node)
            assert not {"anyOf"} <= set(node) or {"type": "number"} not in node["anyOf"]
            assert not {"max_digits", "decimal_places", "ge", "le", "gt"} & set(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(DOC)
    assert len(found) > 20
    assert all(node["pattern"].startswith("^") for node in found)
    load = _schemas()["NewProperty"]["properties"]["sanctioned_load_kw"]
    assert load["type"] == "string" and load["maximum"] == 1000
    assert re.fullmatch(load["pattern"], "7.5") and not re.fullmatch(load["pattern"], "1e9")
    refund = _schemas()["AdminRefund"]["properties"]["amount"]["anyOf"][0]
    assert refund["exclusiveMinimum"] == 0 and not re.fullmatch(refund["pattern"], "-1")
    assert not re.fullmatch(refund["pattern"], "12345678901.00")  # 12 digits in all


def test_query_parameters_carry_their_bounds_and_refuse_empty_values() -> None:
    bills = {p["name"]: p for p in DOC["paths"]["/admin/bills"]["get"]["parameters"]}
    assert bills["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 500,
                                        "default": 100}
    assert bills["period"]["schema"]["pattern"] == r"^[0-9]{4}-(0[1-9]|1[0-2])$"
    assert bills["payer_id"]["schema"]["minLength"] == 1
    assert all("null" not in json.dumps(p["schema"]) for p in bills.values())


def test_path_ids_have_a_pattern_and_an_empty_or_odd_one_is_a_400() -> None:
    param = DOC["paths"]["/bills/{bill_id}"]["get"]["parameters"][0]
    assert param["schema"]["minLength"] == 1 and param["schema"]["pattern"]
    check_path_params({"bill_id": "BILL-prp_0123456789abcdef-2026-05"})
    for bad in ("", " ", "a/b", "x" * 129, "ü"):
        with pytest.raises(InvalidInput):
            check_path_params({"bill_id": bad})


def test_the_webhook_body_and_signature_header_are_described() -> None:
    op = DOC["paths"]["/payments/webhook"]["post"]
    headers = {p["name"]: p for p in op["parameters"] if p["in"] == "header"}
    assert headers["X-Razorpay-Signature"]["required"] is True
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/RazorpayWebhookEvent"}
    assert "401" in op["responses"]


def test_empty_query_values_and_out_of_range_decimals_are_invalid_input() -> None:
    # A 400 from the HTTP layer itself: the handler (and so storage) is never reached.
    from functions.api.http import parse_query
    from functions.core.bills.schemas import AdminBillsQuery
    from functions.core.payments.schemas import AdminRefund, DefaulterQuery

    for params in ({"period": ""}, {"payer_id": "  "}, {"limit": ""}):
        with pytest.raises(InvalidInput):
            parse_query(params, AdminBillsQuery)
    for amount in ("1e100", "99999999999999999999", "-1"):
        with pytest.raises(InvalidInput):
            parse_query({"min_amount": amount}, DefaulterQuery)
    for amount in ("1e100", "99999999999999999999", "-1", "0", "0.001"):
        with pytest.raises(InvalidInput):
            parse_json_body(json.dumps({"amount": amount, "reason": "Charged twice"}).encode(),
                            AdminRefund, 1024)
