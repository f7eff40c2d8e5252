"""OpenAPI 3.1 built from the pydantic models every route declares."""

from __future__ import annotations

import re
from typing import Any, get_args, get_origin

from pydantic import BaseModel, TypeAdapter

from functions.api.http import ROUTES, Access, RouteDoc

REF = "#/components/schemas/{model}"
ERROR_REF = {"$ref": REF.format(model="ErrorBody")}
# Every error answer: {"error", "message", "details"?} from functions/api/http.py; the
# gateway's own answers carry only "message", the reading endpoint's only "error".
ERROR_BODY = {"type": "object", "properties": {
    "error": {"type": "string"}, "message": {"type": "string"}, "details": {}}}


def _schema(model: Any, components: dict[str, Any]) -> dict[str, Any]:
    schema = TypeAdapter(model).json_schema(ref_template=REF)
    components.update(schema.pop("$defs", {}))
    if isinstance(model, type) and issubclass(model, BaseModel):
        components[model.__name__] = schema
        return {"$ref": REF.format(model=model.__name__)}
    inner = get_args(model)[0] if get_origin(model) is list else None
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        components[inner.__name__] = TypeAdapter(inner).json_schema(ref_template=REF)
        components.update(components[inner.__name__].pop("$defs", {}))
        return {"type": "array", "items": {"$ref": REF.format(model=inner.__name__)}}
    return schema


def _operation(doc: RouteDoc, components: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": doc.summary or doc.path, "responses": {}}
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
              for name in re.findall(r"{(\w+)}", doc.path)]
    if doc.query is not None:
        for name, field in doc.query.model_fields.items():
            params.append({"name": name, "in": "query", "required": field.is_required(),
                           "schema": TypeAdapter(field.annotation or Any).json_schema()})
    if params:
        op["parameters"] = params
    if doc.body is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": _schema(doc.body, components)}}}
    ok: dict[str, Any] = {"description": "OK"}
    if doc.response is not None:
        ok["content"] = {"application/json": {"schema": _schema(doc.response, components)}}
    op["responses"][str(doc.status)] = ok
    for code, description in _errors(doc):
        op["responses"][str(code)] = {"description": description, "content": {
            "application/json": {"schema": ERROR_REF}}}
    if doc.access is not Access.PUBLIC:
        op["security"] = [{"session": []}]
    op["x-access"] = doc.access.value
    return op


def _errors(doc: RouteDoc) -> list[tuple[int, str]]:
    """The error answers the HTTP layer (functions/api/http.py) can give this route, by
    what the route takes: the domain errors map to these codes there, in one place."""
    changes = doc.method != "get"
    found = [(400, "Invalid input, with the field errors")]
    if doc.access is not Access.PUBLIC:
        found += [(401, "Not signed in"), (403, "Signed in without access")]
    elif changes:
        found.append((401, "Credentials, a code or a signature not accepted"))
    if "{" in doc.path or changes:
        found.append((404, "No such object (named by the path or the body), or not the "
                           "caller's"))
        found.append((409, "Not possible in the object's present state"))
    if doc.body is not None or (changes and doc.access is Access.PUBLIC):
        found.append((413, "Request body too large"))
    if changes:
        found.append((415, "Unsupported content type"))
    if changes and (doc.access is Access.PUBLIC or doc.path.startswith(("/me", "/auth"))):
        found.append((429, "Too many attempts: wait for Retry-After seconds"))
    return sorted(found)


def openapi_document() -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for doc in ROUTES:
        paths.setdefault(doc.path, {})[doc.method] = _operation(doc, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "IoT electricity billing API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": {**components, "ErrorBody": ERROR_BODY},
            "securitySchemes": {"session": {"type": "http", "scheme": "bearer"}},
        },
    }
