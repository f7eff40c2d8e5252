"""Issue 22: metrics as EMF lines with low-cardinality dimensions, correlation ids through
SQS attributes and the API middleware, the alarms and dashboard in the resources stack
(each alarm in docs/runbook.md), and X-Ray tracing on the app template."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from chalice.app import Request, Response

from functions.api.observability import observe, request_correlation_id
from functions.core.observability import (
    bind_record,
    correlation_attributes,
    current_correlation_id,
    emit,
    set_correlation_id,
    start_invocation,
)
from functions.core.resources import QUEUES
from infra.app_template import XRAY_WRITE_POLICY, finish
from infra.observability import alarms, metrics_namespace
from infra.resources_template import render
from infra.stages import FUNCTIONS, stage_config

ROOT = Path(__file__).resolve().parents[2]
DEV = stage_config("dev")


def emf(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"_aws"')]


def test_a_metric_is_one_emf_line_with_its_total_and_the_correlation_id(capsys) -> None:
    set_correlation_id("req-1")
    emit({"ReadingsRejected": 3, "Zero": 0}, dimensions={"reason": "spike"}, total=True,
         run_id="2026-01")
    emit({"Nothing": 0})  # zero values are left out, and an empty line is not written
    set_correlation_id(None)
    [line] = emf(capsys.readouterr().out)
    definition = line["_aws"]["CloudWatchMetrics"][0]
    assert definition["Metrics"] == [{"Name": "ReadingsRejected", "Unit": "Count"}]
    assert sorted(map(sorted, definition["Dimensions"])) == [["reason", "service"],
                                                             ["service"]]
    assert line["ReadingsRejected"] == [3.0] and line["reason"] == "spike"
    # ids are metadata: kept in the line, never a dimension
    assert line["correlation_id"] == "req-1" and line["run_id"] == "2026-01"


def test_the_correlation_id_rides_as_an_sqs_attribute() -> None:
    set_correlation_id("run-abc")
    attributes = correlation_attributes()
    set_correlation_id(None)
    assert correlation_attributes() == {}
    record = {"messageAttributes": {name: {"stringValue": value["StringValue"],
                                           "dataType": value["DataType"]}
                                    for name, value in attributes.items()}}
    assert bind_record(record) == "run-abc" == current_correlation_id()
    # a caller's junk is not logged as an id: the invocation's own id stands in
    start_invocation(SimpleNamespace(function_name="billing", aws_request_id="lambda-7"))
    assert bind_record({"messageAttributes": {
        "correlation_id": {"stringValue": "x" * 500}}}) == "lambda-7"
    start_invocation(None)
    assert bind_record({}) is None


def _request(headers: dict[str, str]) -> Request:
    return Request({"multiValueQueryStringParameters": None, "headers": headers,
                    "pathParameters": None,
                    "requestContext": {"requestId": "gw-123", "httpMethod": "GET",
                                       "resourcePath": "/x"},
                    "httpMethod": "GET", "body": None, "isBase64Encoded": False,
                    "stageVariables": None, "path": "/x"})


def test_the_api_takes_the_callers_correlation_id_or_its_request_id() -> None:
    assert request_correlation_id(_request({"x-correlation-id": "abc-42"})) == "abc-42"
    assert request_correlation_id(_request({"x-correlation-id": "bad id!"})) == "gw-123"
    assert request_correlation_id(_request({})) == "gw-123"
    assert observe(_request({}), lambda event: current_correlation_id()) == "gw-123"


def test_the_api_answers_with_the_correlation_id_its_logs_carry() -> None:
    answer = observe(_request({"x-correlation-id": "abc-42"}),
                     lambda event: Response(body="", status_code=404))
    assert answer.headers["X-Correlation-Id"] == "abc-42"
    assert observe(_request({}), lambda event: Response(body="")).headers[
        "X-Correlation-Id"] == "gw-123"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_alarms_cover_functions_api_queues_and_runs(stage: str) -> None:
    config = stage_config(stage)
    template = render(config)
    found = {r["Properties"]["AlarmName"].removeprefix(f"{config.prefix}-"): r["Properties"]
             for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"}
    expected = {f"{f}-{kind}" for f in FUNCTIONS for kind in ("errors", "throttles")}
    expected |= {f"{q.logical}-queue-age" for q in QUEUES}
    expected |= {"api-5xx-rate", "api-latency-p99", "run-open-past-window",
                 "readings-rejected-jump", "webhook-signatures-refused"}
    assert expected <= set(found)
    for name in expected:
        assert found[name]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
    assert found["api-latency-p99"]["ExtendedStatistic"] == "p99"
    assert found["run-open-past-window"]["Namespace"] == f"IotBilling/{stage}" \
        == metrics_namespace(config)
    # one dashboard, showing every alarm
    [board] = [r for r in template["Resources"].values()
               if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = json.loads(board["Properties"]["DashboardBody"]["Fn::Sub"])
    shown = [a.rsplit(":alarm:", 1)[1] for w in body["widgets"] if w["type"] == "alarm"
             for a in w["properties"]["alarms"]]
    assert sorted(shown) == sorted(a["AlarmName"] for a in found.values()
                                   if not a["AlarmName"].endswith("-dlq-not-empty"))


def test_the_runbook_says_what_every_alarm_means_and_what_to_do() -> None:
    text = (ROOT / "docs" / "runbook.md").read_text()
    section = text.split("## 7. Alarms", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    documented = " ".join(row.split("|")[1] for row in rows)
    for name in alarms(DEV):
        alarm = alarms(DEV)[name]["Properties"]["AlarmName"].removeprefix(f"{DEV.prefix}-")
        generic = re.sub(r"^(\w+)-(errors|throttles|queue-age)$", r"<\2>", alarm)
        if generic != alarm:  # one row for a kind, naming each function or queue
            subject = alarm.rsplit("-", 2 if alarm.endswith("queue-age") else 1)[0]
            assert f"`{subject}`" in documented, alarm
            kind = generic.strip("<>")
            assert f"`<{'queue' if kind == 'queue-age' else 'function'}>-{kind}`" \
                in documented, alarm
        else:
            assert f"`{alarm}`" in documented, alarm
    for row in rows:  # meaning and first action filled in
        cells = [c.strip() for c in row.split("|")[1:-1]]
        assert len(cells) == 3 and all(len(c) > 30 for c in cells[1:]), row


def test_the_app_template_traces_every_function_and_the_api() -> None:
    role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {},
                                                     "Policies": []}}
    function = {"Type": "AWS::Serverless::Function", "Properties": {
        "Runtime": "python3.11", "Handler": "app.app", "CodeUri": "./deployment.zip",
        "Timeout": 30, "MemorySize": 512, "Role": {"Fn::GetAtt": ["ApiHandlerRole", "Arn"]}}}
    api = {"Type": "AWS::Serverless::Api", "Properties": {"StageName": "api",
                                                          "DefinitionBody": {"paths": {}}}}
    done = finish({"Resources": {"ApiHandlerRole": role, "APIHandler": function,
                                 "RestAPI": api}}, DEV)["Resources"]
    assert done["APIHandler"]["Properties"]["Tracing"] == "Active"
    assert done["ApiHandlerRole"]["Properties"]["ManagedPolicyArns"] == [XRAY_WRITE_POLICY]
    assert done["RestAPI"]["Properties"]["TracingEnabled"] is True
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert all(config["stages"][s]["xray"] is True for s in ("dev", "prod"))
    assert config["stages"]["local"]["environment_variables"][
        "POWERTOOLS_TRACE_DISABLED"] == "true"
