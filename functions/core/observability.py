"""Correlation ids, traces and business metrics (Powertools Logger, Tracer, Metrics).

- Correlation: an API request's id (its ``X-Correlation-Id`` header, else API Gateway's
  request id) follows the work it starts through SQS as the message attribute
  ``correlation_id`` (``correlation_attributes``), is read back per record by the SQS
  functions (``bind_record``) and lands on every log line as ``correlation_id``. Readings
  arrive in a new API request from the meter: the reading endpoint takes the correlation
  id of the run they answer (stored on the run record at its start or close).
- Log keys are thread-local (Powertools' ``thread_safe_append_keys``): in Lambda one
  invocation owns the process, but the local stack runs the API and every SQS function in
  threads of one process, and global keys would cross between them.
- Traces: one Tracer, off outside Lambda and whenever ``POWERTOOLS_TRACE_DISABLED`` is
  set (the local stack, tests), so nothing needs X-Ray there.
- Metrics: embedded metric format, i.e. one JSON log line per call, no CloudWatch API
  call. Each call builds its own provider (Powertools' ``Metrics`` shares one metric set
  per process, which threads would mix). Dimensions are low-cardinality only (service,
  reason, outcome); ids go in as metadata, which CloudWatch keeps in the log line without
  making a metric of it.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)

from functions.core.logs import logger
from functions.core.settings import get_settings

SERVICE = "iot-billing"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "IotBilling"
CORRELATION_ATTRIBUTE = "correlation_id"
CORRELATION_HEADER = "x-correlation-id"
# A caller's id is logged and forwarded: keep it short and printable.
_CORRELATION_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")

_correlation: ContextVar[str | None] = ContextVar("correlation_id", default=None)
# The invocation's own request id: the correlation id of a record that brought none.
_invocation: ContextVar[str | None] = ContextVar("invocation_id", default=None)

# AWS calls (boto3 and pynamodb go through botocore) and the payment gateway (requests) get
# subsegments of their own; the meters' deliveries (urllib3, on pool threads) do not: one
# subsegment per fan-out batch stands for them, so a run is not a million subsegments.
tracer = Tracer(service=SERVICE, patch_modules=("botocore", "requests"),
                disabled=True if get_settings().stage == "local" else None)


# ---------------------------------------------------------------- correlation ids


def valid_correlation_id(value: Any) -> str | None:
    return value if isinstance(value, str) and _CORRELATION_ID.fullmatch(value) else None


def current_correlation_id() -> str | None:
    return _correlation.get()


def set_correlation_id(value: str | None) -> None:
    """The correlation id of this thread's work from now on (None: none)."""
    _correlation.set(value)
    if value is None:
        logger.thread_safe_remove_keys([CORRELATION_ATTRIBUTE])
    else:
        logger.thread_safe_append_keys(correlation_id=value)


def correlation_attributes() -> dict[str, dict[str, str]]:
    """SQS MessageAttributes carrying the current correlation id (empty without one)."""
    value = current_correlation_id()
    if value is None:
        return {}
    return {CORRELATION_ATTRIBUTE: {"DataType": "String", "StringValue": value}}


def record_correlation_id(record: Any) -> str | None:
    """The correlation id an SQS record carries (a Powertools SQSRecord or a raw dict)."""
    raw = record.raw_event if hasattr(record, "raw_event") else record
    attribute = (raw.get("messageAttributes") or {}).get(CORRELATION_ATTRIBUTE) or {}
    return valid_correlation_id(attribute.get("stringValue"))


def bind_record(record: Any, **keys: Any) -> str | None:
    """Log the record's correlation id (else the invocation's request id) and ``keys``
    (run_id, meter_id ...) on every line of this thread until the next record; returns
    the correlation id."""
    value = record_correlation_id(record) or _invocation.get()
    set_correlation_id(value)
    bind_keys(**keys)
    return value


def bind_keys(**keys: Any) -> None:
    """Thread-local log keys (None values are dropped)."""
    present = {k: v for k, v in keys.items() if v is not None}
    if present:
        logger.thread_safe_append_keys(**present)


def start_invocation(context: Any, function_name: str | None = None) -> None:
    """Fresh thread-local log keys for one invocation: the Lambda context's fields (what
    Powertools' inject_lambda_context adds) and cold_start."""
    logger.thread_safe_clear_keys()
    _correlation.set(None)
    _invocation.set(valid_correlation_id(getattr(context, "aws_request_id", None)))
    keys: dict[str, Any] = {"cold_start": _cold_start()}
    if context is not None:
        keys.update(
            function_name=getattr(context, "function_name", None) or function_name,
            function_memory_size=getattr(context, "memory_limit_in_mb", None),
            function_arn=getattr(context, "invoked_function_arn", None) or None,
            function_request_id=getattr(context, "aws_request_id", None))
    elif function_name:
        keys["function_name"] = function_name
    bind_keys(**keys)


_warm = False


def _cold_start() -> bool:
    global _warm
    cold, _warm = not _warm, True
    return cold


# ---------------------------------------------------------------- traces


@contextlib.contextmanager
def subsegment(name: str, **annotations: str | int | bool) -> Iterator[None]:
    """An X-Ray subsegment (nothing when tracing is off) with searchable annotations."""
    if tracer.disabled:
        yield
        return
    with tracer.provider.in_subsegment(name=name) as segment:
        for key, value in annotations.items():
            segment.put_annotation(key=key, value=value)  # type: ignore[arg-type]
        yield


# ---------------------------------------------------------------- metrics


def emit(metrics: Mapping[str, float], unit: MetricUnit = MetricUnit.Count,
         dimensions: Mapping[str, str] | None = None, *, total: bool = False,
         keep_zero: bool = False, **metadata: Any) -> None:
    """One EMF line with ``metrics`` (zero values left out unless ``keep_zero``: a
    gauge an alarm watches) under the ``service`` dimension plus ``dimensions``;
    ``total=True`` also files them under ``service`` alone, so an alarm can watch the
    sum over every reason."""
    values = {name: value for name, value in metrics.items() if value or keep_zero}
    if not values:
        return
    provider = AmazonCloudWatchEMFProvider(namespace=NAMESPACE, service=SERVICE)
    for name, amount in values.items():
        provider.add_metric(name=name, unit=unit, value=amount)
    if dimensions:
        if total:
            provider.add_dimensions(service=SERVICE)
        for key, value in dimensions.items():
            provider.add_dimension(name=key, value=value)
    correlation = current_correlation_id()
    if correlation:
        provider.add_metadata(key=CORRELATION_ATTRIBUTE, value=correlation)
    for key, value in metadata.items():
        if value is not None:
            provider.add_metadata(key=key, value=value)
    try:
        provider.flush_metrics()
    except Exception:  # a metric must never fail the work it describes
        logger.exception("metric not emitted", extra={"metrics": sorted(values)})


def count(name: str, value: float = 1, **dimensions: str) -> None:
    emit({name: value}, dimensions=dimensions or None)


__all__ = ["CORRELATION_ATTRIBUTE", "CORRELATION_HEADER", "MetricUnit", "bind_keys",
           "bind_record", "correlation_attributes", "count", "current_correlation_id",
           "emit", "record_correlation_id", "set_correlation_id", "start_invocation",
           "subsegment", "tracer", "valid_correlation_id"]
