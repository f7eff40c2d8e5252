"""The resources stack: cfn-lint clean, and what the issue asks of each kind
of resource (on-demand tables with PITR and KMS, DLQ alarms, private site
bucket, secrets without values). And the post-processing of Chalice's
template refuses what would break in AWS."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from functions.core.resources import QUEUES, TABLES, queue
from infra.app_template import TemplateError, finish
from infra.lint import lint
from infra.resources_template import render
from infra.stages import SECRETS, stage_config

DEV, PROD = stage_config("dev"), stage_config("prod")


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {rid: r for rid, r in template["Resources"].items() if r["Type"] == kind}


def test_resources_templates_pass_cfn_lint(tmp_path: Path) -> None:
    paths = []
    for stage in (DEV, PROD):
        path = tmp_path / f"resources-{stage.name}.json"
        path.write_text(json.dumps(render(stage)))
        paths.append(path)
    assert lint(paths) == ""


def test_cfn_lint_catches_a_broken_template(tmp_path: Path) -> None:
    template = render(DEV)
    template["Resources"]["UsersTable"]["Properties"]["BillingMode"] = "ON_DEMAND"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(template))
    assert "ON_DEMAND" in lint([path])


@pytest.mark.parametrize("stage", [DEV, PROD], ids=["dev", "prod"])
def test_tables_are_on_demand_recoverable_and_encrypted_with_our_key(stage: Any) -> None:
    tables = of_type(render(stage), "AWS::DynamoDB::Table")
    assert len(tables) == len(TABLES)
    for resource in tables.values():
        properties = resource["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True}
        assert properties["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS",
                                                  "KMSMasterKeyId": {"Ref": "DataKey"}}
        assert properties["TableName"].startswith(stage.prefix + "-")
        assert properties["DeletionProtectionEnabled"] is stage.retain_data
        assert resource["DeletionPolicy"] == ("Retain" if stage.retain_data else "Delete")


def test_every_dead_letter_queue_raises_an_alarm_on_its_first_message() -> None:
    template = render(DEV)
    alarms = [a["Properties"] for a in of_type(template, "AWS::CloudWatch::Alarm").values()
              if a["Properties"]["AlarmName"].endswith("-dlq-not-empty")]  # others: issue 22
    watched = {}
    for alarm in alarms:
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["Namespace"] == "AWS/SQS"
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["Threshold"] == 0
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        watched[alarm["Dimensions"][0]["Value"]] = alarm
    settings = DEV.settings()
    assert set(watched) == {q.dlq_physical(settings) for q in QUEUES}


def test_the_site_bucket_is_private_and_only_our_distribution_reads_it() -> None:
    template = render(DEV)
    bucket = template["Resources"]["SiteBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == "BucketOwnerEnforced"
    policy = template["Resources"]["SiteBucketPolicy"]["Properties"]["PolicyDocument"]
    statements = [s["Fn::If"][1] if "Fn::If" in s else s for s in policy["Statement"]]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allows) == 1
    assert allows[0]["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allows[0]["Action"] == "s3:GetObject"
    assert "distribution/${SiteDistribution}" in json.dumps(allows[0]["Condition"])
    denies = [s for s in statements if s["Effect"] == "Deny"]
    assert denies[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    origin = template["Resources"]["SiteDistribution"]["Properties"]["DistributionConfig"][
        "Origins"][0]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}


def test_secrets_are_created_empty_and_encrypted_with_our_key() -> None:
    secrets = of_type(render(DEV), "AWS::SecretsManager::Secret")
    assert {s["Properties"]["Name"] for s in secrets.values()} == {
        DEV.secret_name(s.logical) for s in SECRETS}
    for secret in secrets.values():
        assert "SecretString" not in secret["Properties"]
        assert "GenerateSecretString" not in secret["Properties"]
        assert secret["Properties"]["KmsKeyId"] == {"Ref": "DataKey"}


# --- post-processing of chalice package's template ---------------------------------------

def chalice_like(queue_name: str, timeout: int = 20) -> dict[str, Any]:
    """The shape `chalice package --pkg-format cloudformation` writes (trimmed)."""
    def role() -> dict[str, Any]:
        return {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {},
            "Policies": [{"PolicyName": "p", "PolicyDocument": {}}]}}

    def function(handler: str, role_id: str, **extra: Any) -> dict[str, Any]:
        return {"Type": "AWS::Serverless::Function", "Properties": {
            "Runtime": "python3.11", "Handler": handler, "CodeUri": "./deployment.zip",
            "Timeout": timeout, "MemorySize": 512,
            "Environment": {"Variables": {"APP_STAGE": "dev"}},
            "Role": {"Fn::GetAtt": [role_id, "Arn"]}, **extra}}

    origin = "method.response.header.Access-Control-Allow-Origin"
    return {"AWSTemplateFormatVersion": "2010-09-09",
            "Transform": "AWS::Serverless-2016-10-31", "Outputs": {}, "Resources": {
                "ApiHandlerRole": role(), "BillingRole": role(),
                "APIHandler": function("app.app", "ApiHandlerRole"),
                "Billing": function("functions.billing.handler.billing", "BillingRole", Events={
                    "BillingSqsEventSource": {"Type": "SQS", "Properties": {
                        "Queue": {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:"
                                             f"${{AWS::AccountId}}:{queue_name}"},
                        "BatchSize": 10}}}),
                "RestAPI": {"Type": "AWS::Serverless::Api", "Properties": {
                    "StageName": "api", "DefinitionBody": {"paths": {"/x": {"options": {
                        "x-amazon-apigateway-integration": {"responses": {"default": {
                            "responseParameters": {origin: "'http://127.0.0.1:8080'"}}}}}}}}}},
            }}


def test_finish_adds_partial_batch_failures_names_and_least_privilege() -> None:
    readings = queue("readings")
    done = finish(chalice_like(DEV.name_of("readings")), DEV)
    billing = done["Resources"]["Billing"]
    event = billing["Properties"]["Events"]["BillingSqsEventSource"]["Properties"]
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["ScalingConfig"] == {"MaximumConcurrency": DEV.queue_concurrency("readings")}
    assert billing["Properties"]["FunctionName"] == "iotbill-dev-billing"
    assert billing["DependsOn"] == ["BillingLogGroup", "BillingRoleTables1"]
    assert done["Resources"]["BillingLogGroup"]["Properties"] == {
        "LogGroupName": "/aws/lambda/iotbill-dev-billing",
        "RetentionInDays": DEV.log_retention_days}
    role = done["Resources"]["BillingRole"]["Properties"]
    assert role["RoleName"] == "iotbill-dev-billing"
    assert "table/iotbill-dev-readings" not in json.dumps(role["Policies"])  # see below
    tables = done["Resources"]["BillingRoleTables1"]
    assert tables["Type"] == "AWS::IAM::ManagedPolicy"
    assert tables["Properties"]["Roles"] == [{"Ref": "BillingRole"}]
    assert tables["Properties"]["ManagedPolicyName"] == "iotbill-dev-billing-tables-1"
    assert "table/iotbill-dev-readings" in json.dumps(tables["Properties"]["PolicyDocument"])
    assert readings.visibility_timeout >= billing["Properties"]["Timeout"]
    api = done["Resources"]["RestAPI"]["Properties"]
    assert api["MethodSettings"][0]["ThrottlingRateLimit"] == DEV.api_rate_limit
    assert "127.0.0.1" not in json.dumps(api["DefinitionBody"])
    assert "${PortalOrigin}" in json.dumps(api["DefinitionBody"])
    # the gateway's own 401/403/429/5xx answers are readable by the portal
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        headers = api["GatewayResponses"][kind]["ResponseParameters"]["Headers"]
        assert headers["Access-Control-Allow-Origin"] == {"Fn::Sub": "'${PortalOrigin}'"}
    # ... in the API's one error body (ErrorBody), 429 with Retry-After (issue 22)
    for kind, response in api["GatewayResponses"].items():
        template = response["ResponseTemplates"]["application/json"]
        assert template.startswith('{"error":"') and '"message":$context' in template, kind
    throttled = api["GatewayResponses"]["THROTTLED"]["ResponseParameters"]["Headers"]
    assert throttled["Retry-After"] == "'1'"


def test_finish_refuses_a_queue_resources_py_does_not_define() -> None:
    with pytest.raises(TemplateError, match="does not define"):
        finish(chalice_like("iotbill-dev-nonesuch"), DEV)


def test_finish_refuses_a_timeout_longer_than_the_visibility_timeout() -> None:
    too_long = queue("readings").visibility_timeout + 1
    with pytest.raises(TemplateError, match="visibility timeout"):
        finish(chalice_like(DEV.name_of("readings"), timeout=too_long), DEV)


def test_finish_refuses_a_function_without_a_policy() -> None:
    template = chalice_like(DEV.name_of("readings"))
    template["Resources"]["Nightly"] = copy.deepcopy(template["Resources"]["APIHandler"])
    with pytest.raises(TemplateError, match="no policy"):
        finish(template, DEV)
