"""What differs between deployment stages, and where it comes from.

The resource prefix of a stage (``iotbill-dev``) is read from the stage's
``RESOURCE_PREFIX`` in .chalice/config.json, the same value the deployed
functions get in their environment, so the names in the templates and the
names the code computes through Settings are one and the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from functions.core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CHALICE_CONFIG = ROOT / ".chalice" / "config.json"
DEPLOYABLE_STAGES = ("dev", "prod")

# The Lambda functions of the Chalice app, by Chalice name. api_handler serves
# every HTTP route; the other three come from decorators in the code.
FUNCTIONS = ("api_handler", "session_authorizer", "iot_fanout", "run_steps", "billing",
             "overdue_sweep", "overdue_steps", "run_window_sweep", "payments_reconcile",
             "notification_sender", "notification_events", "notification_sweep",
             "daily_reads", "command_retry_sweep")


@dataclass(frozen=True)
class SecretDef:
    """A Secrets Manager secret the functions read. The template creates it
    empty; ``filled_by`` says who puts the value in (never a template)."""

    logical: str
    description: str
    filled_by: str


SECRETS: tuple[SecretDef, ...] = (
    SecretDef("server_key", "IoT server identity: the secp256k1 key pairs that sign read "
              "requests and decrypt readings (docs/meter-protocol.md)",
              "the app's setup (functions/core/meters/server_key.py), run by make deploy"),
    SecretDef("payment_gateway", "Razorpay API keys and webhook secret (JSON: key_id, "
              "key_secret, webhook_secret)",
              "an operator, from Razorpay's dashboard (docs/payments.md)"),
)


@dataclass(frozen=True)
class StageConfig:
    name: str
    prefix: str
    region: str = "ap-south-1"
    log_retention_days: int = 30
    # API Gateway stage throttling (every method): steady requests per second
    # and burst. A billing run's readings arrive at the rate iot_fanout asks,
    # which the fan-out concurrency below bounds; see docs/infra.md.
    api_rate_limit: float = 100.0
    api_burst_limit: int = 200
    # At most this many concurrent Lambda invocations drain each queue
    # (SQS event source ScalingConfig); bounds the load on meters and tables.
    max_concurrency: dict[str, int] | None = None
    # prod keeps its data when a stack or a table is deleted.
    retain_data: bool = False
    mail_from: str = "billing@discom.example.in"

    def settings(self) -> Settings:
        """The Settings a function of this stage sees (names of tables, queues, secret)."""
        return Settings(APP_STAGE=self.name, RESOURCE_PREFIX=self.prefix,
                        AWS_DEFAULT_REGION=self.region, MAIL_FROM=self.mail_from)

    def name_of(self, logical: str) -> str:
        return self.settings().resource_name(logical)

    def function_name(self, function: str) -> str:
        return self.name_of(function)

    def secret_name(self, logical: str) -> str:
        """As the code names it: Settings.server_key_secret, payments.secrets."""
        if logical == "server_key":
            return self.settings().server_key_secret
        if logical == "payment_gateway":
            return self.name_of("payment-gateway-secret")
        raise KeyError(f"no secret named {logical!r} in infra/stages.py SECRETS")

    def log_group(self, function: str) -> str:
        return f"/aws/lambda/{self.function_name(function)}"

    def queue_concurrency(self, queue_logical: str) -> int:
        return (self.max_concurrency or {}).get(queue_logical, 5)

    @property
    def resources_stack(self) -> str:
        return f"{self.prefix}-resources"

    @property
    def app_stack(self) -> str:
        return f"{self.prefix}-app"


STAGE_SETTINGS: dict[str, dict[str, Any]] = {
    "dev": {"log_retention_days": 14, "api_rate_limit": 50.0, "api_burst_limit": 100,
            "max_concurrency": {"fanout": 2, "readings": 5, "run_steps": 4, "overdue_steps": 2,
                                "notifications": 2}},
    # prod is sized for 1,000,000 meters billed in 15 minutes (docs/scale.md): 1,111
    # readings a second reach the API; ~45 fan-out and ~55 billing invocations at a time;
    # one run_steps invocation per shard.
    "prod": {"log_retention_days": 90, "api_rate_limit": 1500.0, "api_burst_limit": 3000,
             "max_concurrency": {"fanout": 60, "readings": 80, "run_steps": 32,
                                 "overdue_steps": 32,  # one step per shard at a time
                                 # ~20 sends/s each: SES's quota (docs/notifications.md)
                                 "notifications": 10},
             "retain_data": True},
}


@cache
def chalice_config() -> dict[str, Any]:
    return dict(json.loads(CHALICE_CONFIG.read_text()))


def stage_config(stage: str) -> StageConfig:
    if stage not in DEPLOYABLE_STAGES:
        raise ValueError(f"unknown stage {stage!r}: deployable stages are {DEPLOYABLE_STAGES}")
    environment = chalice_config()["stages"][stage].get("environment_variables", {})
    prefix = environment.get("RESOURCE_PREFIX")
    if not prefix:
        raise ValueError(f".chalice/config.json: stage {stage!r} has no RESOURCE_PREFIX")
    return StageConfig(name=stage, prefix=prefix, **STAGE_SETTINGS[stage])


def bill_documents_bucket(stage: StageConfig) -> dict[str, str]:
    """The bill PDFs' bucket name: bucket names are global, the account id keeps it ours
    (resources stack creates it; the app's functions get it as BILL_DOCUMENTS_BUCKET)."""
    return {"Fn::Sub": f"{stage.name_of('bill-documents')}-${{AWS::AccountId}}"}
