"""Least privilege: each function reaches only what it uses, every resource is
named, and '*' appears only where AWS requires it (SNS SMS)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from functions.core.resources import QUEUES, TABLES
from infra.iam import FUNCTION_ACCESS, LOOKUP, SMS_STATEMENT, policy_document, split_policy
from infra.stages import FUNCTIONS, SECRETS, stage_config

STAGES = [stage_config("dev"), stage_config("prod")]
ACCOUNT, REGION = "123456789012", "ap-south-1"
PARAMETERS = {"ServerKeySecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:x-AbCdEf",
              "PaymentGatewaySecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:y-Ab",
              "DataKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0000-1111",
              "MailFrom": "billing@discom.example.in"}


def resolve(node: Any) -> Any:
    """The policy as IAM sees it after CloudFormation resolved its intrinsics."""
    if isinstance(node, list):
        return [resolve(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "Ref" in node:
        return PARAMETERS[node["Ref"]]
    if "Fn::Sub" in node:
        text, variables = (node["Fn::Sub"], {}) if isinstance(node["Fn::Sub"], str) \
            else (node["Fn::Sub"][0], {k: resolve(v) for k, v in node["Fn::Sub"][1].items()})
        values = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
                  **variables}
        return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], text)
    if "Fn::Select" in node:
        index, items = node["Fn::Select"]
        return resolve(items)[index]
    if "Fn::Split" in node:
        separator, text = node["Fn::Split"]
        return resolve(text).split(separator)
    return {key: resolve(value) for key, value in node.items()}


def statements(function: str, stage_index: int = 0) -> list[dict[str, Any]]:
    return list(resolve(policy_document(function, STAGES[stage_index]))["Statement"])


def as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_wildcard_action_or_resource_except_sms(function: str) -> None:
    for statement in statements(function):
        actions, resources = as_list(statement["Action"]), as_list(statement["Resource"])
        assert statement["Effect"] == "Allow"
        assert not any(a == "*" or a.endswith(":*") for a in actions), statement
        if statement.get("Sid") == SMS_STATEMENT["Sid"]:
            assert actions == ["sns:Publish"] and resources == ["*"]
            continue
        for resource in resources:
            assert resource != "*", statement
            assert resource.startswith("arn:aws:"), resource
            if "*" in resource:  # only log streams, whose names Lambda makes at run time,
                # and the bill PDFs' objects (one per bill, named when it is made)
                assert re.fullmatch(r"arn:aws:logs:[^:]+:\d+:log-group:/aws/lambda/"
                                    r"[\w-]+:\*", resource) or re.fullmatch(
                    r"arn:aws:s3:::[\w-]+-bill-documents-\d+/bills/\*", resource), resource


@pytest.mark.parametrize("function", FUNCTIONS)
def test_tables_and_queues_are_named_for_the_stage_only(function: str) -> None:
    for index, stage in enumerate(STAGES):
        other = STAGES[1 - index]
        text = json.dumps(statements(function, index))
        assert f"table/{other.prefix}-" not in text and f":{other.prefix}-" not in text
        tables = re.findall(r":table/([^/\"]+)", text)
        assert set(tables) <= {stage.name_of(t.logical) for t in TABLES}


def test_the_authorizer_can_only_look_a_session_up() -> None:
    found = statements("session_authorizer")
    data = [s for s in found if any(a.startswith("dynamodb:") for a in s["Action"])]
    assert len(data) == 1
    assert tuple(data[0]["Action"]) == LOOKUP
    assert {r.split(":table/")[1].split("/")[0] for r in data[0]["Resource"]} == {
        STAGES[0].name_of("sessions")}
    assert not any(a.startswith(("sqs:", "secretsmanager:", "ses:", "sns:", "kms:"))
                   for s in found for a in s["Action"])


def test_sqs_functions_consume_only_their_queue_and_send_nowhere() -> None:
    stage = STAGES[0]
    for function, queue in (("iot_fanout", "fanout"), ("notification_sender", "notifications"),
                            ("notification_events", "notification_events")):
        sqs = [s for s in statements(function) if any(a.startswith("sqs:") for a in s["Action"])]
        assert [r.rsplit(":", 1)[1] for s in sqs for r in s["Resource"]] == [
            stage.name_of(queue)]
        assert not any("sqs:SendMessage" in s["Action"] for s in sqs)


def test_billing_consumes_readings_and_sends_only_to_the_notifications_queue() -> None:
    stage = STAGES[0]
    sqs = [s for s in statements("billing") if any(a.startswith("sqs:") for a in s["Action"])]
    sends = [r.rsplit(":", 1)[1] for s in sqs if "sqs:SendMessage" in s["Action"]
             for r in s["Resource"]]
    consumes = [r.rsplit(":", 1)[1] for s in sqs if "sqs:ReceiveMessage" in s["Action"]
                for r in s["Resource"]]
    assert sends == [stage.name_of("notifications")]
    assert consumes == [stage.name_of("readings")]
    assert not any("ses:SendEmail" in s["Action"] for s in statements("billing"))


def test_only_the_functions_that_mail_can_mail_and_only_from_the_sender() -> None:
    for function in FUNCTIONS:
        mail = [s for s in statements(function) if "ses:SendEmail" in s["Action"]]
        assert bool(mail) == FUNCTION_ACCESS[function].email
        for statement in mail:
            assert statement["Condition"]["StringEquals"]["ses:FromAddress"] == \
                PARAMETERS["MailFrom"]
            assert sorted(r.rsplit("/", 1)[1] for r in statement["Resource"]) == [
                "billing@discom.example.in", "discom.example.in", STAGES[0].name_of("mail")]


def test_secrets_are_decrypted_only_through_secrets_manager() -> None:
    for function in FUNCTIONS:
        for statement in statements(function):
            if "kms:Decrypt" in statement["Action"]:
                assert statement["Condition"]["StringEquals"]["kms:ViaService"] == \
                    f"secretsmanager.{REGION}.amazonaws.com"
                assert statement["Resource"] == [PARAMETERS["DataKeyArn"]]


def test_the_iot_fanout_reads_the_server_key_but_not_the_payment_secret() -> None:
    resources = {r for s in statements("iot_fanout") if "secretsmanager:GetSecretValue"
                 in s["Action"] for r in s["Resource"]}
    assert resources == {PARAMETERS["ServerKeySecretArn"]}


def test_every_name_in_the_access_table_exists() -> None:
    tables, queues = {t.logical for t in TABLES}, {q.logical for q in QUEUES}
    secrets = {s.logical for s in SECRETS}
    for function, access in FUNCTION_ACCESS.items():
        assert set(access.tables) <= tables, function
        assert set(access.send_to) | set(access.consumes) <= queues, function
        assert set(access.secrets) <= secrets, function


def test_policies_fit_iams_size_limits() -> None:
    """IAM allows 10,240 characters (whitespace excluded) of inline policy per role and
    6,144 per customer-managed policy; the table statements go to managed ones."""
    for stage in STAGES:
        for function in FUNCTIONS:
            full = policy_document(function, stage)
            inline, managed = split_policy(full)
            size = len(json.dumps(resolve(inline)["Statement"], separators=(",", ":")))
            assert size < 10_240 * 0.85, (function, size)
            for document in managed:
                size = len(json.dumps(resolve(document), separators=(",", ":")))
                assert size < 6_144 * 0.9, (function, size)
            # Split, not changed: the same statements and ARNs, each once.
            parts = [*inline["Statement"], *(s for d in managed for s in d["Statement"])]
            assert sorted(json.dumps(r, sort_keys=True) for s in parts
                          for r in as_list_of(s["Resource"])) == sorted(
                json.dumps(r, sort_keys=True) for s in full["Statement"]
                for r in as_list_of(s["Resource"]))
            assert len(managed) <= 3  # a role takes 10 managed policies; X-Ray has one


def as_list_of(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
