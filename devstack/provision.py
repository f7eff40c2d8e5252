"""Create every table and queue from functions/core/resources.py, idempotently.

Runs against whatever AWS_ENDPOINT_URL points at (moto locally, LocalStack, or
a sandbox account). infra/ renders the same definitions into CloudFormation.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from functions.core.aws import client
from functions.core.meters.server_key import ensure_server_key
from functions.core.notifications.sender import configuration_set, events_topic
from functions.core.resources import QUEUES, TABLES, QueueDef, TableDef
from functions.core.settings import get_settings


def table_request(definition: TableDef, physical: str) -> dict[str, Any]:
    def key_schema(hash_key: Any, range_key: Any) -> list[dict[str, str]]:
        schema = [{"AttributeName": hash_key.name, "KeyType": "HASH"}]
        if range_key is not None:
            schema.append({"AttributeName": range_key.name, "KeyType": "RANGE"})
        return schema

    request: dict[str, Any] = {
        "TableName": physical,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": key_schema(definition.hash_key, definition.range_key),
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": kind}
                                 for name, kind in definition.attribute_types().items()],
    }
    if definition.indexes:
        request["GlobalSecondaryIndexes"] = [
            {"IndexName": index.name,
             "KeySchema": key_schema(index.hash_key, index.range_key),
             "Projection": {"ProjectionType": index.projection}}
            for index in definition.indexes
        ]
    return request


def ensure_table(definition: TableDef) -> str:
    dynamodb = client("dynamodb")
    physical = definition.physical()
    try:
        dynamodb.create_table(**table_request(definition, physical))
        dynamodb.get_waiter("table_exists").wait(TableName=physical,
                                                 WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        created = "created"
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
        created = "exists"
    if definition.ttl_attribute:
        dynamodb.update_time_to_live(TableName=physical, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": definition.ttl_attribute})
    return created


def ensure_queue(definition: QueueDef) -> str:
    sqs = client("sqs")
    dlq_url = sqs.create_queue(QueueName=definition.dlq_physical(), Attributes={
        "MessageRetentionPeriod": str(definition.dlq_retention_seconds)})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    attributes = {
        "VisibilityTimeout": str(definition.visibility_timeout),
        "MessageRetentionPeriod": str(definition.retention_seconds),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                     "maxReceiveCount": str(definition.max_receive_count)}),
    }
    try:
        sqs.create_queue(QueueName=definition.physical(), Attributes=attributes)
        return "created"
    except ClientError as exc:
        # Same name, other attributes (a changed definition): bring it up to date.
        if exc.response["Error"]["Code"] not in ("QueueAlreadyExists",
                                                 "QueueNameExists"):
            raise
        url = sqs.get_queue_url(QueueName=definition.physical())["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        return "updated"


def ensure_sender_identity() -> None:
    """SES only sends from a verified identity; the emulator verifies at once."""
    client("ses").verify_email_identity(EmailAddress=get_settings().mail_from)


def ensure_mail_events() -> dict[str, str]:
    """SES's configuration set, its event destination (delivery, bounce, complaint,
    reject) on an SNS topic, and the topic's subscription by the notification_events
    queue, as infra/resources_template.py declares them. moto stores the set and the
    destination but publishes no events to it (docs/notifications.md): tests and the
    local mail simulator publish SES's event JSON to the same topic instead."""
    ses, sns, sqs = client("ses"), client("sns"), client("sqs")
    topic_arn = sns.create_topic(Name=events_topic())["TopicArn"]  # idempotent
    name = configuration_set()
    state = "created"
    try:
        ses.create_configuration_set(ConfigurationSet={"Name": name})
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConfigurationSetAlreadyExists":
            raise
        state = "exists"
    try:
        ses.create_configuration_set_event_destination(
            ConfigurationSetName=name, EventDestination={
                "Name": "delivery-events", "Enabled": True,
                "MatchingEventTypes": ["delivery", "bounce", "complaint", "reject"],
                "SNSDestination": {"TopicARN": topic_arn}})
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "EventDestinationAlreadyExists":
            raise
    queue_url = sqs.get_queue_url(QueueName=get_settings().resource_name(
        "notification_events"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]})})
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)  # idempotent
    return {f"mail events {name} -> {events_topic()} -> notification_events": state}


def ensure_bill_documents() -> dict[str, str]:
    """The private bucket of bill PDFs (functions/core/bills/documents.py)."""
    from functions.core.bills.documents import bucket

    s3 = client("s3")
    name = bucket()
    try:
        s3.head_bucket(Bucket=name)
        return {f"bucket {name}": "exists"}
    except ClientError:
        pass
    create: dict[str, Any] = {"Bucket": name}
    if get_settings().aws_region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": get_settings().aws_region}
    s3.create_bucket(**create)
    return {f"bucket {name}": "created"}


def provision(verbose: bool = False) -> dict[str, str]:
    results: dict[str, str] = {}
    for table in TABLES:
        results[f"table {table.physical()}"] = ensure_table(table)
    for queue in QUEUES:
        results[f"queue {queue.physical()}"] = ensure_queue(queue)
    if get_settings().is_local:
        ensure_sender_identity()
    results.update(ensure_mail_events())
    results.update(ensure_bill_documents())
    # The IoT server's key pair in Secrets Manager (created once, never overwritten).
    results.update(ensure_server_key())
    if verbose:
        for name, state in results.items():
            print(f"  {state:8} {name}")
    return results


if __name__ == "__main__":
    provision(verbose=True)
