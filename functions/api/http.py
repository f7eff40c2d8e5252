"""The one place where HTTP meets the services.

`route(...)` registers a Chalice view that: checks the caller's role, parses and
validates the body (and query) with a pydantic model, calls the handler, and
serialises the result. Domain errors and validation errors become JSON 4xx
answers here and nowhere else. Every route is also recorded for /openapi.json.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from chalice import Blueprint, CORSConfig, Response
from pydantic import BaseModel, ValidationError

from functions.core.accounts.sessions import Caller, resolve_session
from functions.core.errors import DomainError, Forbidden, InvalidInput, PayloadTooLarge
from functions.core.logs import logger
from functions.core.settings import get_settings

MAX_BODY_BYTES = 64 * 1024
# No request body of this API nests deeper than a handful of levels (a tariff: object, list of
# slabs, slab). Deeper bodies are refused before json.loads, which recurses once per level.
MAX_JSON_DEPTH = 32
_JSON_SPECIAL = re.compile(rb'[\[\]{}"\\]')
_OPENING, _CLOSING = frozenset(b"[{"), frozenset(b"]}")
_QUOTE, _BACKSLASH = ord('"'), ord("\\")

# Sent with every API response (a route may set its own value of any of them). Answers hold
# personal data, so nothing is stored by a browser or a shared cache; nothing is sniffed,
# framed or rendered as a document. API Gateway's own answers get the same headers from
# infra/app_template.py, the local server's 401 from devstack/api_server.py.
SECURITY_HEADERS: dict[str, str] = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


class Access(Enum):
    PUBLIC = "public"
    USER = "user"  # any signed-in user (customer or admin)
    CUSTOMER = "customer"
    ADMIN = "admin"


@dataclass(frozen=True)
class RouteDoc:
    path: str
    method: str
    summary: str
    access: Access
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any
    status: int
    operation_id: str = ""  # the handler's name: one per operation in /openapi.json
    tag: str = ""  # the module that holds the route (accounts, bills, ...)


# Every id, key or name in a path: what the API ever issues (prp_..., BILL-..., 2024-05,
# residential). Anything else, the empty id first, is a 400 before any storage call.
PATH_PARAM_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$"
_PATH_PARAM = re.compile(PATH_PARAM_PATTERN)


ROUTES: list[RouteDoc] = []

auth_blueprint = Blueprint(__name__)


# The answers API Gateway gives itself (and the local server as it does), in the one error
# body: infra/app_template.py's gateway response templates, devstack/api_server.py.
GATEWAY_ERROR_CODES = {401: "unauthorized", 403: "forbidden", 429: "rate_limited",
                       500: "internal"}
UNAUTHORIZED_BODY = {"error": "unauthorized",
                     "message": "Not signed in, or the session has ended."}


class Unauthenticated(Exception):
    """Raised by the authorizer. API Gateway answers 401 for an authorizer
    that fails with exactly "Unauthorized"; the local server does the same."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


@auth_blueprint.authorizer(ttl_seconds=0)  # no caching: a revoked session stops at once
def session_authorizer(auth_request: Any) -> Any:
    from chalice import AuthResponse

    token = (auth_request.token or "").removeprefix("Bearer ").strip()
    caller = resolve_session(token)
    if caller is None:
        raise Unauthenticated()
    return AuthResponse(routes=["*"], principal_id=caller.user_id,
                        context={"role": caller.role, "session_id": caller.session_id})


@auth_blueprint.middleware("http")
def security_headers(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Every response of every route, including Chalice's own 405 and 415 answers."""
    response = get_response(event)
    if isinstance(response.body, dict) and set(response.body) == {"Code", "Message"}:
        # Chalice's own answers (415, 405, its 500): the API's one error body instead.
        response.body = {"error": _snake(str(response.body["Code"])),
                         "message": str(response.body["Message"])}
    present = {name.lower() for name in response.headers}
    for name, value in SECURITY_HEADERS.items():
        if name.lower() not in present:
            response.headers[name] = value
    return response


def _snake(code: str) -> str:
    # UnsupportedMediaType -> unsupported_media_type
    return re.sub(r"(?<!^)(?=[A-Z])", "_", code).lower()


def cors() -> CORSConfig:
    return CORSConfig(allow_origin=get_settings().portal_origin,
                      allow_headers=["Authorization", "Content-Type", "X-Correlation-Id"],
                      expose_headers=["Retry-After", "X-Correlation-Id"], max_age=600)


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    return Response(body=json.dumps(to_jsonable(payload), separators=(",", ":")),
                    status_code=status,
                    headers={"Content-Type": "application/json", **(headers or {})})


def to_jsonable(payload: Any) -> Any:
    if isinstance(payload, BaseModel):
        return payload.model_dump(mode="json")
    if isinstance(payload, list | tuple):
        return [to_jsonable(item) for item in payload]
    if isinstance(payload, dict):
        return {key: to_jsonable(value) for key, value in payload.items()}
    return payload


def error_response(error: DomainError) -> Response:
    body: dict[str, Any] = {"error": error.code, "message": error.message}
    if error.details is not None:
        body["details"] = error.details
    headers = {}
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return json_response(body, error.status, headers)


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [{"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
            for err in exc.errors(include_url=False, include_input=False)]


def json_nesting_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the brackets of ``raw`` (outside JSON strings) nest deeper than ``limit``.

    One pass over the body's special characters, no recursion, no backtracking: linear in
    the body's size (a 64 KiB body of brackets takes a few milliseconds)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth, in_string, skip_to = 0, False, -1
    for match in _JSON_SPECIAL.finditer(raw):
        position = match.start()
        if position < skip_to:
            continue  # the character after a backslash in a string
        char = raw[position]
        if in_string:
            if char == _BACKSLASH:
                skip_to = position + 2
            elif char == _QUOTE:
                in_string = False
        elif char == _QUOTE:
            in_string = True
        elif char in _OPENING:
            depth += 1
            if depth > limit:
                return True
        elif char in _CLOSING:
            depth -= 1
    return False


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads_json(raw: bytes) -> Any:
    """Parse a request body strictly: not too deep, UTF-8, no NaN/Infinity, no number that
    does not fit a double. Every refusal is an InvalidInput (400), never an exception that
    reaches the catch-all."""
    if json_nesting_exceeds(raw):
        raise InvalidInput(f"Request body nests deeper than {MAX_JSON_DEPTH} levels.")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant,
                          parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidInput("Request body is not valid JSON.") from exc


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:20]} is out of range")
    return value


def parse_json_body(raw: bytes | str | None, model: type[BaseModel], limit: int) -> BaseModel:
    raw = raw.encode() if isinstance(raw, str) else (raw or b"")
    if len(raw) > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes.")
    data = loads_json(raw or b"null")
    if not isinstance(data, dict):
        raise InvalidInput("Request body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput("Some fields are invalid.", details=field_errors(exc)) from exc
    except ArithmeticError as exc:  # a decimal validator given 1e100 or the like
        raise InvalidInput("Some fields are invalid: a number is out of range.") from exc


def check_path_params(params: dict[str, str]) -> None:
    bad = [{"field": name, "message": "must be an id: letters, digits and _.:@- (at most 128)"}
           for name, value in params.items() if not _PATH_PARAM.fullmatch(value or "")]
    if bad:
        raise InvalidInput("Some path parameters are invalid.", details=bad)


def parse_query(params: Any, model: type[BaseModel]) -> BaseModel:
    values = dict(params or {})
    # "?period=" means nothing: refused, so no empty value ever reaches a key condition.
    empty = [{"field": name, "message": "must not be empty"}
             for name, value in values.items() if not str(value).strip()]
    if empty:
        raise InvalidInput("Some query parameters are invalid.", details=empty)
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise InvalidInput("Some query parameters are invalid.",
                           details=field_errors(exc)) from exc
    except ArithmeticError as exc:
        raise InvalidInput("Some query parameters are invalid: a number is out of range."
                           ) from exc


def caller_of(request: Any) -> Caller:
    context = (request.context or {}).get("authorizer") or {}
    return Caller(user_id=context["principalId"], role=context["role"],
                  session_id=context["session_id"])


def check_access(caller: Caller, access: Access) -> None:
    if access is Access.ADMIN and caller.role != "admin":
        raise Forbidden("This action needs an administrator.")
    if access is Access.CUSTOMER and caller.role != "customer":
        raise Forbidden("This action is for customers.")


def route(bp: Blueprint, path: str, *, methods: Sequence[str] = ("GET",),
          access: Access = Access.USER, body: type[BaseModel] | None = None,
          query: type[BaseModel] | None = None, response: Any = None, status: int = 200,
          summary: str = "", max_body: int = MAX_BODY_BYTES,
          content_types: Sequence[str] = ("application/json",)) -> Callable[..., Any]:
    """Register ``handler`` as a Chalice route. The handler receives URL
    parameters by name plus ``caller``, ``body`` and ``query`` where they apply,
    and returns a pydantic model, a list/dict of them, or a chalice Response."""

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(handler)
        def view(**url_params: str) -> Response:
            request = bp.current_request
            kwargs: dict[str, Any] = dict(url_params)
            try:
                if access is not Access.PUBLIC:
                    caller = caller_of(request)
                    check_access(caller, access)
                    kwargs["caller"] = caller
                check_path_params(url_params)
                if body is not None:
                    kwargs["body"] = parse_json_body(request.raw_body, body, max_body)
                if query is not None:
                    kwargs["query"] = parse_query(request.query_params, query)
                result = handler(**kwargs)
            except DomainError as error:
                return error_response(error)
            except Exception:
                logger.exception("unhandled error", extra={"path": path})
                return json_response({"error": "internal",
                                      "message": "Something went wrong on our side."}, 500)
            if isinstance(result, Response):
                return result
            return json_response(result, status)

        for method in methods:
            ROUTES.append(RouteDoc(path, method.lower(), summary or (handler.__doc__ or "").strip(),
                                   access, body, query, response, status,
                                   operation_id=handler.__name__,
                                   tag=handler.__module__.rsplit(".", 1)[-1]))
        bp.route(path, methods=list(methods), cors=cors(),
                 authorizer=None if access is Access.PUBLIC else session_authorizer,
                 content_types=list(content_types))(view)
        return handler

    return decorate
