"""`make deploy`: refuses to run without credentials, and deploys the resources
stack by change set, idempotently, to whatever AWS_ENDPOINT_URL points at (here
the emulator's CloudFormation, as it would to LocalStack)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from functions.core.resources import QUEUES, TABLES
from infra.stages import ROOT, STAGE_SETTINGS, StageConfig


def test_deploy_refuses_to_run_without_credentials(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("AWS_") and key != "PYTHONPATH"}
    env.update({"HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_CONFIG_FILE": str(tmp_path / "none"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")})
    result = subprocess.run([sys.executable, "-m", "infra.deploy", "--stage", "dev"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "No AWS credentials found, so nothing was deployed" in result.stderr
    assert "AWS_PROFILE" in result.stderr and "AWS_ENDPOINT_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_deploy_rejects_an_unknown_stage() -> None:
    result = subprocess.run([sys.executable, "-m", "infra.deploy", "--stage", "local"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore::UserWarning")  # moto skips types it cannot emulate
def test_resources_stack_deploys_through_a_change_set_and_redeploys_as_no_change(
        emulator: str, capsys: pytest.CaptureFixture[str]) -> None:
    from infra.deploy import (
        connect,
        deploy_resources,
        describe_stack,
        ensure_artifacts_bucket,
        parse_args,
    )

    assert os.environ["AWS_ENDPOINT_URL"] == emulator
    stage = StageConfig(name="dev", prefix=f"iotbill-cfn{uuid.uuid4().hex[:6]}",
                        **STAGE_SETTINGS["dev"])
    target = connect(stage)
    ensure_artifacts_bucket(target)
    options = parse_args(["--stage", "dev", "--no-cdn", "--no-mail-identity"])

    deploy_resources(target, options)
    assert "created" in capsys.readouterr().out
    stack = describe_stack(target, stage.resources_stack)
    assert stack is not None and stack["StackStatus"] == "CREATE_COMPLETE"

    dynamodb, sqs = target.client("dynamodb"), target.client("sqs")
    for definition in TABLES:
        described = dynamodb.describe_table(TableName=stage.name_of(definition.logical))["Table"]
        assert described["KeySchema"][0]["AttributeName"] == definition.hash_key.name
        assert {i["IndexName"] for i in described.get("GlobalSecondaryIndexes", [])} == {
            i.name for i in definition.indexes}
    for queue_definition in QUEUES:
        url = sqs.get_queue_url(QueueName=stage.name_of(queue_definition.logical))["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["VisibilityTimeout"] == str(queue_definition.visibility_timeout)
        assert queue_definition.dlq_physical(stage.settings()) in attributes["RedrivePolicy"]

    deploy_resources(target, options)
    assert "no changes" in capsys.readouterr().out
