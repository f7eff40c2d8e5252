"""One source of truth: the CloudFormation resources stack and the local setup
(devstack/provision.py) are made from the same definitions, and the templates
name every table, queue, secret and function the code uses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.provision import table_request
from functions.core.resources import QUEUES, TABLES
from functions.core.settings import get_settings
from infra.iam import FUNCTION_ACCESS
from infra.resources_template import render
from infra.stages import FUNCTIONS, STAGE_SETTINGS, StageConfig, stage_config


def local_stage() -> StageConfig:
    """A stage whose names are those the test environment's code computes."""
    return StageConfig(name="dev", prefix=get_settings().resource_prefix, **STAGE_SETTINGS["dev"])


def resources_of(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


def tables_by_name(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["TableName"]: t for t in resources_of(template, "AWS::DynamoDB::Table")}


def queues_by_name(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["QueueName"]: q for q in resources_of(template, "AWS::SQS::Queue")}


def gsis(indexes: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {i["IndexName"]: (i["KeySchema"], i["Projection"]["ProjectionType"])
            for i in indexes or []}


def attributes(definitions: list[dict[str, str]]) -> set[tuple[str, str]]:
    return {(d["AttributeName"], d["AttributeType"]) for d in definitions}


@pytest.mark.parametrize("stage_name", ["dev", "prod"])
def test_every_table_matches_what_the_local_setup_creates(stage_name: str) -> None:
    stage = stage_config(stage_name)
    template = tables_by_name(render(stage))
    assert set(template) == {stage.name_of(t.logical) for t in TABLES}
    for definition in TABLES:
        physical = stage.name_of(definition.logical)
        local, cloud = table_request(definition, physical), template[physical]
        assert cloud["KeySchema"] == local["KeySchema"], physical
        assert attributes(cloud["AttributeDefinitions"]) == attributes(
            local["AttributeDefinitions"]), physical
        assert gsis(cloud.get("GlobalSecondaryIndexes")) == gsis(
            local.get("GlobalSecondaryIndexes")), physical
        assert cloud["BillingMode"] == local["BillingMode"] == "PAY_PER_REQUEST"
        ttl = cloud.get("TimeToLiveSpecification")
        # provision.ensure_table turns TTL on for exactly definition.ttl_attribute.
        assert (ttl["AttributeName"] if ttl else None) == definition.ttl_attribute, physical


@pytest.mark.parametrize("stage_name", ["dev", "prod"])
def test_every_queue_has_its_dead_letter_queue_as_defined(stage_name: str) -> None:
    stage = stage_config(stage_name)
    template = render(stage)
    queues = queues_by_name(template)
    settings = stage.settings()
    expected = {q.physical(settings) for q in QUEUES} | {q.dlq_physical(settings) for q in QUEUES}
    assert set(queues) == expected
    resource_ids = {r["Properties"].get("QueueName"): rid
                    for rid, r in template["Resources"].items()}
    for definition in QUEUES:
        main, dlq = queues[definition.physical(settings)], queues[definition.dlq_physical(settings)]
        assert main["VisibilityTimeout"] == definition.visibility_timeout
        assert main["MessageRetentionPeriod"] == definition.retention_seconds
        assert dlq["MessageRetentionPeriod"] == definition.dlq_retention_seconds
        assert main["RedrivePolicy"]["maxReceiveCount"] == definition.max_receive_count
        target = main["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert target == resource_ids[definition.dlq_physical(settings)]


@pytest.mark.integration
def test_the_emulator_holds_exactly_what_the_template_describes(emulator: str) -> None:
    """What devstack/provision.py really created (the emulator, over HTTP) against the
    template rendered with the same prefix."""
    from functions.core.aws import client

    stage = local_stage()
    template = render(stage)
    tables, queues = tables_by_name(template), queues_by_name(template)
    dynamodb, sqs = client("dynamodb"), client("sqs")
    for definition in TABLES:
        name = stage.name_of(definition.logical)
        described = dynamodb.describe_table(TableName=name)["Table"]
        assert described["KeySchema"] == tables[name]["KeySchema"]
        assert gsis(described.get("GlobalSecondaryIndexes")) == gsis(
            tables[name].get("GlobalSecondaryIndexes"))
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        cloud_ttl = tables[name].get("TimeToLiveSpecification")
        assert ttl.get("AttributeName") == (cloud_ttl["AttributeName"] if cloud_ttl else None)
    for queue_definition in QUEUES:
        name = stage.name_of(queue_definition.logical)
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        local = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert int(local["VisibilityTimeout"]) == queues[name]["VisibilityTimeout"]
        assert int(local["MessageRetentionPeriod"]) == queues[name]["MessageRetentionPeriod"]
        redrive = json.loads(local["RedrivePolicy"])
        assert int(redrive["maxReceiveCount"]) == queues[name]["RedrivePolicy"]["maxReceiveCount"]
        assert redrive["deadLetterTargetArn"].endswith(":" + queue_definition.dlq_physical())
        dlq_url = sqs.get_queue_url(QueueName=queue_definition.dlq_physical())["QueueUrl"]
        dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
        assert int(dlq["MessageRetentionPeriod"]) == \
            queues[queue_definition.dlq_physical()]["MessageRetentionPeriod"]


def app_functions() -> dict[str, Any]:
    """The Lambda functions the Chalice app defines, as chalice package makes them."""
    from app import app

    found: dict[str, Any] = {"api_handler": app} if app.routes else {}
    found |= {auth.name: auth for auth in app.builtin_auth_handlers}
    found |= {source.name: source for source in app.event_sources}
    found |= {function.name: function for function in app.pure_lambda_functions}
    return found


def test_every_function_of_the_app_has_a_policy_and_nothing_else_does() -> None:
    assert set(app_functions()) == set(FUNCTIONS) == set(FUNCTION_ACCESS)


def test_every_queue_a_handler_listens_on_is_in_the_template() -> None:
    stage = local_stage()
    template_queues = set(queues_by_name(render(stage)))
    for name, source in app_functions().items():
        queue_name = getattr(source, "queue", None)
        if queue_name is None:
            continue
        assert queue_name in template_queues, f"{name} listens on {queue_name}"
        logical = queue_name.removeprefix(stage.prefix + "-")
        assert logical in FUNCTION_ACCESS[name].consumes, (name, logical)


def test_every_model_table_is_in_the_template() -> None:
    import app  # noqa: F401 - registers every pynamodb model
    from functions.core import db

    stage = local_stage()
    template_tables = set(tables_by_name(render(stage)))
    model_tables = {model.Meta.table_name for model in db._MODELS}
    assert model_tables and model_tables <= template_tables, model_tables - template_tables


def test_every_secret_the_code_reads_is_in_the_template() -> None:
    from functions.core.payments.secrets import webhook_secret_name

    stage = local_stage()
    secrets = {s["Name"] for s in resources_of(render(stage), "AWS::SecretsManager::Secret")}
    assert get_settings().server_key_secret in secrets
    assert webhook_secret_name() in secrets
