"""Least-privilege IAM, one policy per Lambda function.

``FUNCTION_ACCESS`` says which tables (and how), queues, secrets and mail
services each function reaches; ``policy_document`` turns that into the IAM
policy that ``infra.package`` hands to ``chalice package`` (one role per
function). Every resource is named: tables, their indexes, queues, the log
group, the secret and the KMS key. The one exception is SMS through SNS,
which AWS only authorises on Resource "*" (see ``SMS_STATEMENT``).

A function whose code starts touching another table needs a one-line change
here; tests/unit/test_infra_iam.py checks the names against resources.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.core.resources import QUEUES, TABLES, queue, table
from infra.stages import FUNCTIONS, SECRETS, StageConfig, bill_documents_bucket

# Access levels on a table (and its indexes).
LOOKUP = ("dynamodb:GetItem",)
READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query",
        "dynamodb:ConditionCheckItem")
READ_WRITE = (*READ, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem")
FULL = (*READ_WRITE, "dynamodb:DeleteItem", "dynamodb:Scan")

# What Lambda's SQS event source mapping needs from the function's role to
# poll a queue, and what a producer needs to find and send to one.
CONSUME = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
           "sqs:GetQueueAttributes")
SEND = ("sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes")

ALL_TABLES = tuple(t.logical for t in TABLES)


@dataclass(frozen=True)
class FunctionAccess:
    tables: dict[str, tuple[str, ...]]  # logical table -> allowed actions
    send_to: tuple[str, ...] = ()       # logical queues it sends to
    consumes: tuple[str, ...] = ()      # logical queues it is triggered by
    secrets: tuple[str, ...] = ()       # logical secrets it reads (infra/stages.py SECRETS)
    rotates: tuple[str, ...] = ()       # ... and those it writes a new version of
    email: bool = False                 # SES SendEmail from MAIL_FROM
    sms: bool = False                   # SNS SMS publish
    health: bool = False                # DescribeTable / GetQueueUrl on everything (/health)
    keyed_select: tuple[str, ...] = ()  # logical tables it reads with a PartiQL SELECT on
    #                                     partition keys (never a full table scan)
    bill_documents: bool = False        # bill PDFs: S3 Get/Put under bills/ of its bucket


FUNCTION_ACCESS: dict[str, FunctionAccess] = {
    # Every HTTP route: accounts, properties, meters, runs, readings, bills,
    # payments, tickets. It starts runs (fanout) and queues verified readings.
    "api_handler": FunctionAccess(
        tables=dict.fromkeys(ALL_TABLES, FULL),
        send_to=("run_steps", "readings", "notifications", "overdue_steps"),
        secrets=("server_key", "payment_gateway"), email=True, sms=True, health=True,
        rotates=("server_key",),  # POST /admin/server-keys/rotate
        bill_documents=True,  # GET /bills/{id}/pdf: made once, stored, presigned
    ),
    # Resolves a bearer token to its session: one GetItem, nothing else.
    "session_authorizer": FunctionAccess(tables={"sessions": LOOKUP}),
    # Builds and sends read requests: looks meters up, records each request's
    # nonce, counts progress with the batch's done-marker; signs with the server key.
    "iot_fanout": FunctionAccess(
        tables={"meters": READ, "read_requests": READ_WRITE, "billing_runs": READ,
                "run_counters": READ_WRITE, "run_slices": READ_WRITE},
        consumes=("fanout",), secrets=("server_key",),
    ),
    # A slice of a run's listing or closing: pages one shard's active meters, asks
    # the gaps (fanout) or applies the policy to the silent ones (estimated bills,
    # emailed), writes silent-meter items, counters and the slice's marker, and
    # sends the shard's next slice.
    "run_steps": FunctionAccess(
        tables={"billing_runs": READ_WRITE, "run_counters": READ_WRITE,
                "run_slices": READ_WRITE, "run_silent_meters": FULL, "meters": READ,
                "read_requests": READ, "readings": READ, "bills": READ_WRITE,
                "properties": READ, "tenancies": READ, "tariffs": READ_WRITE, "users": READ,
                "notifications": READ_WRITE,
                "arrears": READ_WRITE,  # an estimate's credit netted against an overdue bill
                # A daily cycle's slice skips the meters read that day; a close slice bills
                # a meter without a usable reading from its billing-date meter-day.
                "meter_days": READ},
        consumes=("run_steps",), send_to=("fanout", "run_steps", "notifications"),
    ),
    # Every 5 minutes: runs whose answer window ended are closed (run_steps does it);
    # it finds them on the open-runs index (Query, no Scan).
    "run_window_sweep": FunctionAccess(
        tables={"billing_runs": READ_WRITE, "run_counters": READ}, send_to=("run_steps",),
    ),
    # Validates and prices readings, writes bills, counts progress, emails the
    # payer; locks the tariff version that priced a bill (tariffs: update).
    "billing": FunctionAccess(
        tables={"readings": READ_WRITE, "bills": READ_WRITE, "run_counters": READ_WRITE,
                "arrears": READ_WRITE,  # a credit netted against an overdue bill (netting.py)
                "tariffs": READ_WRITE, "meters": READ_WRITE, "properties": READ,
                "tenancies": READ, "users": READ, "notifications": READ_WRITE,
                # A daily cycle's readings: meter-day items, the prepaid debit (ledger and
                # account) and, when the balance says so, a relay command to the meter.
                "meter_days": READ_WRITE, "prepaid_accounts": READ_WRITE,
                "prepaid_ledger": READ_WRITE, "meter_commands": READ_WRITE},
        secrets=("server_key",),  # relay commands are signed with the server key
        # The tenancies of a whole SQS batch in one SELECT ... WHERE property_id = ? OR ...
        keyed_select=("tenancies",),
        # The payer's email is an outbox item in the bill's transaction; its key is
        # queued for notification_sender, which alone talks to SES for bills.
        consumes=("readings",), send_to=("notifications",),
    ),
    # 00:30 IST: starts the daily read cycle of the day that ended (32 run_steps slices;
    # reads the day's counters to know a first start from a restart).
    "daily_reads": FunctionAccess(tables={"run_counters": READ}, send_to=("run_steps",)),
    # Daily at midnight IST: queues the overdue sweep, one step per shard (no table).
    "overdue_sweep": FunctionAccess(tables={}, send_to=("overdue_steps",)),
    # A page of one shard's issued past-due bills: each -> overdue with the late surcharge,
    # its payer's arrears and the outbox notice in one transaction; the page's payers in
    # one batch read; the step's done-marker (run_slices); the shard's next page.
    "overdue_steps": FunctionAccess(
        tables={"bills": READ_WRITE, "arrears": READ_WRITE, "users": READ,
                "notifications": READ_WRITE, "run_slices": READ_WRITE},
        consumes=("overdue_steps",), send_to=("overdue_steps", "notifications")),
    # Nightly: lists the gateway's payments and settlements (Razorpay keys), matches
    # them to ours, applies a missed capture once (payment + bill in one transaction,
    # a refund if it cannot apply, the receipt's outbox item) and writes the day's report.
    "payments_reconcile": FunctionAccess(
        tables={"payments": READ_WRITE, "payment_orders": READ_WRITE,
                "payment_refunds": READ_WRITE, "payment_reconciliations": READ_WRITE,
                "bills": READ_WRITE, "users": READ, "notifications": READ_WRITE,
                "arrears": READ_WRITE},  # a settled overdue bill leaves its payer's arrears
        secrets=("payment_gateway",), send_to=("notifications",)),
    # Hands outbox messages to SES (with the configuration set) and SNS (SMS with DLT
    # attributes), each once: claims, marks; reads the suppression list; adds each bill
    # email's outcome to its run's counters.
    "notification_sender": FunctionAccess(
        tables={"notifications": READ_WRITE, "suppressed_addresses": READ,
                "run_counters": READ_WRITE, "bills": READ, "users": READ,
                "properties": READ},
        consumes=("notifications",), email=True, sms=True,
        bill_documents=True),  # the bill email's PDF attachment (made once, kept in S3)
    # SES delivery, bounce and complaint events: records them, suppresses addresses,
    # counts bill emails' events on their runs.
    "notification_events": FunctionAccess(
        tables={"notifications": READ_WRITE, "suppressed_addresses": READ_WRITE,
                "run_counters": READ_WRITE},
        consumes=("notification_events",)),
    # Every 5 minutes: messages left pending go back on the notifications queue.
    "notification_sweep": FunctionAccess(
        tables={"notifications": READ}, send_to=("notifications",)),
    # Every 2 minutes: relay commands not acknowledged are sent again (read on the
    # pending-commands index, updated; the meter's key and endpoint looked up; signed with
    # the server key). An acknowledgement sets the account's relay and reviews it, which
    # may alert (notifications) and sends the next command if the balance says so.
    "command_retry_sweep": FunctionAccess(
        tables={"meter_commands": READ_WRITE, "meters": READ, "prepaid_accounts": READ_WRITE,
                "properties": READ, "users": READ, "notifications": READ_WRITE},
        secrets=("server_key",), send_to=("notifications",)),
}

# SNS authorises SMS to a phone number only on Resource "*": a phone number has
# no ARN and SNS offers no condition key for it (AWS documentation, "Publishing
# to a mobile phone"). The Sid carries the explanation into the template.
SMS_STATEMENT: dict[str, Any] = {
    "Sid": "SmsToPhoneNumbersHasNoArnSoAwsRequiresStarResource",
    "Effect": "Allow",
    "Action": ["sns:Publish"],
    "Resource": "*",
}

# Template parameters the policies refer to (the app template declares them;
# infra.deploy fills them from the resources stack's outputs).
KEY_PARAMETER = "DataKeyArn"
MAIL_FROM_PARAMETER = "MailFrom"


def _arn(service: str, resource: str) -> dict[str, str]:
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:"
                       f"${{AWS::AccountId}}:{resource}"}


def table_arns(stage: StageConfig, logical: str) -> list[dict[str, str]]:
    """The table and each of its indexes, by name (no index wildcard)."""
    name = stage.name_of(table(logical).logical)
    return [_arn("dynamodb", f"table/{name}")] + [
        _arn("dynamodb", f"table/{name}/index/{index.name}") for index in table(logical).indexes]


def queue_arn(stage: StageConfig, logical: str, dlq: bool = False) -> dict[str, str]:
    definition = queue(logical)
    settings = stage.settings()
    name = definition.dlq_physical(settings) if dlq else definition.physical(settings)
    return _arn("sqs", name)


def policy_document(function: str, stage: StageConfig) -> dict[str, Any]:
    """The IAM policy of one function's role, with CloudFormation intrinsics."""
    access = FUNCTION_ACCESS[function]
    statements: list[dict[str, Any]] = [{
        "Sid": "OwnLogGroupOnly",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [_arn("logs", f"log-group:{stage.log_group(function)}:*")],
    }]
    by_actions: dict[tuple[str, ...], list[str]] = {}
    for logical, actions in access.tables.items():
        by_actions.setdefault(actions, []).append(logical)
    for actions, logicals in by_actions.items():
        statements.append({
            "Sid": "Tables" + _level_name(actions),
            "Effect": "Allow",
            # /health describes the tables this statement already names: the action joins
            # it rather than a second list of every table ARN (IAM's inline size limit).
            "Action": [*actions, *(["dynamodb:DescribeTable"] if access.health else [])],
            "Resource": [arn for logical in sorted(logicals) for arn in table_arns(stage, logical)],
        })
    if access.keyed_select:
        statements.append({
            "Sid": "PartiQLSelectByPartitionKeyOnly",
            "Effect": "Allow",
            "Action": ["dynamodb:PartiQLSelect"],
            "Resource": [arn for logical in access.keyed_select
                         for arn in table_arns(stage, logical)],
            "Condition": {"Bool": {"dynamodb:FullTableScan": "false"}},
        })
    if access.health:
        undescribed = [t.logical for t in TABLES if t.logical not in access.tables]
        statements.append({
            "Sid": "HealthChecksDescribeEveryTableAndQueue",
            "Effect": "Allow",
            "Action": ["dynamodb:DescribeTable", "sqs:GetQueueUrl"],
            "Resource": [_arn("dynamodb", f"table/{stage.name_of(t)}") for t in undescribed]
            + [queue_arn(stage, q.logical, dlq) for q in QUEUES for dlq in (False, True)],
        })
    if access.bill_documents:
        statements.append({
            "Sid": "BillPdfsUnderBillsPrefixOnly", "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": [{"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::"
                                     f"{bill_documents_bucket(stage)['Fn::Sub']}/bills/*"}]})
    if access.send_to:
        statements.append({"Sid": "SendToQueues", "Effect": "Allow", "Action": list(SEND),
                           "Resource": [queue_arn(stage, q) for q in access.send_to]})
    if access.consumes:
        statements.append({"Sid": "ConsumeTriggerQueues", "Effect": "Allow",
                           "Action": list(CONSUME),
                           "Resource": [queue_arn(stage, q) for q in access.consumes]})
    if access.secrets:
        statements += [
            {"Sid": "ReadSecrets", "Effect": "Allow",
             "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
             "Resource": [{"Ref": secret_parameter(s)} for s in access.secrets]},
            # Secrets are encrypted with the stack's KMS key; it is usable only
            # on behalf of Secrets Manager (a new version needs a data key).
            {"Sid": "UseKeyOnlyViaSecretsManager", "Effect": "Allow",
             "Action": ["kms:Decrypt", *(["kms:GenerateDataKey"] if access.rotates else [])],
             "Resource": [{"Ref": KEY_PARAMETER}],
             "Condition": {"StringEquals": {"kms:ViaService": {
                 "Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}}},
        ]
    if access.rotates:
        statements.append({"Sid": "WriteNewSecretVersions", "Effect": "Allow",
                           "Action": ["secretsmanager:PutSecretValue"],
                           "Resource": [{"Ref": secret_parameter(s)} for s in access.rotates]})
    if access.email:
        mail_from = {"Ref": MAIL_FROM_PARAMETER}
        domain = {"Fn::Select": [1, {"Fn::Split": ["@", mail_from]}]}
        statements.append({
            "Sid": "SendEmailFromTheBillingAddressOnly",
            "Effect": "Allow",
            "Action": ["ses:SendEmail"],
            # SES checks the identity that sends (the address or its verified domain)
            # and the configuration set named in the call (delivery events).
            "Resource": [_ses_identity(mail_from), _ses_identity(domain),
                         _arn("ses", f"configuration-set/{stage.name_of('mail')}")],
            "Condition": {"StringEquals": {"ses:FromAddress": mail_from}},
        })
    if access.sms:
        statements.append(dict(SMS_STATEMENT))
    return {"Version": "2012-10-17", "Statement": statements}


# IAM's size limits: a role's inline policies share 10,240 characters, a customer-managed
# policy holds 6,144. The table statements name every table and every index (no
# `index/*`), which outgrew the API's inline policy, so they go to managed policies of at
# most this many ARNs each (about 100 characters an ARN once resolved).
TABLE_ARNS_PER_MANAGED_POLICY = 45


def split_policy(document: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the inline policy, the managed policies): the same statements, the table ones cut
    into parts of at most TABLE_ARNS_PER_MANAGED_POLICY ARNs, packed into as few
    managed policies as hold them."""
    limit = TABLE_ARNS_PER_MANAGED_POLICY
    inline, parts = [], []
    for statement in document["Statement"]:
        if not statement["Sid"].startswith("Tables"):
            inline.append(statement)
            continue
        resources = statement["Resource"]
        for start in range(0, len(resources), limit):
            parts.append({**statement, "Sid": statement["Sid"] + (
                f"Part{start // limit + 1}" if len(resources) > limit else ""),
                "Resource": resources[start:start + limit]})
    managed: list[list[dict[str, Any]]] = []
    for part in parts:  # first fit
        home = next((m for m in managed if sum(len(s["Resource"]) for s in m)
                     + len(part["Resource"]) <= limit), None)
        if home is None:
            managed.append([part])
        else:
            home.append(part)
    version = document["Version"]
    return ({"Version": version, "Statement": inline},
            [{"Version": version, "Statement": statements} for statements in managed])


def secret_parameter(logical: str) -> str:
    """server_key -> ServerKeySecretArn: the app template parameter with its ARN."""
    return "".join(part.capitalize() for part in logical.split("_")) + "SecretArn"


def _ses_identity(identity: Any) -> dict[str, Any]:
    return {"Fn::Sub": ["arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:"
                        "identity/${Identity}", {"Identity": identity}]}


def _level_name(actions: tuple[str, ...]) -> str:
    names = {LOOKUP: "Lookup", READ: "Read", READ_WRITE: "ReadWrite", FULL: "Full"}
    return names.get(actions, "Custom")


def check_functions(app_functions: set[str]) -> None:
    """Every function the app defines has a policy here, and nothing else does."""
    missing = app_functions - set(FUNCTION_ACCESS)
    if missing:
        raise ValueError(f"functions without an IAM policy in infra/iam.py: {sorted(missing)}")
    secrets = {s.logical for s in SECRETS}
    for function, access in FUNCTION_ACCESS.items():
        if (set(access.secrets) | set(access.rotates)) - secrets:
            raise ValueError(f"{function} reads secrets infra/stages.py does not define")
    unknown = set(FUNCTION_ACCESS) - set(FUNCTIONS)
    if unknown:
        raise ValueError(f"infra/iam.py has policies for unknown functions: {sorted(unknown)}")
