"""Chalice middleware that gives every function's log lines their Lambda context and a
correlation id, and traces each invocation (functions/core/observability.py).

Registered on the app (app.py) for every event type, so the API and all SQS and
scheduled functions get it, as Powertools documents for Chalice. The log keys are the
ones ``Logger.inject_lambda_context`` adds, but thread-local (see the core module).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from chalice import Chalice, ConvertToMiddleware, Response
from chalice.app import Request

from functions.core.observability import (
    CORRELATION_HEADER,
    set_correlation_id,
    start_invocation,
    tracer,
    valid_correlation_id,
)


def request_correlation_id(request: Request) -> str:
    """The caller's X-Correlation-Id if usable, else API Gateway's request id."""
    headers: Any = request.headers or {}  # Chalice's case-insensitive mapping
    given = valid_correlation_id(headers.get(CORRELATION_HEADER))
    context: dict[str, Any] = request.context or {}
    return given or str(context.get("requestId") or getattr(
        request.lambda_context, "aws_request_id", None) or uuid.uuid4())


def observe(event: Any, get_response: Callable[[Any], Any]) -> Any:
    if isinstance(event, Request):
        start_invocation(event.lambda_context)
        correlation_id = request_correlation_id(event)
        set_correlation_id(correlation_id)
        response = get_response(event)
        # Echoed, so a caller (or a support ticket) can quote the id the logs carry.
        if isinstance(response, Response):
            response.headers["X-Correlation-Id"] = correlation_id
        return response
    else:
        context = getattr(event, "context", None)
        start_invocation(context)
        # The invocation's request id until an SQS record brings its own (bound per
        # record); a scheduled run keeps it.
        set_correlation_id(valid_correlation_id(getattr(context, "aws_request_id", None)))
    return get_response(event)


def instrument(app: Chalice) -> None:
    app.register_middleware(observe, "all")
    if not tracer.disabled:  # X-Ray's handler subsegment, cold start and errors
        app.register_middleware(ConvertToMiddleware(tracer.capture_lambda_handler), "all")
