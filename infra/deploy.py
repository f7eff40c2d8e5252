"""`make deploy STAGE=dev`: deploy the platform with the caller's credentials.

    python -m infra.deploy --stage dev [--alarm-email ops@example.in] [--no-site]

0. ``make package`` and cfn-lint: nothing in AWS changes unless both templates are clean.
1. An artifacts bucket (``<prefix>-artifacts-<account>``) for templates and code.
2. The resources stack (tables, queues, key, secret, site bucket, CDN), by change set.
3. The zip uploaded, the app stack (API, functions, roles, event sources)
   deployed by change set. On the first deploy the API's URL is only known
   afterwards, so a second, parameter-only update hands it to the functions.
4. The app's one-time setup (``ensure_server_key``: the IoT server key pair
   into its secret), run against the stage; then a check that the secret holds
   a key. The payment gateway secret (Razorpay keys) is the operator's (docs/payments.md).
5. The portal built for the deployed API (``frontend.build``) and synced to the
   site bucket; the CDN cache invalidated.

With ``AWS_ENDPOINT_URL`` set, every call goes to that endpoint instead
(LocalStack: see docs/infra.md); CloudFront and the SES identity are left out
there unless asked for. Without credentials it stops before doing anything.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import mimetypes
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from infra.iam import secret_parameter
from infra.lint import lint
from infra.package import Build, build
from infra.resources_template import render
from infra.stages import DEPLOYABLE_STAGES, ROOT, SECRETS, StageConfig, stage_config

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
NO_CREDENTIALS = """No AWS credentials found, so nothing was deployed.
Give this command the credentials of the account to deploy to, for example:
  AWS_PROFILE=<profile> make deploy STAGE=dev      (after `aws sso login` or `aws configure`)
For LocalStack (docs/infra.md):
  AWS_ENDPOINT_URL=http://localhost:4566 AWS_ACCESS_KEY_ID=test \\
  AWS_SECRET_ACCESS_KEY=test make deploy STAGE=dev"""


class DeployError(Exception):
    """Stops the deploy with a message for the operator (exit status 2)."""


@dataclass
class Target:
    """Where we deploy: the account, region and (for LocalStack) endpoint."""

    stage: StageConfig
    session: boto3.session.Session
    account: str
    region: str
    endpoint: str | None
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            config = Config(retries={"max_attempts": 10, "mode": "standard"},
                            # Emulators serve buckets by path, not by host name.
                            s3={"addressing_style": "path"} if self.endpoint else None)
            self._clients[service] = self.session.client(
                service,  # type: ignore[call-overload]
                region_name=self.region, endpoint_url=self.endpoint, config=config)
        return self._clients[service]

    @property
    def artifacts_bucket(self) -> str:
        return f"{self.stage.prefix}-artifacts-{self.account}"

    def object_url(self, bucket: str, key: str) -> str:
        # The AWS form even on an emulator: LocalStack and moto map it to
        # their own S3 when CloudFormation fetches a template.
        return f"https://{bucket}.s3.{self.region}.amazonaws.com/{key}"


def connect(stage: StageConfig) -> Target:
    """The caller's identity, or a clear refusal when there are no credentials."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or stage.region
    session = boto3.session.Session(region_name=region)
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    try:
        credentials = session.get_credentials()
    except BotoCoreError as exc:
        raise DeployError(f"{NO_CREDENTIALS}\n({exc})") from exc
    if credentials is None:
        raise DeployError(NO_CREDENTIALS)
    try:
        identity = session.client("sts", region_name=region,
                                  endpoint_url=endpoint).get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        raise DeployError(f"The AWS credentials were refused: {exc}") from exc
    return Target(stage, session, identity["Account"], region, endpoint)


def ensure_artifacts_bucket(target: Target) -> str:
    """Private, encrypted, and self-cleaning: old templates and zips expire."""
    s3, bucket = target.client("s3"), target.artifacts_bucket
    try:
        s3.head_bucket(Bucket=bucket)
        return bucket
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    create: dict[str, Any] = {"Bucket": bucket}
    if target.region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": target.region}
    s3.create_bucket(**create)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True,
        "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [{
        "ID": "ExpireOldArtifacts", "Status": "Enabled", "Filter": {"Prefix": ""},
        "Expiration": {"Days": 30}}]})
    return bucket


def upload_file(target: Target, path: Path, prefix: str) -> tuple[str, str]:
    """Upload under a content-addressed key; returns (key, URL)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:20]
    key = f"{prefix}/{digest}-{path.name}"
    target.client("s3").upload_file(str(path), target.artifacts_bucket, key)
    return key, target.object_url(target.artifacts_bucket, key)


def stack_outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def describe_stack(target: Target, name: str) -> dict[str, Any] | None:
    try:
        return dict(target.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0])
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def deploy_stack(target: Target, name: str, template_url: str,
                 parameters: dict[str, str]) -> dict[str, str]:
    """Create or update ``name`` through a change set (like `aws cloudformation
    deploy`); returns the stack's outputs. A change set without changes is fine."""
    cfn = target.client("cloudformation")
    existing = describe_stack(target, name)
    if existing and existing["StackStatus"] == "ROLLBACK_COMPLETE":
        # A stack whose creation failed cannot be updated, only replaced.
        print(f"  {name}: removing the stack left by a failed first deploy")
        cfn.delete_stack(StackName=name)
        cfn.get_waiter("stack_delete_complete").wait(StackName=name)
        existing = None
    change_set = f"deploy-{int(time.time())}"
    # REVIEW_IN_PROGRESS: a first change set was made but never executed.
    kind = "UPDATE" if existing and existing["StackStatus"] != "REVIEW_IN_PROGRESS" else "CREATE"
    cfn.create_change_set(
        StackName=name, ChangeSetName=change_set, ChangeSetType=kind, TemplateURL=template_url,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=CAPABILITIES,
        Tags=[{"Key": "app", "Value": "iot-billing"}, {"Key": "stage", "Value": target.stage.name}],
    )
    try:
        cfn.get_waiter("change_set_create_complete").wait(
            StackName=name, ChangeSetName=change_set, WaiterConfig={"Delay": 5, "MaxAttempts": 120})
    except WaiterError as exc:
        described = cfn.describe_change_set(StackName=name, ChangeSetName=change_set)
        reason = described.get("StatusReason", "")
        if any(marker in reason for marker in NO_CHANGES):
            cfn.delete_change_set(StackName=name, ChangeSetName=change_set)
            print(f"  {name}: no changes")
            return stack_outputs(describe_stack(target, name) or {})
        raise DeployError(f"{name}: change set failed: {reason or exc}") from exc
    cfn.execute_change_set(StackName=name, ChangeSetName=change_set)
    waiter = "stack_create_complete" if kind == "CREATE" else "stack_update_complete"
    try:
        cfn.get_waiter(waiter).wait(StackName=name, WaiterConfig={"Delay": 10, "MaxAttempts": 360})
    except WaiterError as exc:
        raise DeployError(f"{name}: {kind.lower()} failed:\n{failure_reasons(target, name)}"
                          ) from exc
    print(f"  {name}: {kind.lower()}d")
    return stack_outputs(describe_stack(target, name) or {})


def failure_reasons(target: Target, name: str, limit: int = 10) -> str:
    """The stack's most recent failed resources and why, newest first."""
    events = target.client("cloudformation").describe_stack_events(StackName=name)["StackEvents"]
    failed = [f"  {e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
              for e in events if e["ResourceStatus"].endswith("_FAILED")]
    return "\n".join(failed[:limit]) or "  (no failed resource reported; see the console)"


def write_json(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, separators=(",", ":")))
    return path


def deploy_resources(target: Target, options: argparse.Namespace) -> dict[str, str]:
    stage = target.stage
    path = write_json(ROOT / "build" / stage.name / "resources.deploy.json", render(stage))
    _, url = upload_file(target, path, "templates")
    return deploy_stack(target, stage.resources_stack, url, {
        "AlarmEmail": options.alarm_email or "",
        "ManageMailIdentity": "true" if options.mail_identity else "false",
        "CreateCdn": "true" if options.cdn else "false",
    })


def build_and_lint(stage: StageConfig) -> Build:
    """The package and both templates, cfn-lint clean, before anything in AWS changes."""
    built = build(stage.name)
    problems = lint([built.app_template, built.resources_template])
    if problems:
        raise DeployError(f"cfn-lint found problems; nothing was deployed:\n{problems}")
    if built.missing_functions:
        raise DeployError(f"the app does not define {', '.join(built.missing_functions)}; "
                          "nothing was deployed")
    return built


def deploy_app(target: Target, resources: dict[str, str], built: Build) -> dict[str, str]:
    stage = target.stage
    code_key, _ = upload_file(target, built.zip_path, "code")
    template = json.loads(built.app_template.read_text())
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = {"Bucket": target.artifacts_bucket,
                                                 "Key": code_key}
    path = write_json(built.directory / "app.deploy.json", template)
    _, url = upload_file(target, path, "templates")
    previous = stack_outputs(describe_stack(target, stage.app_stack) or {})
    parameters = {
        **{secret_parameter(s.logical): resources[secret_parameter(s.logical)] for s in SECRETS},
        "DataKeyArn": resources["DataKeyArn"],
        "MailFrom": stage.mail_from,
        "PortalOrigin": resources["SiteUrl"],
        "ApiBaseUrl": previous.get("EndpointURL", "").rstrip("/"),
    }
    outputs = deploy_stack(target, stage.app_stack, url, parameters)
    api_url = outputs.get("EndpointURL", "").rstrip("/")
    if api_url and api_url != parameters["ApiBaseUrl"]:
        # First deploy: the API's URL exists only now; tell the functions.
        outputs = deploy_stack(target, stage.app_stack, url, {**parameters, "ApiBaseUrl": api_url})
    return outputs


def stage_environment(target: Target, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"APP_STAGE": target.stage.name, "RESOURCE_PREFIX": target.stage.prefix,
                "AWS_DEFAULT_REGION": target.region, "MAIL_FROM": target.stage.mail_from,
                **extra})
    if target.endpoint:
        env["AWS_ENDPOINT_URL"] = target.endpoint
    else:
        env.pop("AWS_ENDPOINT_URL", None)
    return env


SETUP_SCRIPT = """
from functions.core.meters.server_key import ensure_server_key
for name, state in ensure_server_key().items():
    print(f"  {state:8} {name}")
"""


def run_app_setup(target: Target) -> None:
    """The app's own idempotent setup (the server key pair), in a process that
    sees the stage's settings, then a check that the secret holds a value."""
    subprocess.run([sys.executable, "-c", SETUP_SCRIPT], cwd=ROOT, check=True,
                   env=stage_environment(target))
    secret = target.stage.secret_name("server_key")
    try:
        target.client("secretsmanager").get_secret_value(SecretId=secret)
    except ClientError as exc:
        raise DeployError(f"The secret {secret} has no value after the app's setup: the "
                          "server key setup must store a key in an existing, empty secret "
                          f"(the resources stack creates it empty). {exc}") from exc


def sync_site(target: Target, resources: dict[str, str], api_url: str) -> None:
    out = ROOT / "build" / target.stage.name / "site"
    portal = resources["SiteUrl"]
    subprocess.run([sys.executable, "-m", "frontend.build", "--out", str(out),
                    "--api-base-url", api_url], cwd=ROOT, check=True,
                   env=stage_environment(target, API_BASE_URL=api_url, PORTAL_ORIGIN=portal))
    s3, bucket = target.client("s3"), resources["SiteBucketName"]
    local = {p.relative_to(out).as_posix(): p for p in sorted(out.rglob("*")) if p.is_file()}
    for key, path in local.items():
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        # Pages change with every release; assets are cheap to re-fetch hourly.
        cache = "no-cache" if key.endswith(".html") else "public, max-age=3600"
        s3.upload_file(str(path), bucket, key,
                       ExtraArgs={"ContentType": content_type, "CacheControl": cache})
    stale = [obj["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
             for obj in page.get("Contents", []) if obj["Key"] not in local]
    for start in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=bucket, Delete={
            "Objects": [{"Key": key} for key in stale[start:start + 1000]]})
    distribution = resources.get("SiteDistributionId")
    if distribution:
        target.client("cloudfront").create_invalidation(
            DistributionId=distribution, InvalidationBatch={
                "Paths": {"Quantity": 1, "Items": ["/*"]},
                "CallerReference": f"deploy-{int(time.time())}"})
    print(f"  site: {len(local)} files -> s3://{bucket}, {len(stale)} removed")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Deploy the platform to AWS (or LocalStack).")
    parser.add_argument("--stage", default="dev", choices=DEPLOYABLE_STAGES)
    parser.add_argument("--alarm-email", help="email subscribed to the dead-letter alarms")
    parser.add_argument("--no-site", dest="site", action="store_false",
                        help="do not build and upload the portal")
    local = bool(os.environ.get("AWS_ENDPOINT_URL"))
    parser.add_argument("--cdn", action=argparse.BooleanOptionalAction, default=not local,
                        help="serve the portal through CloudFront (default: yes, except "
                             "with AWS_ENDPOINT_URL)")
    parser.add_argument("--mail-identity", action=argparse.BooleanOptionalAction,
                        default=not local,
                        help="create the SES domain identity of MAIL_FROM (default: yes, "
                             "except with AWS_ENDPOINT_URL)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    try:
        return deploy(options)
    except DeployError as exc:
        print(exc, file=sys.stderr)
        return 2


def deploy(options: argparse.Namespace) -> int:
    stage = stage_config(options.stage)
    target = connect(stage)
    where = target.endpoint or f"AWS account {target.account}"
    print(f"deploying {stage.name} ({stage.prefix}) to {where}, {target.region}")
    print("package and templates")
    built = build_and_lint(stage)
    ensure_artifacts_bucket(target)
    print("resources stack")
    resources = deploy_resources(target, options)
    print("app stack")
    app = deploy_app(target, resources, built)
    api_url = app.get("EndpointURL", "").rstrip("/")
    print("app setup")
    run_app_setup(target)
    if options.site:
        print("portal")
        sync_site(target, resources, api_url)
    print(f"\nAPI     {api_url}\nportal  {resources.get('SiteUrl')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
