"""Settings from the environment (pydantic-settings).

The only thing that differs between the laptop and AWS is the environment:
``AWS_ENDPOINT_URL`` points every boto3 and pynamodb client at an emulator,
and is unset in the cloud. No other code path knows where it runs.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Stage = Literal["local", "dev", "prod"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    stage: Stage = Field(default="local", alias="APP_STAGE")
    aws_region: str = Field(default="ap-south-1", alias="AWS_DEFAULT_REGION")
    aws_endpoint_url: str | None = Field(default=None, alias="AWS_ENDPOINT_URL")
    # DynamoDB alone at another endpoint (boto3's own name for it): the fleet bench runs
    # the official DynamoDB Local beside the emulator's other services.
    aws_endpoint_url_dynamodb: str | None = Field(default=None,
                                                  alias="AWS_ENDPOINT_URL_DYNAMODB")
    # Every table and queue name is "<prefix>-<logical name>" so stages never collide.
    resource_prefix: str = Field(default="iotbill-local", alias="RESOURCE_PREFIX")
    # Public URLs: where meters post readings and where the portal lives
    # (used in emails and for CORS).
    api_base_url: str = Field(default="http://127.0.0.1:8000", alias="API_BASE_URL")
    portal_origin: str = Field(default="http://127.0.0.1:8080", alias="PORTAL_ORIGIN")
    mail_from: str = Field(default="billing@discom.example.in", alias="MAIL_FROM")
    server_key_secret_name: str = Field(default="", alias="SERVER_KEY_SECRET_NAME")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    # SMS under TRAI's DLT rules: the discom's registered entity (PE) id and sender header,
    # per stage (the placeholders below are refused by operators; set the real ones).
    dlt_entity_id: str = Field(default="1101000000000000000", alias="DLT_ENTITY_ID")
    sms_sender_id: str = Field(default="DISCOM", alias="SMS_SENDER_ID")
    # The private bucket of bill PDFs (functions/core/bills/documents.py); in AWS its
    # name carries the account id (infra), locally "<prefix>-bill-documents".
    bill_documents_bucket: str = Field(default="", alias="BILL_DOCUMENTS_BUCKET")
    # Attach the PDF bill to the bill email (each bill's PDF is then made as its email
    # goes out). On in AWS stages (infra); off locally unless asked for.
    bill_email_pdf: bool = Field(default=False, alias="BILL_EMAIL_PDF")
    # Messages a second each notification sender invocation hands to SES/SNS (a token
    # bucket); times the queue's maximum concurrency it stays under the account's
    # sending quota. Unset or 0: no limit (the emulator has none).
    notification_send_rate: float = Field(default=0.0, ge=0, alias="NOTIFICATION_SEND_RATE")

    def endpoint_for(self, service: str) -> str | None:
        """Where `service` is reached (None: AWS's own endpoint)."""
        if service == "dynamodb" and self.aws_endpoint_url_dynamodb:
            return self.aws_endpoint_url_dynamodb
        return self.aws_endpoint_url

    def resource_name(self, logical: str) -> str:
        return f"{self.resource_prefix}-{logical}"

    @property
    def server_key_secret(self) -> str:
        return self.server_key_secret_name or self.resource_name("iot-server-key")

    @property
    def is_local(self) -> bool:
        return self.stage == "local"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reload_settings() -> Settings:
    """Re-read the environment (tests and the local launcher change it)."""
    get_settings.cache_clear()
    return get_settings()
