"""Alarms and the operations dashboard (issue 22), part of the resources stack.

Every alarm notifies the stack's AlarmTopic (alarm and OK) and is listed, with what it
means and what to do first, in docs/runbook.md ("Alarms"); a unit test keeps the two in
step. They watch:

- each Lambda function: errors and throttles (AWS/Lambda, by function name);
- the API: the 5xx rate (over a minimum of requests) and p99 latency (AWS/ApiGateway);
- each work queue: the age of its oldest message, i.e. a consumer falling behind;
- the business metrics the functions write as EMF log lines (functions/core/
  observability.py): a run still open past its answer window (RunsOpenPastWindow, from
  the window sweep), a jump in the share of rejected readings, refused webhook
  signatures.

Names are computed (function, API and queue names are fixed by the stage's prefix), so
the resources stack needs nothing from the app stack and can be deployed first.
"""

from __future__ import annotations

import json
from typing import Any

from functions.core.resources import QUEUES
from infra.stages import FUNCTIONS, StageConfig, chalice_config

SERVICE = "iot-billing"  # the `service` dimension of every EMF metric
API_STAGE = "api"  # .chalice/config.json api_gateway_stage
PERIOD = 300

# How old a queue's oldest message may get (seconds). A run bills 1,000,000 meters in
# 15 minutes (docs/scale.md): older than that, the consumers are not keeping up.
QUEUE_AGE_LIMIT = {"fanout": 900, "run_steps": 900, "readings": 900, "overdue_steps": 3600,
                   "notifications": 1800, "notification_events": 1800}
API_5XX_PERCENT = 2  # of at least API_MIN_REQUESTS in 5 minutes
API_MIN_REQUESTS = 50
API_P99_MS = 3000
REJECTED_PERCENT = 10  # of at least READINGS_MIN readings in 15 minutes
READINGS_MIN = 100
WEBHOOK_REFUSALS = 5  # in 5 minutes


def metrics_namespace(stage: StageConfig) -> str:
    """The EMF namespace the stage's functions write to (.chalice/config.json)."""
    config = chalice_config()
    variables = {**config.get("environment_variables", {}),
                 **config["stages"][stage.name].get("environment_variables", {})}
    return str(variables.get("POWERTOOLS_METRICS_NAMESPACE") or "IotBilling")


def _id(text: str) -> str:
    return "".join(part.capitalize() for part in text.replace("-", "_").split("_"))


def _alarm(stage: StageConfig, short: str, description: str, **properties: Any
           ) -> dict[str, Any]:
    """An alarm named <prefix>-<short>; docs/runbook.md has a row for <short>."""
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmName": f"{stage.prefix}-{short}",
        "AlarmDescription": f"{description} See docs/runbook.md, Alarms: {short}.",
        "AlarmActions": [{"Ref": "AlarmTopic"}],
        "OKActions": [{"Ref": "AlarmTopic"}],
        "TreatMissingData": "notBreaching",
        **properties}}


def _metric(id_: str, namespace: str, name: str, dimensions: dict[str, str],
            stat: str = "Sum", period: int = PERIOD) -> dict[str, Any]:
    return {"Id": id_, "ReturnData": False, "MetricStat": {
        "Metric": {"Namespace": namespace, "MetricName": name,
                   "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()]},
        "Period": period, "Stat": stat}}


def function_alarms(stage: StageConfig) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for function in FUNCTIONS:
        name = stage.function_name(function)
        for metric, what in (("Errors", "ended with an error (an exception or a timeout)"),
                             ("Throttles", "were throttled (no concurrency left)")):
            found[f"{_id(function)}{metric}Alarm"] = _alarm(
                stage, f"{function}-{metric.lower()}",
                f"Invocations of {name} {what} in the last 5 minutes.",
                Namespace="AWS/Lambda", MetricName=metric,
                Dimensions=[{"Name": "FunctionName", "Value": name}],
                Statistic="Sum", Period=PERIOD, EvaluationPeriods=1, Threshold=0,
                ComparisonOperator="GreaterThanThreshold")
    return found


def api_alarms(stage: StageConfig) -> dict[str, Any]:
    api = {"ApiName": stage.name_of("api"), "Stage": API_STAGE}
    return {
        "Api5xxRateAlarm": _alarm(
            stage, "api-5xx-rate",
            f"More than {API_5XX_PERCENT}% of API requests answered 5xx for 10 minutes "
            f"(counted once there are {API_MIN_REQUESTS} requests in 5 minutes).",
            EvaluationPeriods=2, DatapointsToAlarm=2, Threshold=API_5XX_PERCENT,
            ComparisonOperator="GreaterThanThreshold",
            Metrics=[
                _metric("requests", "AWS/ApiGateway", "Count", api),
                _metric("errors", "AWS/ApiGateway", "5XXError", api),
                {"Id": "rate", "ReturnData": True, "Label": "5xx %",
                 "Expression": f"IF(requests >= {API_MIN_REQUESTS}, "
                               "100 * errors / requests, 0)"}]),
        "ApiLatencyP99Alarm": _alarm(
            stage, "api-latency-p99",
            f"The API's p99 latency stayed above {API_P99_MS} ms for 10 of 15 minutes.",
            Namespace="AWS/ApiGateway", MetricName="Latency",
            Dimensions=[{"Name": k, "Value": v} for k, v in api.items()],
            ExtendedStatistic="p99", Period=PERIOD, EvaluationPeriods=3,
            DatapointsToAlarm=2, Threshold=API_P99_MS,
            ComparisonOperator="GreaterThanThreshold"),
    }


def queue_alarms(stage: StageConfig) -> dict[str, Any]:
    settings = stage.settings()
    found: dict[str, Any] = {}
    for definition in QUEUES:
        limit = QUEUE_AGE_LIMIT.get(definition.logical, 900)
        name = definition.physical(settings)
        found[f"{_id(definition.logical)}QueueAgeAlarm"] = _alarm(
            stage, f"{definition.logical}-queue-age",
            f"The oldest message in {name} is older than {limit // 60} minutes: its "
            "consumer is falling behind or failing.",
            Namespace="AWS/SQS", MetricName="ApproximateAgeOfOldestMessage",
            Dimensions=[{"Name": "QueueName", "Value": name}],
            Statistic="Maximum", Period=PERIOD, EvaluationPeriods=1, Threshold=limit,
            ComparisonOperator="GreaterThanThreshold")
    return found


def business_alarms(stage: StageConfig) -> dict[str, Any]:
    namespace = metrics_namespace(stage)
    service = [{"Name": "service", "Value": SERVICE}]
    return {
        "RunOpenPastWindowAlarm": _alarm(
            stage, "run-open-past-window",
            "A billing run is still not closed 30 minutes after its answer window ended "
            "(reported by the window sweep every 5 minutes).",
            Namespace=namespace, MetricName="RunsOpenPastWindow", Dimensions=service,
            Statistic="Maximum", Period=PERIOD, EvaluationPeriods=1, Threshold=0,
            ComparisonOperator="GreaterThanThreshold"),
        "ReadingsRejectedJumpAlarm": _alarm(
            stage, "readings-rejected-jump",
            f"More than {REJECTED_PERCENT}% of readings were rejected (at the endpoint or "
            f"by billing) in 15 minutes, counted once {READINGS_MIN} readings came.",
            EvaluationPeriods=1, Threshold=REJECTED_PERCENT,
            ComparisonOperator="GreaterThanThreshold",
            Metrics=[
                _metric("accepted", namespace, "ReadingsAccepted", {"service": SERVICE},
                        period=3 * PERIOD),
                _metric("rejected", namespace, "ReadingsRejected", {"service": SERVICE},
                        period=3 * PERIOD),
                {"Id": "share", "ReturnData": True, "Label": "rejected %",
                 "Expression": f"IF(accepted + rejected >= {READINGS_MIN}, "
                               "100 * rejected / (accepted + rejected), 0)"}]),
        "WebhookSignaturesRefusedAlarm": _alarm(
            stage, "webhook-signatures-refused",
            f"More than {WEBHOOK_REFUSALS} payment webhooks had a wrong or missing signature "
            "in 5 minutes: payments are not being recorded.",
            Namespace=namespace, MetricName="WebhookSignaturesRefused", Dimensions=service,
            Statistic="Sum", Period=PERIOD, EvaluationPeriods=1, Threshold=WEBHOOK_REFUSALS,
            ComparisonOperator="GreaterThanThreshold"),
        # SES's own reputation metrics (the account's, over its recent sending): SES puts
        # an account under review at a 5% bounce or 0.1% complaint rate and may pause
        # its sending at 10% / 0.5%. These fire before review (docs/runbook.md).
        "SesBounceRateAlarm": _alarm(
            stage, "ses-bounce-rate",
            f"SES's bounce rate for the account is above {SES_BOUNCE_RATE:.0%} (SES reviews "
            "the account at 5% and may pause its sending at 10%).",
            Namespace="AWS/SES", MetricName="Reputation.BounceRate", Statistic="Maximum",
            Period=3600, EvaluationPeriods=1, Threshold=SES_BOUNCE_RATE,
            ComparisonOperator="GreaterThanThreshold"),
        "SesComplaintRateAlarm": _alarm(
            stage, "ses-complaint-rate",
            f"SES's complaint rate for the account is above {SES_COMPLAINT_RATE:.2%} (SES "
            "reviews the account at 0.1% and may pause its sending at 0.5%).",
            Namespace="AWS/SES", MetricName="Reputation.ComplaintRate", Statistic="Maximum",
            Period=3600, EvaluationPeriods=1, Threshold=SES_COMPLAINT_RATE,
            ComparisonOperator="GreaterThanThreshold"),
    }


SES_BOUNCE_RATE = 0.04
SES_COMPLAINT_RATE = 0.0008


def alarms(stage: StageConfig) -> dict[str, Any]:
    return {**function_alarms(stage), **api_alarms(stage), **queue_alarms(stage),
            **business_alarms(stage)}


# ---------------------------------------------------------------- dashboard


def _widget(title: str, metrics: list[list[Any]], *, stat: str = "Sum", y: int,
            x: int = 0, width: int = 12, view: str = "timeSeries") -> dict[str, Any]:
    return {"type": "metric", "x": x, "y": y, "width": width, "height": 6, "properties": {
        "title": title, "view": view, "stacked": False, "region": "${AWS::Region}",
        "stat": stat, "period": PERIOD, "metrics": metrics}}


def dashboard_body(stage: StageConfig, alarm_names: list[str]) -> str:
    namespace = metrics_namespace(stage)
    api = ["ApiName", stage.name_of("api"), "Stage", API_STAGE]

    def business(*names: str, **dimensions: str) -> list[list[Any]]:
        extra = [part for item in dimensions.items() for part in item]
        return [[namespace, name, "service", SERVICE, *extra] for name in names]

    functions = [stage.function_name(f) for f in FUNCTIONS]
    widgets = [
        {"type": "alarm", "x": 0, "y": 0, "width": 24, "height": 4, "properties": {
            "title": "Alarms (docs/runbook.md says what each means and what to do)",
            "alarms": [f"arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:"
                       f"${{AWS::AccountId}}:alarm:{name}" for name in alarm_names]}},
        _widget("Readings", business("ReadingsAccepted", "ReadingsRejected"), y=4),
        _widget("Bills", business("BillsIssued", "BillsEstimated", "BillsHeld"), y=4, x=12),
        _widget("Meter requests", business("MeterRequestsSent", "MeterDeliveryFailures"),
                y=10),
        _widget("Payments", business("PaymentsCaptured", "PaymentsFailed",
                                     "WebhookSignaturesRefused"), y=10, x=12),
        _widget("Run duration (s) and runs open past their window",
                business("RunDuration", "RunsOpenPastWindow"), stat="Maximum", y=16),
        _widget("API requests and errors", [["AWS/ApiGateway", m, *api]
                                            for m in ("Count", "4XXError", "5XXError")],
                y=16, x=12),
        _widget("API latency p99 (ms)", [["AWS/ApiGateway", "Latency", *api]], stat="p99",
                y=22),
        _widget("Queues: age of the oldest message (s)",
                [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName",
                  q.physical(stage.settings())] for q in QUEUES], stat="Maximum", y=22, x=12),
        _widget("Lambda errors", [["AWS/Lambda", "Errors", "FunctionName", f]
                                  for f in functions], y=28),
        _widget("Lambda throttles", [["AWS/Lambda", "Throttles", "FunctionName", f]
                                     for f in functions], y=28, x=12),
    ]
    return json.dumps({"widgets": widgets}, separators=(",", ":"))


def dashboard(stage: StageConfig, alarm_names: list[str]) -> dict[str, Any]:
    return {"OperationsDashboard": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {
        "DashboardName": stage.name_of("operations"),
        "DashboardBody": {"Fn::Sub": dashboard_body(stage, alarm_names)}}}}


def observability_resources(stage: StageConfig) -> dict[str, Any]:
    found = alarms(stage)
    names = [r["Properties"]["AlarmName"] for r in found.values()]
    return {**found, **dashboard(stage, names)}
