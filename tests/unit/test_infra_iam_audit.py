"""The IAM policies against the calls the code really makes.

Each function runs here on the emulator, as Lambda would run it (the handler
called with a Lambda event), while every AWS call its process makes is
recorded on the way out (nothing is replaced: the calls reach the emulator).
Each recorded call is then checked against that function's policy from
infra/iam.py, as IAM would: the action, on the resource's ARN. A function
that starts touching a table or secret its policy does not name fails here,
not in AWS with an AccessDenied."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.client import BaseClient

from devstack.event_runner import LambdaContextStub, lambda_sqs_event
from functions.core.messages import FanoutBatch
from functions.core.settings import get_settings
from infra.iam import policy_document
from infra.stages import SECRETS, STAGE_SETTINGS, StageConfig
from tests.unit.test_infra_iam import ACCOUNT, PARAMETERS, REGION, resolve

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    params: dict[str, Any]


@contextmanager
def recorded_calls() -> Iterator[list[Call]]:
    """Every AWS API call made while inside, except the local SQS event runner's
    polling (threads "sqs-*"), which stands in for Lambda's own pollers."""
    calls: list[Call] = []
    botocore_client: Any = BaseClient  # every boto3 and pynamodb call goes through it
    original = botocore_client._make_api_call

    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if not threading.current_thread().name.startswith("sqs-"):
            calls.append(Call(client.meta.service_model.service_name, operation, params))
        return original(client, operation, params)

    botocore_client._make_api_call = recording
    try:
        yield calls
    finally:
        botocore_client._make_api_call = original


def stage() -> StageConfig:
    return StageConfig(name="dev", prefix=get_settings().resource_prefix, **STAGE_SETTINGS["dev"])


def arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


DYNAMO_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                   "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
SQS_BATCH = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
             "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}


def authorisations(call: Call) -> list[tuple[str, str]]:
    """The (action, resource ARN) pairs IAM checks for one API call."""
    p = call.params
    if call.service == "dynamodb":
        if call.operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{call.operation}", arn("dynamodb", f"table/{t}"))
                    for t in p["RequestItems"]]
        if call.operation in ("TransactWriteItems", "TransactGetItems"):
            return [(f"dynamodb:{DYNAMO_TRANSACT[kind]}",
                     arn("dynamodb", f"table/{body['TableName']}"))
                    for item in p["TransactItems"] for kind, body in item.items()]
        if call.operation == "ExecuteStatement":  # PartiQL: the table is named in the text
            verb = p["Statement"].split(None, 1)[0].capitalize()
            table = p["Statement"].split('"')[1]
            return [(f"dynamodb:PartiQL{verb}", arn("dynamodb", f"table/{table}"))]
        resource = f"table/{p['TableName']}" + (f"/index/{p['IndexName']}"
                                                if p.get("IndexName") else "")
        return [(f"dynamodb:{call.operation}", arn("dynamodb", resource))]
    if call.service == "sqs":
        name = p["QueueName"] if "QueueName" in p else p["QueueUrl"].rsplit("/", 1)[1]
        return [(f"sqs:{SQS_BATCH.get(call.operation, call.operation)}", arn("sqs", name))]
    if call.service == "secretsmanager":
        by_name = {stage().secret_name(s.logical): PARAMETERS[
            "".join(w.capitalize() for w in s.logical.split("_")) + "SecretArn"] for s in SECRETS}
        return [(f"secretsmanager:{call.operation}", by_name.get(p["SecretId"], p["SecretId"]))]
    if call.service == "ses":
        found = [(f"ses:{call.operation}", arn("ses", f"identity/{p['Source'].split('@')[1]}"))]
        if p.get("ConfigurationSetName"):  # SES also checks the configuration set named
            found.append((f"ses:{call.operation}",
                          arn("ses", f"configuration-set/{p['ConfigurationSetName']}")))
        return found
    if call.service == "sns" and "PhoneNumber" in p:
        return [(f"sns:{call.operation}", "*")]
    return [(f"{call.service}:{call.operation}", "unknown")]


def denied(function: str, calls: list[Call]) -> list[tuple[str, str]]:
    statements = resolve(policy_document(function, stage()))["Statement"]
    refused = []
    for call in calls:
        for action, resource in authorisations(call):
            if not any(action in s["Action"] and (s["Resource"] == "*" or resource in s["Resource"])
                       for s in statements):
                refused.append((action, resource))
    return sorted(set(refused))


def sqs_event(body: str, queue_name: str) -> dict[str, Any]:
    message = {"MessageId": f"m-{time.time_ns()}", "ReceiptHandle": "r", "Body": body}
    return lambda_sqs_event([message], arn("sqs", queue_name))


def test_session_authorizer_stays_within_its_policy(stack: Any, customer: Any) -> None:
    from app import app

    token = customer[1].token
    with recorded_calls() as calls:
        app.handler_map["session_authorizer"](
            {"type": "TOKEN", "authorizationToken": f"Bearer {token}",
             "methodArn": arn("execute-api", "abc/api/GET/me")},
            LambdaContextStub("session_authorizer"))
    assert [c.operation for c in calls] == ["GetItem"]
    assert denied("session_authorizer", calls) == []


def test_iot_fanout_stays_within_its_policy(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from app import app
    from functions.core.runs.models import BillingRunRecord
    from tests.integration.billing_support import a_customer, a_meter, a_property

    monkeypatch.setenv("FANOUT_ATTEMPTS", "1")  # the meter is unreachable: fail fast
    meter = a_meter(a_property(a_customer()))
    batch = FanoutBatch(run_id="1999-01", period="1999-01", meter_ids=[meter.meter_id])
    try:
        with recorded_calls() as calls:
            result = app.handler_map["iot_fanout"](
                sqs_event(batch.model_dump_json(), stage().name_of("fanout")),
                LambdaContextStub("iot_fanout"))
    finally:  # the progress counters made a run record; other tests list runs
        BillingRunRecord(run_id=batch.run_id).delete()
    assert result == {"batchItemFailures": []}
    assert {c.service for c in calls} >= {"dynamodb"}
    assert denied("iot_fanout", calls) == []


def test_billing_stays_within_its_policy(stack: Any, admin: Any) -> None:
    from app import app
    from tests.integration.billing_support import (
        a_customer,
        a_meter,
        a_property,
        ensure_reference_tariffs,
        stored_reading,
    )

    ensure_reference_tariffs(admin[1])
    meter = a_meter(a_property(a_customer()), initial_register_wh=1_000_000)
    reading = stored_reading(meter, "2024-01", 1_250_000, datetime(2024, 2, 1, 2, tzinfo=UTC))
    with recorded_calls() as calls:
        result = app.handler_map["billing"](
            sqs_event(reading.model_dump_json(), stage().name_of("readings")),
            LambdaContextStub("billing"))
    assert result == {"batchItemFailures": []}
    operations = {(c.service, c.operation) for c in calls}
    # A bill was issued with its email in the same transaction, and the email's key
    # queued for notification_sender (billing itself no longer talks to SES).
    assert ("dynamodb", "TransactWriteItems") in operations
    assert ("sqs", "SendMessageBatch") in operations
    assert ("ses", "SendEmail") not in operations
    assert denied("billing", calls) == []


def test_api_handler_stays_within_its_policy(stack: Any, admin: Any) -> None:
    from tests.fixtures.stack import unique_email, unique_mobile

    with recorded_calls() as calls:
        assert stack.api.get("/health").status_code == 200
        assert admin[1].get("/admin/server-keys").status_code == 200
        signup = stack.api.post("/auth/signup", json={
            "name": "Audit Person", "email": unique_email(), "mobile": unique_mobile()})
        assert signup.status_code < 300, signup.text
    services = {c.service for c in calls}
    assert {"dynamodb", "sqs", "ses"} <= services, services  # the secret may come from cache
    assert denied("api_handler", calls) == []


def test_the_audit_notices_a_call_outside_the_policy() -> None:
    outside = Call("dynamodb", "PutItem", {"TableName": stage().name_of("bills")})
    assert denied("session_authorizer", [outside]) == [
        ("dynamodb:PutItem", arn("dynamodb", f"table/{stage().name_of('bills')}"))]
    assert json.dumps(denied("api_handler", [outside])) == "[]"


def test_the_notification_functions_stay_within_their_policies(stack: Any) -> None:
    from app import app
    from functions.core.clock import utcnow
    from functions.core.messages import NotificationBatch
    from functions.core.notifications.outbox import Outbox, email_record
    from functions.core.notifications.templates import render_email
    from tests.fixtures.stack import unique_email
    from tests.integration.notifications_support import publish_ses_event

    to = unique_email("audit")
    record = email_record(f"account_verified#audit-{to}", render_email(
        "account_verified", name="Audit", portal="http://127.0.0.1:8080"), to,
        topic="account", now=utcnow())
    assert Outbox().create(record)
    body = NotificationBatch(keys=[record.message_key]).model_dump_json()
    with recorded_calls() as calls:
        result = app.handler_map["notification_sender"](
            sqs_event(body, stage().name_of("notifications")),
            LambdaContextStub("notification_sender"))
    assert result == {"batchItemFailures": []}
    assert ("ses", "SendEmail") in {(c.service, c.operation) for c in calls}
    assert denied("notification_sender", calls) == []

    sent = Outbox().get(record.message_key)
    assert sent is not None and sent.status == "sent"
    captured: list[str] = []
    with _published_to(captured):
        publish_ses_event(sent, "Bounce")
    with recorded_calls() as calls:
        result = app.handler_map["notification_events"](
            sqs_event(captured[0], stage().name_of("notification_events")),
            LambdaContextStub("notification_events"))
    assert result == {"batchItemFailures": []}
    assert ("dynamodb", "PutItem") in {(c.service, c.operation) for c in calls}  # suppressed
    assert denied("notification_events", calls) == []

    with recorded_calls() as calls:
        app.handler_map["notification_sweep"](
            {"version": "0", "id": "audit", "detail-type": "Scheduled Event",
             "source": "aws.events", "account": ACCOUNT, "time": "2026-12-07T00:00:00Z",
             "region": REGION, "resources": [], "detail": {}},
            LambdaContextStub("notification_sweep"))
    assert denied("notification_sweep", calls) == []


@contextmanager
def _published_to(captured: list[str]) -> Iterator[None]:
    """Keep the event's JSON as SNS would deliver it (an envelope), without publishing."""
    from functions.core.aws import client

    sns = client("sns")
    original = sns.publish

    def publish(**params: Any) -> dict[str, str]:
        captured.append(json.dumps({"Type": "Notification", "Message": params["Message"]}))
        return {"MessageId": "audit"}

    sns.publish = publish
    try:
        yield
    finally:
        sns.publish = original
