"""Finish the SAM template that ``chalice package`` writes for the app.

Chalice generates the API, the four functions, their roles and the SQS event
sources. What it does not do, this module adds:

- ``FunctionResponseTypes: [ReportBatchItemFailures]`` on every SQS event
  source (the handlers return ``batchItemFailures``; without this Lambda would
  retry the whole batch) and a ``ScalingConfig`` that bounds concurrency;
- one least-privilege policy per function role (infra/iam.py), named roles,
  named functions (``<prefix>-<function>``) and a log group with retention;
- X-Ray tracing on every function and the API stage (issue 22);
- X-Ray tracing on every function and the API stage (issue 22);
- API Gateway stage throttling;
- the parameters the functions need from the resources stack (secret and key
  ARNs) and from the deployment (mail sender, API and portal URLs).

It also refuses a template that would not work: an SQS event source on a queue
resources.py does not define, a function without a policy, or a function
timeout longer than its queue's visibility timeout (Lambda rejects that).
"""

from __future__ import annotations

import copy
from typing import Any

from chalice.utils import to_cfn_resource_name

from functions.api.http import GATEWAY_ERROR_CODES, SECURITY_HEADERS
from functions.core.resources import QUEUES
from infra.iam import (
    FUNCTION_ACCESS,
    KEY_PARAMETER,
    MAIL_FROM_PARAMETER,
    policy_document,
    secret_parameter,
    split_policy,
)
from infra.stages import FUNCTIONS, SECRETS, StageConfig, bill_documents_bucket

FUNCTION_TYPE = "AWS::Serverless::Function"
XRAY_WRITE_POLICY = "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"
XRAY_WRITE_POLICY = "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"
API_TYPE = "AWS::Serverless::Api"


class TemplateError(ValueError):
    pass


def cfn_function_ids() -> dict[str, str]:
    """CloudFormation logical id -> Chalice function name."""
    ids = {to_cfn_resource_name(name): name for name in FUNCTIONS}
    ids["APIHandler"] = "api_handler"  # Chalice's fixed id for the API's function
    return ids


def parameters(stage: StageConfig) -> dict[str, Any]:
    found: dict[str, Any] = {
        secret_parameter(secret.logical): {
            "Type": "String", "AllowedPattern": "arn:.+:secretsmanager:.+",
            "Description": f"{secret.description} (resources stack output)"}
        for secret in SECRETS
    }
    return found | {
        KEY_PARAMETER: {"Type": "String", "AllowedPattern": "arn:.+:kms:.+",
                        "Description": "KMS key of the secret (resources stack output)"},
        MAIL_FROM_PARAMETER: {"Type": "String", "Default": stage.mail_from,
                              "AllowedPattern": "[^@]+@[^@]+",
                              "Description": "Sender of every email (a verified SES identity)"},
        "ApiBaseUrl": {"Type": "String", "Default": "",
                       "Description": "Public URL of this API, given to meters (empty on the "
                                      "first deploy: infra.deploy sets it from the output)"},
        "PortalOrigin": {"Type": "String", "AllowedPattern": "https?://[^/]+",
                         "Description": "Portal origin (resources stack SiteUrl): the only "
                                        "origin CORS allows; also used in links"},
    }


CONDITIONS = {
    "HasApiBaseUrl": {"Fn::Not": [{"Fn::Equals": [{"Ref": "ApiBaseUrl"}, ""]}]},
}
CORS_ORIGIN_HEADER = "method.response.header.Access-Control-Allow-Origin"


def _optional_env(condition: str, parameter: str) -> dict[str, Any]:
    return {"Fn::If": [condition, {"Ref": parameter}, {"Ref": "AWS::NoValue"}]}


def finish_function(template: dict[str, Any], cfn_id: str, function: str,
                    stage: StageConfig) -> None:
    resources = template["Resources"]
    properties = resources[cfn_id]["Properties"]
    properties["FunctionName"] = stage.function_name(function)
    variables = properties.setdefault("Environment", {}).setdefault("Variables", {})
    variables.update({
        "MAIL_FROM": {"Ref": MAIL_FROM_PARAMETER},
        "API_BASE_URL": _optional_env("HasApiBaseUrl", "ApiBaseUrl"),
        "PORTAL_ORIGIN": {"Ref": "PortalOrigin"},
        "SERVER_KEY_SECRET_NAME": stage.secret_name("server_key"),
        "PAYMENT_GATEWAY_SECRET_NAME": stage.secret_name("payment_gateway"),
        "BILL_DOCUMENTS_BUCKET": bill_documents_bucket(stage),
        "BILL_EMAIL_PDF": "true",
    })

    log_group_id = f"{cfn_id}LogGroup"
    resources[log_group_id] = {
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Retain" if stage.retain_data else "Delete",
        "UpdateReplacePolicy": "Retain" if stage.retain_data else "Delete",
        "Properties": {"LogGroupName": stage.log_group(function),
                       "RetentionInDays": stage.log_retention_days},
    }
    # Created before the function, so Lambda never makes one without retention.
    resources[cfn_id]["DependsOn"] = sorted({*_as_list(resources[cfn_id].get("DependsOn")),
                                             log_group_id})

    role_id = properties["Role"]["Fn::GetAtt"][0]
    role = resources[role_id]
    role["Properties"]["RoleName"] = stage.name_of(function)
    inline, managed = split_policy(policy_document(function, stage))
    role["Properties"]["Policies"] = [{"PolicyName": f"{function}-least-privilege",
                                       "PolicyDocument": inline}]
    # The table statements, in policies of their own (IAM's inline size limit).
    table_policies = []
    for number, document in enumerate(managed, start=1):
        policy_id = f"{role_id}Tables{number}"
        resources[policy_id] = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "ManagedPolicyName": stage.name_of(f"{function}-tables-{number}"),
            "PolicyDocument": document, "Roles": [{"Ref": role_id}]}}
        table_policies.append(policy_id)
    resources[cfn_id]["DependsOn"] = sorted({*_as_list(resources[cfn_id].get("DependsOn")),
                                             *table_policies})
    role["Metadata"] = {"Policy": "infra/iam.py FUNCTION_ACCESS; no '*' except SNS SMS "
                                  "publish, which AWS authorises only on Resource '*'"}
    # X-Ray (issue 22): every function is traced; writing segments is AWS's managed
    # policy (its actions take no resource but '*', kept out of our own statements).
    properties["Tracing"] = "Active"
    role["Properties"]["ManagedPolicyArns"] = sorted({
        *role["Properties"].get("ManagedPolicyArns", []), XRAY_WRITE_POLICY})

    for event in properties.get("Events", {}).values():
        if event["Type"] == "SQS":
            finish_sqs_event(event["Properties"], function, properties["Timeout"], stage)


def finish_sqs_event(event: dict[str, Any], function: str, timeout: int,
                     stage: StageConfig) -> None:
    settings = stage.settings()
    by_name = {q.physical(settings): q for q in QUEUES}
    queue_name = _queue_name(event["Queue"])
    definition = by_name.get(queue_name)
    if definition is None:
        raise TemplateError(f"{function} is triggered by queue {queue_name!r}, which functions/"
                            f"core/resources.py does not define (known: {sorted(by_name)})")
    if definition.logical not in FUNCTION_ACCESS[function].consumes:
        raise TemplateError(f"{function} consumes {definition.logical!r} but infra/iam.py "
                            "does not let it")
    if timeout > definition.visibility_timeout:
        raise TemplateError(f"{function} times out after {timeout}s, longer than the visibility "
                            f"timeout of {queue_name} ({definition.visibility_timeout}s)")
    event["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    event["ScalingConfig"] = {"MaximumConcurrency": stage.queue_concurrency(definition.logical)}


def _queue_name(queue_arn: Any) -> str:
    text = queue_arn["Fn::Sub"] if isinstance(queue_arn, dict) else str(queue_arn)
    return str(text).rsplit(":", 1)[-1]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def finish_api(api: dict[str, Any], stage: StageConfig) -> None:
    properties = api["Properties"]
    _cors_origin_from_parameter(properties["DefinitionBody"])
    properties["Name"] = stage.name_of("api")
    properties["TracingEnabled"] = True  # X-Ray from the gateway into api_handler
    properties["TracingEnabled"] = True  # X-Ray from the gateway into api_handler
    properties["MethodSettings"] = [{
        "ResourcePath": "/*",
        "HttpMethod": "*",
        "ThrottlingRateLimit": stage.api_rate_limit,
        "ThrottlingBurstLimit": stage.api_burst_limit,
    }]
    # API Gateway's own answers (the authorizer's 401, 403, throttling 429, 5xx)
    # must carry the CORS origin too, or the portal cannot read them and never
    # sends an expired session back to sign-in.
    # And the API's security headers (functions/api/http.py), as every route sends them,
    # but the CSP: a static value is quoted in single quotes, which its own would break.
    origin = {"Access-Control-Allow-Origin": {"Fn::Sub": "'${PortalOrigin}'"}}
    security = {name: f"'{value}'" for name, value in SECURITY_HEADERS.items()
                if "'" not in value}
    properties["GatewayResponses"] = {
        kind: {"ResponseParameters": {"Headers": {**origin, **security, **extra}},
               # The API's one error body (ErrorBody in /openapi.json), as the routes send it.
               "ResponseTemplates": {"application/json": (
                   f'{{"error":"{code}","message":$context.error.messageString}}')}}
        for kind, code, extra in (
            ("DEFAULT_4XX", "bad_request", {}),
            ("UNAUTHORIZED", GATEWAY_ERROR_CODES[401], {}),
            ("ACCESS_DENIED", GATEWAY_ERROR_CODES[403], {}),
            ("MISSING_AUTHENTICATION_TOKEN", GATEWAY_ERROR_CODES[403], {}),
            ("THROTTLED", GATEWAY_ERROR_CODES[429], {"Retry-After": "'1'"}),
            ("DEFAULT_5XX", GATEWAY_ERROR_CODES[500], {}))}


def _cors_origin_from_parameter(node: Any) -> None:
    """Chalice writes the CORS origin it saw at packaging time into every
    preflight (OPTIONS) response; the deployed origin comes from PortalOrigin."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == CORS_ORIGIN_HEADER:
                node[key] = {"Fn::Sub": "'${PortalOrigin}'"}
            else:
                _cors_origin_from_parameter(value)
    elif isinstance(node, list):
        for item in node:
            _cors_origin_from_parameter(item)


def finish(sam: dict[str, Any], stage: StageConfig) -> dict[str, Any]:
    """The deployable app template: ``sam`` (Chalice's output) plus all of the above."""
    template = copy.deepcopy(sam)
    template["Description"] = (f"IoT billing {stage.name}: API and functions (chalice package, "
                               "finished by infra/app_template.py)")
    template.setdefault("Parameters", {}).update(parameters(stage))
    template.setdefault("Conditions", {}).update(CONDITIONS)
    ids = cfn_function_ids()
    for cfn_id, resource in list(template["Resources"].items()):
        if resource["Type"] == FUNCTION_TYPE:
            function = ids.get(cfn_id)
            if function is None or function not in FUNCTION_ACCESS:
                raise TemplateError(f"function {cfn_id} has no policy in infra/iam.py "
                                    "FUNCTION_ACCESS (add one; see docs/infra.md)")
            finish_function(template, cfn_id, function, stage)
            template.setdefault("Outputs", {})[f"{cfn_id}FunctionName"] = {
                "Value": stage.function_name(function)}
        elif resource["Type"] == API_TYPE:
            finish_api(resource, stage)
    return template


def missing_functions(template: dict[str, Any], stage: StageConfig) -> list[str]:
    """Functions infra/iam.py expects that the app does not define (yet)."""
    present = set(functions_of(template))
    return [f for f in FUNCTIONS if stage.function_name(f) not in present]


def functions_of(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Function name -> resource, for a finished template."""
    return {r["Properties"]["FunctionName"]: r for r in template["Resources"].values()
            if r["Type"] == FUNCTION_TYPE}
