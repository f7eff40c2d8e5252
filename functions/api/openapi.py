"""OpenAPI 3.1 built from the pydantic models every route declares (issue 22 item 5).

What a client can rely on, and what tests/property/api_fuzz.py checks against the running API:
every error answer is one ``ErrorBody``; every status an operation can give is listed (the
gateway's 429, with Retry-After, on every operation); the models' constraints (patterns,
lengths, bounds) are in the schemas; decimals are strings with a pattern and their bounds;
every operation has an operationId, a tag and, when it takes a body, an example
(functions/api/openapi_examples.py).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, get_args, get_origin

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from functions.api.http import PATH_PARAM_PATTERN, ROUTES, Access, RouteDoc
from functions.api.openapi_examples import EXAMPLES

REF = "#/components/schemas/{model}"
ERROR_REF = {"$ref": REF.format(model="ErrorBody")}
FIELD_ERROR = {
    "type": "object", "required": ["field", "message"],
    "properties": {"field": {"type": "string", "description": "dotted path of the field, "
                                                             "or body"},
                   "message": {"type": "string"}}}
# Every error answer of the API, the reading endpoint's and the gateway's own included
# (http.error_response, device.REFUSALS, http.GATEWAY_ERROR_CODES).
ERROR_BODY = {
    "type": "object", "required": ["error", "message"],
    "description": "Every error answer: a stable code for programs, a sentence for people.",
    "properties": {
        "error": {"type": "string", "pattern": "^[a-z][a-z_]*$",
                  "description": "invalid_input, unauthorized, forbidden, not_found, "
                                 "conflict, payload_too_large, unsupported_media_type, "
                                 "rate_limited; the reading endpoint's rejected"},
        "message": {"type": "string"},
        "details": {"description": "the fields at fault, or the state behind the error "
                                   "(tries_left of a code)",
                    "anyOf": [{"type": "array", "items": {"$ref": REF.format(
                        model="FieldError")}}, {"type": "object"}]}},
    "examples": [{"error": "invalid_input", "message": "Some fields are invalid.",
                  "details": [{"field": "pincode", "message": "String should match pattern "
                                                              "'^[1-9][0-9]{5}$'"}]}],
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again",
                               "required": True,
                               "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
ERROR_TEXT = {
    400: "Invalid input (body, query or path), with the fields at fault",
    401: "Not signed in, or credentials, a code or a signature not accepted",
    403: "Signed in without access, or (signing in) an account that may not sign in yet: "
         "unverified, rejected or suspended",
    404: "No such object (named by the path or the body), or not the caller's",
    409: "Not possible in the object's present state",
    413: "Request body too large",
    415: "Unsupported Content-Type",
    429: "Too many requests (the gateway's throttle or the route's own limit): wait for "
         "Retry-After seconds",
    503: "A service behind the API (payment gateway, email, SMS) is not answering: retry "
         "later; nothing was left half-done",
}
# The media type and schema of answers a route writes itself (not JSON models).
RAW_ANSWERS: dict[str, tuple[str, dict[str, Any]]] = {
    "GET /admin/defaulters/csv": ("text/csv", {"type": "string"}),
    "GET /payments/checkout/{order_id}": ("text/html", {"type": "string"}),
    "GET /payments/checkout.js": ("text/javascript", {"type": "string"}),
    "GET /openapi.json": ("application/json", {"type": "object"}),
    "GET /health": ("application/json", {"type": "object", "required": ["status"],
                                         "properties": {"status": {"type": "string"}}}),
}
WEBHOOK = "POST /payments/webhook"
CALLBACK = "POST /payments/razorpay/callback"
MAX_DECIMAL_INTEGER_DIGITS = 15  # an unbounded decimal in a body: at most this many digits


class DocSchema(GenerateJsonSchema):
    """Decimals as strings (the server refuses JSON fractions: not exact enough for money);
    _decimals() turns the marker into a pattern and bounds."""

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        found = {key: value for key, value in schema.items()
                 if key in ("le", "ge", "lt", "gt", "max_digits", "decimal_places")}
        return {"type": "string", "x-decimal": found}


def _number(value: Any) -> int | float:
    exact = Decimal(str(value))
    return int(exact) if exact == exact.to_integral_value() else float(exact)


def _decimal(node: dict[str, Any]) -> None:
    """One decimal: the constraints pydantic left beside it or inside it become a pattern
    (digits before and after the point, a sign only if negatives are allowed) and
    minimum/maximum (annotations of the value the string stands for)."""
    found: dict[str, Any] = dict(node.pop("x-decimal"))
    for key in ("le", "ge", "lt", "gt", "max_digits", "decimal_places"):
        if key in node:
            found[key] = node.pop(key)
    for key, name in (("maximum", "le"), ("minimum", "ge"), ("exclusiveMaximum", "lt"),
                      ("exclusiveMinimum", "gt")):
        if key in node:
            found.setdefault(name, node.pop(key))
    places, digits = found.get("decimal_places"), found.get("max_digits")
    upper = [abs(Decimal(str(found[k]))) for k in ("le", "lt") if found.get(k) is not None]
    lower = [Decimal(str(found[k])) for k in ("ge", "gt") if found.get(k) is not None]
    if digits is not None:
        whole = max(1, digits - (places or 0))
    elif upper:
        whole = max(len(str(int(bound))) for bound in [*upper, *map(abs, lower)])
    else:
        whole = MAX_DECIMAL_INTEGER_DIGITS
    sign = "" if lower and lower[0] >= 0 else "-?"
    fraction = "" if places == 0 else (rf"(\.\d{{1,{places}}})?" if places else r"(\.\d+)?")
    node["pattern"] = f"^{sign}\\d{{1,{whole}}}{fraction}$"
    for name, key in (("le", "maximum"), ("ge", "minimum"), ("lt", "exclusiveMaximum"),
                      ("gt", "exclusiveMinimum")):
        if found.get(name) is not None:
            node[key] = _number(found[name])
    if "maximum" not in node and "exclusiveMaximum" not in node:
        node["maximum"] = _number(Decimal(10) ** whole - (Decimal(1) / 10 ** (places or 0)))


def _finish(node: Any) -> Any:
    if isinstance(node, dict):
        if "x-decimal" in node:
            _decimal(node)
        for value in node.values():
            _finish(value)
    elif isinstance(node, list):
        for item in node:
            _finish(item)
    return node


def json_schema(model: Any) -> dict[str, Any]:
    schema: dict[str, Any] = TypeAdapter(model).json_schema(ref_template=REF,
                                                             schema_generator=DocSchema)
    return _finish(schema)


def _schema(model: Any, components: dict[str, Any]) -> dict[str, Any]:
    inner = get_args(model)[0] if get_origin(model) is list else None
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return {"type": "array", "items": _schema(inner, components)}
    schema = json_schema(model)
    components.update(schema.pop("$defs", {}))
    if isinstance(model, type) and issubclass(model, BaseModel):
        components[model.__name__] = schema
        return {"$ref": REF.format(model=model.__name__)}
    return schema


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or a string: ``X | None`` is just X."""
    options = schema.get("anyOf")
    if options and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        merged = {key: value for key, value in schema.items()
                  if key != "anyOf" and not (key == "default" and value is None)}
        if len(rest) == 1:
            return {**rest[0], **merged}
        return {**merged, "anyOf": rest}
    return schema


def _query_parameters(model: type[BaseModel], components: dict[str, Any]
                      ) -> list[dict[str, Any]]:
    schema = json_schema(model)
    components.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = _not_null({key: value for key, value in prop.items() if key != "title"})
        if prop.get("type") == "string" and "minLength" not in prop and "enum" not in prop:
            prop["minLength"] = 1  # an empty value is refused (http.parse_query)
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if "description" in prop:
            param["description"] = prop["description"]
        params.append(param)
    return params


def _operation(doc: RouteDoc, components: dict[str, Any]) -> dict[str, Any]:
    key = f"{doc.method.upper()} {doc.path}"
    op: dict[str, Any] = {"operationId": doc.operation_id, "tags": [_tag(doc)],
                          "summary": doc.summary or doc.path, "responses": {}}
    params = [{"name": name, "in": "path", "required": True,
               "schema": {"type": "string", "minLength": 1, "maxLength": 128,
                          "pattern": PATH_PARAM_PATTERN}}
              for name in re.findall(r"{(\w+)}", doc.path)]
    if doc.query is not None:
        params += _query_parameters(doc.query, components)
    if doc.body is not None:
        body = _schema(doc.body, components)
        media: dict[str, Any] = {"schema": body}
        name = getattr(doc.body, "__name__", "")
        if name in EXAMPLES:
            media["example"] = EXAMPLES[name]
        op["requestBody"] = {"required": True, "content": {"application/json": media}}
    ok: dict[str, Any] = {"description": "OK"}
    if key in RAW_ANSWERS:
        media_type, schema = RAW_ANSWERS[key]
        ok["content"] = {media_type: {"schema": schema}}
    elif doc.response is not None:
        ok["content"] = {"application/json": {"schema": _schema(doc.response, components)}}
    op["responses"][str(doc.status)] = ok
    for code in _errors(doc):
        response: dict[str, Any] = {"description": ERROR_TEXT[code], "content": {
            "application/json": {"schema": ERROR_REF}}}
        if code == 429:
            response["headers"] = RETRY_AFTER
        op["responses"][str(code)] = response
    if key == "GET /health":  # its own report, not an ErrorBody
        op["responses"]["503"] = {**ok, "description": "A table or queue is not reachable"}
    if key == WEBHOOK:
        _webhook(op, params, components)
    if key == CALLBACK:
        _callback(op)
    if params:
        op["parameters"] = params
    if doc.access is not Access.PUBLIC:
        op["security"] = [{"session": []}]
    op["x-access"] = doc.access.value
    return op


def _webhook(op: dict[str, Any], params: list[dict[str, Any]],
             components: dict[str, Any]) -> None:
    """Razorpay's webhook: the event (as the gateway adapter parses it) and its signature."""
    from functions.core.payments.razorpay_gateway import (
        EVENT_ID_HEADER,
        SIGNATURE_HEADER,
        EventEnvelope,
    )

    schema = json_schema(EventEnvelope)
    components.update(schema.pop("$defs", {}))
    schema["description"] = ("A Razorpay webhook event (payment.captured, payment.failed, "
                             "refund.processed, ...): payload.payment.entity or "
                             "payload.refund.entity is the object. Other fields are kept "
                             "as Razorpay sends them.")
    components["RazorpayWebhookEvent"] = schema
    op["requestBody"] = {"required": True, "content": {"application/json": {
        "schema": {"$ref": REF.format(model="RazorpayWebhookEvent")},
        "example": EXAMPLES["RazorpayWebhookEvent"]}}}
    params += [
        {"name": SIGNATURE_HEADER, "in": "header", "required": True,
         "description": "HMAC-SHA256 (hex) of the raw body with the webhook secret; a "
                        "missing or wrong one is a 401",
         "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}},
        {"name": EVENT_ID_HEADER, "in": "header", "required": False,
         "description": "Razorpay's event id: the same event delivered twice is applied once",
         "schema": {"type": "string", "minLength": 1, "maxLength": 64}}]


def _callback(op: dict[str, Any]) -> None:
    """Standard Checkout's browser return: a form post, answered by a redirect or a page."""
    field = {"type": "string", "maxLength": 1024}
    op["requestBody"] = {"required": True, "content": {
        "application/x-www-form-urlencoded": {"schema": {
            "type": "object",
            "properties": {"razorpay_payment_id": field, "razorpay_order_id": field,
                           "razorpay_signature": field, "error[code]": field,
                           "error[description]": field, "error[metadata]": field}}}}}
    page = {"text/html": {"schema": {"type": "string"}}}
    responses = op["responses"]
    responses.pop("200", None)
    responses["303"] = {"description": "Verified and applied: back to the bill's page",
                        "headers": {"Location": {"required": True,
                                                 "schema": {"type": "string"}}}}
    for code in ("400", "401", "404", "409", "413", "503"):
        if code in responses:
            responses[code] = {"description": responses[code]["description"] + " (a page "
                               "for the payer)", "content": page}


def _errors(doc: RouteDoc) -> list[int]:
    """The error answers the HTTP layer (functions/api/http.py) and the gateway can give this
    route, by what the route takes: the domain errors map to these codes there, in one
    place. Every route can meet the gateway's throttle (429), Chalice's 415 and a service
    behind it that does not answer (503: payments.service.ServiceUnavailable,
    accounts.deps.DeliveryFailed, API Gateway's own 5xx)."""
    changes = doc.method != "get"
    found = [400, 415, 429, 503]
    if doc.access is not Access.PUBLIC:
        found += [401, 403]
    elif changes:
        found.append(401)
        if doc.path.startswith("/auth/"):
            found.append(403)  # an account that is not verified yet, or suspended
    if "{" in doc.path or changes:
        found += [404, 409]
    if doc.body is not None or (changes and doc.access is Access.PUBLIC):
        found.append(413)
    return sorted(found)


def _tag(doc: RouteDoc) -> str:
    return (doc.tag or "api").replace("_", " ").capitalize()


def _operation_ids(routes: list[RouteDoc]) -> list[RouteDoc]:
    """The handler's name, made unique: a handler serving two methods gets the method."""
    seen: dict[str, int] = {}
    for doc in routes:
        seen[doc.operation_id] = seen.get(doc.operation_id, 0) + 1
    from dataclasses import replace

    return [doc if doc.operation_id and seen[doc.operation_id] == 1
            else replace(doc, operation_id=f"{doc.operation_id or doc.tag}_{doc.method}_"
                                          + re.sub(r"\W+", "_", doc.path).strip("_"))
            for doc in routes]


def openapi_document() -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    routes = _operation_ids(ROUTES)
    for doc in routes:
        paths.setdefault(doc.path, {})[doc.method] = _operation(doc, components)
    tags = sorted({_tag(doc) for doc in routes})
    return {
        "openapi": "3.1.0",
        "info": {"title": "IoT electricity billing API", "version": "1",
                 "description": "Customers, admins and meters of a discom's billing "
                                "platform. Sign in (POST /auth/login/password) and send "
                                "the session as `Authorization: Bearer <token>`. Money "
                                "and other decimals are strings (\"1380.00\"). Every error "
                                "is an ErrorBody. Send `X-Correlation-Id` (1-128 letters, "
                                "digits or `._:/+=@-`) to follow a request through the "
                                "logs; every answer carries the id used (yours, else the "
                                "gateway's request id)."},
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": {**components, "ErrorBody": ERROR_BODY, "FieldError": FIELD_ERROR},
            "securitySchemes": {"session": {"type": "http", "scheme": "bearer"}},
        },
    }
