"""Operators follow a billing run by its correlation id (issue 22): a run started through
the API with an X-Correlation-Id logs that id in the fan-out, at the reading endpoint
(intake) and in billing, with the Lambda context and the run, meter and property ids as
keys; and billing's bills come out as EMF metric lines (CloudWatch's embedded metric
format), carrying the same id.

Two real simulated meters (`python -m device_client simulate`) answer the run."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from devstack.demo_data import Api, DemoUser, MeterPlan, fit_meters, start_simulator
from functions.core.accounts.sessions import issue_session
from functions.core.billing_rules import period_of
from functions.core.logs import logger
from functions.core.meters.models import MeterRecord, RawReadingRecord
from tests.integration.billing_support import (
    a_customer,
    ensure_reference_tariffs,
    retire,
    wait_for,
)


def months_back(n: int) -> str:
    period = period_of(datetime.now(UTC))
    for _ in range(n):
        period = period.previous()
    return str(period)


# No other test bills this period (see tests/integration/test_faults.py for theirs).
PERIOD = months_back(10)


class Lines(logging.Handler):
    """Every log line of the app, formatted by Powertools as it would reach CloudWatch."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logger.registered_formatter)
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def log_lines() -> Iterator[Lines]:
    handler = Lines()
    app_logger = logging.getLogger(logger.name)  # the stdlib logger Powertools writes through
    app_logger.addHandler(handler)
    yield handler
    app_logger.removeHandler(handler)


def emf_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()
            if line.startswith('{"_aws"')]


def test_a_run_is_followed_by_its_correlation_id_from_api_to_bill(
        stack, admin, tmp_path, log_lines, capsys):
    _, as_admin = admin
    ensure_reference_tariffs(as_admin)
    user = a_customer(name="Traced Owner")
    owner = DemoUser(user.user_id, user.name, user.email, user.mobile, user.role, "",
                     issue_session(user))
    # v2 meters: they answer with the snapshot latched on the billing date, months ago.
    plans = [MeterPlan(owner=owner, label=f"traced-{n}", initial_register_wh=1_000_000 * n,
                       protocol_version=2) for n in (1, 2)]
    simulator, serials = start_simulator(plans, directory=tmp_path, installed_days_ago=400)
    fitted = []
    correlation_id = f"e2e-{uuid.uuid4().hex[:12]}"
    try:
        fitted = fit_meters(Api(stack.api.base_url, as_admin.token), simulator, plans, serials)
        started = as_admin.post("/admin/runs", json={"period": PERIOD, "policy": "no_bill"},
                                headers={"X-Correlation-Id": correlation_id})
        assert started.status_code == 202, started.text
        assert started.headers["X-Correlation-Id"] == correlation_id  # quotable by the caller
        meters = {f.meter_id: f.property_id for f in fitted}

        def billed() -> list[dict[str, Any]]:
            lines = [line for line in log_lines.lines
                     if line.get("correlation_id") == correlation_id
                     and line["message"] == "reading billed"]
            return lines if {line.get("meter_id") for line in lines} == set(meters) else []

        assert wait_for(billed, timeout=90, step=0.3), _debug(log_lines, meters)
    finally:
        simulator.stop()
        retire(m for f in fitted if (m := MeterRecord.get(f.meter_id)))

    mine = [line for line in log_lines.lines if line.get("correlation_id") == correlation_id]
    by_message: dict[str, list[dict[str, Any]]] = {}
    for line in mine:
        by_message.setdefault(line["message"], []).append(line)

    # The API request itself, then each function the run went through, in its own context.
    assert by_message["billing run started"][0]["run_id"] == PERIOD
    fanout = by_message["fan-out batch done"]
    assert sum(line["sent"] for line in fanout) == 2
    assert {line["function_name"] for line in fanout} == {"iot_fanout"}
    assert {line["run_id"] for line in fanout} == {PERIOD}
    for message, function in (("reading accepted", "api_handler"),
                              ("reading billed", "billing")):
        lines = by_message[message]
        assert {line["meter_id"]: line["property_id"] for line in lines} == meters, message
        assert {line["function_name"] for line in lines} == {function}
        assert {line["run_id"] for line in lines} == {PERIOD}
        assert all("cold_start" in line and line["function_request_id"] for line in lines)

    # Billing's metrics: EMF lines (no CloudWatch call), with the run's correlation id.
    metrics = [m for m in emf_lines(capsys.readouterr().out)
               if m.get("correlation_id") == correlation_id]
    issued = [m for m in metrics if "BillsIssued" in m]
    assert sum(sum(m["BillsIssued"]) for m in issued) == 2
    for line in issued:
        definition = line["_aws"]["CloudWatchMetrics"][0]
        assert {"Name": "BillsIssued", "Unit": "Count"} in definition["Metrics"]
        assert ["service"] in definition["Dimensions"]  # the total an alarm can watch
        assert line["kind"] == "actual"
    assert sum(sum(m.get("ReadingsAccepted", [0])) for m in metrics) == 2
    stored = [r for meter_id in meters for r in RawReadingRecord.query(meter_id)
              if r.run_id == PERIOD]
    assert {r.status for r in stored} == {"accepted"}


def _debug(lines: Lines, meters: dict[str, str]) -> str:
    related = [line for line in lines.lines
               if line.get("run_id") == PERIOD or line.get("meter_id") in meters]
    return json.dumps(related[-30:], indent=1, default=str)
