"""The resources stack: everything the functions use, rendered from
functions/core/resources.py (the one definition of tables and queues that
devstack/provision.py also creates locally).

Holds: a KMS key, every DynamoDB table (on demand, point-in-time recovery,
KMS encryption, TTL, GSIs), every SQS queue with its dead-letter queue and an
alarm on the DLQ's depth, the IoT server key secret (empty: the app's setup
puts the key in), the SES sending identity, the private static-site bucket
behind CloudFront (origin access control), an SNS topic for alarms, and the
operations alarms and dashboard (infra/observability.py).

    python -m infra.resources_template --stage dev   # prints the template
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from frontend.headers import HSTS_MAX_AGE, PORTAL_CSP, PORTAL_HEADERS
from functions.core.resources import QUEUES, TABLES, Key, QueueDef, TableDef
from infra.observability import observability_resources
from infra.stages import SECRETS, StageConfig, bill_documents_bucket, stage_config

# AWS-managed CloudFront policy (fixed id, documented by AWS).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"

# Pages live at paths like /admin/ -> /admin/index.html; S3's REST endpoint
# (what CloudFront reaches through OAC) has no directory index of its own.
INDEX_REWRITE = """function handler(event) {
  var request = event.request;
  if (request.uri.endsWith('/')) { request.uri += 'index.html'; }
  return request;
}"""


def logical_id(name: str, suffix: str) -> str:
    """CloudFormation logical id from a snake_case name: read_requests -> ReadRequestsTable."""
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_")) + suffix


def sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _key_schema(hash_key: Key, range_key: Key | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key.name, "KeyType": "HASH"}]
    if range_key is not None:
        schema.append({"AttributeName": range_key.name, "KeyType": "RANGE"})
    return schema


def _retention(stage: StageConfig) -> dict[str, str]:
    policy = "Retain" if stage.retain_data else "Delete"
    return {"DeletionPolicy": policy, "UpdateReplacePolicy": policy}


def table_resource(definition: TableDef, stage: StageConfig) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "TableName": stage.name_of(definition.logical),
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": _key_schema(definition.hash_key, definition.range_key),
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": kind}
                                 for name, kind in definition.attribute_types().items()],
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS",
                             "KMSMasterKeyId": {"Ref": "DataKey"}},
        "DeletionProtectionEnabled": stage.retain_data,
        "Tags": [{"Key": "app", "Value": "iot-billing"}, {"Key": "stage", "Value": stage.name}],
    }
    if definition.indexes:
        properties["GlobalSecondaryIndexes"] = [
            {"IndexName": index.name,
             "KeySchema": _key_schema(index.hash_key, index.range_key),
             "Projection": {"ProjectionType": index.projection}}
            for index in definition.indexes
        ]
    if definition.ttl_attribute:
        properties["TimeToLiveSpecification"] = {"AttributeName": definition.ttl_attribute,
                                                 "Enabled": True}
    return {"Type": "AWS::DynamoDB::Table", **_retention(stage), "Properties": properties}


def queue_resources(definition: QueueDef, stage: StageConfig) -> dict[str, Any]:
    settings = stage.settings()
    name, dlq_name = definition.physical(settings), definition.dlq_physical(settings)
    queue_id = logical_id(definition.logical, "Queue")
    dlq_id = logical_id(definition.logical, "DeadLetterQueue")
    tags = [{"Key": "app", "Value": "iot-billing"}, {"Key": "stage", "Value": stage.name},
            *({"Key": k, "Value": v} for k, v in definition.tags.items())]
    return {
        dlq_id: {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": dlq_name,
            "MessageRetentionPeriod": definition.dlq_retention_seconds,
            "SqsManagedSseEnabled": True,
            # Only its own source queue may dead-letter into it (by name: no cycle).
            "RedriveAllowPolicy": {"redrivePermission": "byQueue", "sourceQueueArns": [
                sub(f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{name}")]},
            "Tags": tags,
        }},
        queue_id: {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": name,
            "VisibilityTimeout": definition.visibility_timeout,
            "MessageRetentionPeriod": definition.retention_seconds,
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
                              "maxReceiveCount": definition.max_receive_count},
            "Tags": tags,
        }},
        logical_id(definition.logical, "DeadLetterAlarm"): {
            "Type": "AWS::CloudWatch::Alarm", "Properties": {
                "AlarmName": f"{dlq_name}-not-empty",
                "AlarmDescription": (f"Messages in {dlq_name}: {definition.logical} messages "
                                     "failed every retry. See docs/runbook.md (dead-letter "
                                     "queues) to inspect and redrive them."),
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": dlq_name}],
                "Statistic": "Maximum",
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [{"Ref": "AlarmTopic"}],
                "OKActions": [{"Ref": "AlarmTopic"}],
            }},
    }


def key_resources(stage: StageConfig) -> dict[str, Any]:
    return {
        "DataKey": {
            "Type": "AWS::KMS::Key", **_retention(stage),
            "Metadata": {"WhyStar": (
                "AWS's default key policy: in a key policy Resource '*' means this key, and "
                "the account root must keep kms:* or the key becomes unmanageable. It grants "
                "nothing by itself; IAM policies decide who uses the key (function roles only "
                "get kms:Decrypt through Secrets Manager).")},
            "Properties": {
                "Description": f"{stage.prefix}: DynamoDB tables and the IoT server key secret",
                "EnableKeyRotation": True,
                "PendingWindowInDays": 30 if stage.retain_data else 7,
                "KeyPolicy": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "AccountAdministersKeyThroughIam",
                    "Effect": "Allow",
                    "Principal": {"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
                    "Action": "kms:*",
                    "Resource": "*",
                }]},
            },
        },
        "DataKeyAlias": {"Type": "AWS::KMS::Alias", "Properties": {
            "AliasName": f"alias/{stage.prefix}-data", "TargetKeyId": {"Ref": "DataKey"}}},
    }


def secret_resources(stage: StageConfig) -> dict[str, Any]:
    return {logical_id(secret.logical, "Secret"): {
        "Type": "AWS::SecretsManager::Secret", **_retention(stage),
        "Metadata": {"Value": f"Created empty on purpose; filled by {secret.filled_by}. "
                              "A secret value never passes through a template or a parameter."},
        "Properties": {
            "Name": stage.secret_name(secret.logical),
            "Description": secret.description,
            "KmsKeyId": {"Ref": "DataKey"},
        },
    } for secret in SECRETS}


def alarm_resources(stage: StageConfig) -> dict[str, Any]:
    return {
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {
            "TopicName": stage.name_of("alarms"),
            "DisplayName": f"{stage.prefix} alarms"}},
        "AlarmEmailSubscription": {"Type": "AWS::SNS::Subscription", "Condition": "HasAlarmEmail",
                                   "Properties": {"TopicArn": {"Ref": "AlarmTopic"},
                                                  "Protocol": "email",
                                                  "Endpoint": {"Ref": "AlarmEmail"}}},
    }


def mail_resources(stage: StageConfig) -> dict[str, Any]:
    domain = stage.mail_from.split("@", 1)[1]
    return {"MailIdentity": {
        "Type": "AWS::SES::EmailIdentity", "Condition": "WithMailIdentity",
        "Properties": {"EmailIdentity": domain,
                       "DkimSigningAttributes": {"NextSigningKeyLength": "RSA_2048_BIT"}},
    }, **mail_event_resources(stage)}


def mail_event_resources(stage: StageConfig) -> dict[str, Any]:
    """SES delivery events: the configuration set every email is sent with
    (functions/core/notifications/sender.py), its event destination on an SNS topic,
    and the topic's subscription by the notification_events queue (docs/notifications.md).
    devstack/provision.py makes the same on the emulator."""
    queue_id = logical_id("notification_events", "Queue")
    return {
        "MailConfigurationSet": {"Type": "AWS::SES::ConfigurationSet", "Properties": {
            "Name": stage.name_of("mail"),
            # SES's own account-level list as well: addresses that bounced or
            # complained anywhere are not sent to (our list is per discom, in DynamoDB).
            "SuppressionOptions": {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]}}},
        # Not encrypted with DataKey: SES would need kms:GenerateDataKey in the key's
        # policy. Events stay on the topic only in transit; the queue has SQS's SSE.
        "MailEventsTopic": {"Type": "AWS::SNS::Topic", "Properties": {
            "TopicName": stage.name_of("mail-events")}},
        "MailEventDestination": {
            "Type": "AWS::SES::ConfigurationSetEventDestination",
            "Properties": {"ConfigurationSetName": {"Ref": "MailConfigurationSet"},
                           "EventDestination": {
                               "Name": "delivery-events", "Enabled": True,
                               "MatchingEventTypes": ["delivery", "bounce", "complaint",
                                                      "reject", "renderingFailure"],
                               "SnsDestination": {"TopicARN": {"Ref": "MailEventsTopic"}}}}},
        "MailEventsSubscription": {"Type": "AWS::SNS::Subscription", "Properties": {
            "TopicArn": {"Ref": "MailEventsTopic"}, "Protocol": "sqs",
            "Endpoint": {"Fn::GetAtt": [queue_id, "Arn"]}}},
        "MailEventsQueuePolicy": {"Type": "AWS::SQS::QueuePolicy", "Properties": {
            "Queues": [{"Ref": queue_id}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Sid": "OnlyTheMailEventsTopicSends", "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
                "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
                "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": "MailEventsTopic"}}}}]}}},
    }


def site_headers_policy(stage: StageConfig) -> dict[str, Any]:
    """The portal's security headers (frontend/headers.py, also sent by the local static
    server). AWS's managed SecurityHeadersPolicy has no Content-Security-Policy, and the
    pages' <meta> policy cannot say frame-ancestors."""
    return {
        "Type": "AWS::CloudFront::ResponseHeadersPolicy", "Condition": "WithCdn",
        "Properties": {"ResponseHeadersPolicyConfig": {
            "Name": stage.name_of("site-headers"),
            "Comment": "portal security headers (frontend/headers.py)",
            "SecurityHeadersConfig": {
                "ContentSecurityPolicy": {"ContentSecurityPolicy": PORTAL_CSP,
                                          "Override": True},
                "ContentTypeOptions": {"Override": True},
                "FrameOptions": {"FrameOption": PORTAL_HEADERS["X-Frame-Options"],
                                 "Override": True},
                "ReferrerPolicy": {"ReferrerPolicy": PORTAL_HEADERS["Referrer-Policy"],
                                   "Override": True},
                "StrictTransportSecurity": {"AccessControlMaxAgeSec": HSTS_MAX_AGE,
                                            "IncludeSubdomains": True, "Override": True},
            },
            "CustomHeadersConfig": {"Items": [
                {"Header": "Permissions-Policy", "Value": PORTAL_HEADERS["Permissions-Policy"],
                 "Override": True}]},
        }},
    }


def bill_documents_resources(stage: StageConfig) -> dict[str, Any]:
    """The private bucket of bill PDFs (functions/core/bills/documents.py): made once per
    bill and language, read through presigned URLs only."""
    bucket_arn = {"Fn::GetAtt": ["BillDocumentsBucket", "Arn"]}
    retain = "Retain" if stage.retain_data else "Delete"
    return {
        "BillDocumentsBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": retain,
                                "UpdateReplacePolicy": retain, "Properties": {
            "BucketName": bill_documents_bucket(stage),
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True, "BlockPublicPolicy": True,
                "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        }},
        "BillDocumentsBucketPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "Bucket": {"Ref": "BillDocumentsBucket"},
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [bucket_arn, {"Fn::Join": ["", [bucket_arn, "/*"]]}],
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]},
        }},
    }


def site_resources(stage: StageConfig) -> dict[str, Any]:
    bucket_arn = {"Fn::GetAtt": ["SiteBucket", "Arn"]}
    objects = {"Fn::Join": ["", [bucket_arn, "/*"]]}
    return {
        "SiteBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Delete",
                       "UpdateReplacePolicy": "Delete", "Properties": {
            # Bucket names are global: the account id keeps the name unique.
            "BucketName": sub(f"{stage.name_of('site')}-${{AWS::AccountId}}"),
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True, "BlockPublicPolicy": True,
                "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
            "VersioningConfiguration": {"Status": "Enabled"},
            "LifecycleConfiguration": {"Rules": [{
                "Id": "ForgetOldSiteVersions", "Status": "Enabled",
                "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}]},
        }},
        "SiteBucketPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "Bucket": {"Ref": "SiteBucket"},
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [bucket_arn, objects],
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
                {"Fn::If": ["WithCdn", {
                    "Sid": "OnlyOurDistributionReadsObjects", "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject", "Resource": objects,
                    "Condition": {"StringEquals": {"AWS:SourceArn": sub(
                        "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:"
                        "distribution/${SiteDistribution}")}}},
                    {"Ref": "AWS::NoValue"}]},
            ]},
        }},
        "SiteOriginAccessControl": {
            "Type": "AWS::CloudFront::OriginAccessControl", "Condition": "WithCdn",
            "Properties": {"OriginAccessControlConfig": {
                "Name": stage.name_of("site"),
                "OriginAccessControlOriginType": "s3",
                "SigningBehavior": "always", "SigningProtocol": "sigv4"}}},
        "SiteIndexRewrite": {
            "Type": "AWS::CloudFront::Function", "Condition": "WithCdn",
            "Properties": {"Name": stage.name_of("site-index"), "AutoPublish": True,
                           "FunctionConfig": {"Comment": "folder URLs -> index.html",
                                              "Runtime": "cloudfront-js-2.0"},
                           "FunctionCode": INDEX_REWRITE}},
        "SiteSecurityHeaders": site_headers_policy(stage),
        "SiteDistribution": {
            "Type": "AWS::CloudFront::Distribution", "Condition": "WithCdn",
            "Properties": {"DistributionConfig": {
                "Comment": f"{stage.prefix} customer and admin portal",
                "Enabled": True,
                "HttpVersion": "http2and3",
                # PriceClass_200 includes the edge locations in India.
                "PriceClass": "PriceClass_200",
                "DefaultRootObject": "index.html",
                "Origins": [{
                    "Id": "site",
                    "DomainName": {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]},
                    "OriginAccessControlId": {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]},
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                }],
                "DefaultCacheBehavior": {
                    "TargetOriginId": "site",
                    "ViewerProtocolPolicy": "redirect-to-https",
                    "AllowedMethods": ["GET", "HEAD"],
                    "Compress": True,
                    "CachePolicyId": CACHING_OPTIMIZED,
                    "ResponseHeadersPolicyId": {"Ref": "SiteSecurityHeaders"},
                    "FunctionAssociations": [{
                        "EventType": "viewer-request",
                        "FunctionARN": {"Fn::GetAtt": ["SiteIndexRewrite", "FunctionARN"]}}],
                },
                # A missing object is a 403 from a private bucket: show our 404 page.
                "CustomErrorResponses": [{"ErrorCode": 403, "ResponseCode": 404,
                                          "ResponsePagePath": "/404.html",
                                          "ErrorCachingMinTTL": 60}],
            }},
        },
    }


PARAMETERS: dict[str, Any] = {
    "AlarmEmail": {"Type": "String", "Default": "",
                   "Description": "Who is emailed when a dead-letter queue fills (empty: nobody)"},
    "ManageMailIdentity": {"Type": "String", "Default": "true", "AllowedValues": ["true", "false"],
                           "Description": "Create the SES domain identity of MAIL_FROM here "
                                          "(false if it already exists in the account)"},
    "CreateCdn": {"Type": "String", "Default": "true", "AllowedValues": ["true", "false"],
                  "Description": "Serve the site through CloudFront (false on LocalStack "
                                 "Community, which has no CloudFront)"},
}

CONDITIONS: dict[str, Any] = {
    "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]},
    "WithMailIdentity": {"Fn::Equals": [{"Ref": "ManageMailIdentity"}, "true"]},
    "WithCdn": {"Fn::Equals": [{"Ref": "CreateCdn"}, "true"]},
}


def outputs(stage: StageConfig) -> dict[str, Any]:
    def output(value: Any, description: str, condition: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = {"Description": description, "Value": value}
        if condition:
            result["Condition"] = condition
        return result

    found = {
        "DataKeyArn": output({"Fn::GetAtt": ["DataKey", "Arn"]}, "KMS key of tables and secret"),
        "AlarmTopicArn": output({"Ref": "AlarmTopic"}, "Where DLQ alarms go"),
        "SiteBucketName": output({"Ref": "SiteBucket"}, "Static portal bucket (private)"),
        "SiteUrl": output({"Fn::If": [
            "WithCdn", sub("https://${SiteDistribution.DomainName}"),
            sub("https://${SiteBucket.RegionalDomainName}")]}, "Portal URL"),
        "SiteDistributionId": output({"Ref": "SiteDistribution"}, "CloudFront distribution",
                                     "WithCdn"),
    }
    for secret in SECRETS:
        secret_id = logical_id(secret.logical, "Secret")
        found[f"{secret_id}Arn"] = output({"Ref": secret_id}, secret.description)
    for n in (1, 2, 3):
        found[f"MailDkimRecord{n}"] = output(
            {"Fn::Join": [" CNAME ", [{"Fn::GetAtt": ["MailIdentity", f"DkimDNSTokenName{n}"]},
                                       {"Fn::GetAtt": ["MailIdentity", f"DkimDNSTokenValue{n}"]}]]},
            "DNS record that verifies the mail domain for SES", "WithMailIdentity")
    return found


def render(stage: StageConfig) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    resources.update(key_resources(stage))
    for definition in TABLES:
        resources[logical_id(definition.logical, "Table")] = table_resource(definition, stage)
    for queue_definition in QUEUES:
        resources.update(queue_resources(queue_definition, stage))
    resources.update(alarm_resources(stage))
    resources.update(observability_resources(stage))  # alarms and the dashboard
    resources.update(secret_resources(stage))
    resources.update(mail_resources(stage))
    resources.update(site_resources(stage))
    resources.update(bill_documents_resources(stage))
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"IoT billing {stage.name}: tables, queues, key, secret, site "
                       "(rendered from functions/core/resources.py by infra/resources_template.py)",
        "Parameters": PARAMETERS,
        "Conditions": CONDITIONS,
        "Resources": resources,
        "Outputs": outputs(stage),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Print the resources stack template.")
    parser.add_argument("--stage", default="dev")
    args = parser.parse_args()
    print(json.dumps(render(stage_config(args.stage)), indent=2))


if __name__ == "__main__":
    main()
