"""What billing N meters a month costs on AWS, from the AWS calls per billed meter.

    python -m infra.cost [--meters 1000000] [--measured bench.json]

The calls per billed meter come from the design targets below until `make
bench` has measured them; ``--measured`` takes the bench's figures as JSON,
``{"dynamodb": 4.1, "sqs": 1.2, "ses": 1.0, "secretsmanager": 0.001}`` (calls
per billed meter by service), and scales each service's line to them
(capacity units per call stay as modelled). docs/cost-estimate.md shows this
module's output; a unit test keeps the two equal.

Prices: AWS public prices for Asia Pacific (Mumbai), ap-south-1, in USD, as
known in mid-2025 (DynamoDB on-demand after the November 2024 price cut),
without free tiers or taxes. Check the pricing pages before quoting them.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

MILLION = 1_000_000

PRICES = {
    "dynamodb_wru": 0.7125 / MILLION,   # on-demand write request unit
    "dynamodb_rru": 0.1425 / MILLION,   # on-demand read request unit
    "dynamodb_gb_month": 0.285,         # standard table class storage
    "pitr_gb_month": 0.228,             # continuous backups
    "sqs_request": 0.40 / MILLION,      # standard queue, per 64 KiB request
    "lambda_request": 0.20 / MILLION,
    "lambda_gb_second": 0.0000166667,   # x86_64
    "api_gateway_request": 3.50 / MILLION,  # REST API, first 333 million
    "ses_email": 0.10 / 1000,
    "secretsmanager_call": 0.05 / 10_000,
    "secret_month": 0.40,
    "kms_key_month": 1.00,
    "kms_request": 0.03 / 10_000,
    "logs_gb_ingested": 0.67,
    "alarm_month": 0.10,
    "internet_egress_gb": 0.1093,       # first 10 TB out of ap-south-1
}


@dataclass(frozen=True)
class Operation:
    """One kind of AWS call our code makes, per billed meter (design target)."""

    what: str
    service: str
    calls: float
    rru: float = 0.0  # read request units per call
    wru: float = 0.0  # write request units per call (GSI copies included)


# Per billed meter. GSIs use ALL projections, so a write to an indexed table is
# paid once more per index; a transaction pays its base-table writes twice.
DESIGN_TARGET: tuple[Operation, ...] = (
    Operation("reading endpoint: look up the outstanding request (GetItem)", "dynamodb", 1,
              rru=1),
    # request (1 KB, 1 GSI) + meter (1 KB, 2 GSIs) + raw reading (2 KB, 1 GSI)
    Operation("reading endpoint: consume request, advance meter, store reading (one "
              "TransactWriteItems of 3 items)", "dynamodb", 1,
              wru=(2 * 1 + 1) + (2 * 1 + 2) + (2 * 2 + 2)),
    Operation("billing: write the bill, conditional PutItem (~3 KB, 4 GSIs)", "dynamodb", 1,
              wru=3 * (1 + 4)),
    Operation("fan-out and billing, batched and amortised: meters, properties, users, "
              "tenancies, readings (BatchGet/Query), request records and verdicts "
              "(BatchWrite), run counters", "dynamodb", 1, rru=3, wru=1 * 2 + 2 * 2 + 0.2),
    Operation("reading endpoint: the verified reading onto the readings queue", "sqs", 1),
    Operation("billing: the bill email (SES SendEmail)", "ses", 1),
)


@dataclass(frozen=True)
class LambdaUse:
    function: str
    invocations_per_meter: float
    memory_gb: float
    seconds: float  # billed duration per invocation


LAMBDA = (
    LambdaUse("api_handler (reading endpoint)", 1, 0.5, 0.08),
    LambdaUse("iot_fanout (100 meters per batch)", 0.01, 1.0, 3.0),
    LambdaUse("billing (10 readings per batch)", 0.1, 1.0, 0.6),
)

# Not calls of our code, but billed per meter all the same.
SQS_POLLING_PER_METER = 0.22  # Lambda's pollers: receive + delete per batch, fan-out too
API_REQUESTS_PER_METER = 1    # the meter's POST of its reading
EGRESS_KB_PER_METER = 2.0     # the read request to the meter, over the internet
LOG_KB_PER_METER = 1.5        # structured JSON lines of the three functions
STORED_KB_PER_METER = 7.0     # request, raw reading and bill kept (+ index copies)
FIXED = {"KMS key": PRICES["kms_key_month"], "2 secrets": 2 * PRICES["secret_month"],
         "2 DLQ alarms": 2 * PRICES["alarm_month"]}


@dataclass(frozen=True)
class Line:
    service: str
    usage: str
    usd: float


def scaled(operations: tuple[Operation, ...], measured: dict[str, float] | None
           ) -> tuple[Operation, ...]:
    """Replace the design calls per service by measured ones, keeping units per call."""
    if not measured:
        return operations
    by_service: dict[str, float] = defaultdict(float)
    for op in operations:
        by_service[op.service] += op.calls
    return tuple(replace(op, calls=op.calls * measured.get(op.service, by_service[op.service])
                         / by_service[op.service]) for op in operations)


def estimate(meters: int, measured: dict[str, float] | None = None) -> list[Line]:
    ops = scaled(DESIGN_TARGET, measured)
    calls: dict[str, float] = defaultdict(float)
    for op in ops:
        calls[op.service] += op.calls
    rru = sum(op.calls * op.rru for op in ops) * meters
    wru = sum(op.calls * op.wru for op in ops) * meters
    stored_gb = STORED_KB_PER_METER * meters / 1e6
    invocations = sum(use.invocations_per_meter for use in LAMBDA) * meters
    gb_seconds = sum(use.invocations_per_meter * use.memory_gb * use.seconds
                     for use in LAMBDA) * meters
    sqs = (calls["sqs"] + SQS_POLLING_PER_METER) * meters
    secrets_calls = (measured or {}).get("secretsmanager", 0.0) * meters
    return [
        Line("DynamoDB", f"{calls['dynamodb']:.1f} calls/meter: {wru / 1e6:,.1f} M WRU, "
             f"{rru / 1e6:,.1f} M RRU",
             wru * PRICES["dynamodb_wru"] + rru * PRICES["dynamodb_rru"]),
        Line("DynamoDB storage + PITR", f"+{stored_gb:,.1f} GB a month (grows)",
             stored_gb * (PRICES["dynamodb_gb_month"] + PRICES["pitr_gb_month"])),
        Line("SQS", f"{sqs / 1e6:,.2f} M requests (incl. Lambda's pollers)",
             sqs * PRICES["sqs_request"]),
        Line("Lambda", f"{invocations / 1e6:,.2f} M invocations, {gb_seconds:,.0f} GB-s",
             invocations * PRICES["lambda_request"] + gb_seconds * PRICES["lambda_gb_second"]),
        Line("API Gateway", f"{API_REQUESTS_PER_METER * meters / 1e6:,.1f} M requests",
             API_REQUESTS_PER_METER * meters * PRICES["api_gateway_request"]),
        Line("SES", f"{calls['ses'] * meters:,.0f} emails", calls["ses"] * meters
             * PRICES["ses_email"]),
        Line("Secrets Manager", "key cached per container: ~0 calls/meter",
             secrets_calls * PRICES["secretsmanager_call"]),
        Line("Data transfer out", f"{EGRESS_KB_PER_METER * meters / 1e6:,.1f} GB to meters",
             EGRESS_KB_PER_METER * meters / 1e6 * PRICES["internet_egress_gb"]),
        Line("CloudWatch Logs", f"{LOG_KB_PER_METER * meters / 1e6:,.1f} GB ingested",
             LOG_KB_PER_METER * meters / 1e6 * PRICES["logs_gb_ingested"]),
        Line("Fixed", ", ".join(FIXED), sum(FIXED.values())),
    ]


def calls_per_meter(measured: dict[str, float] | None = None) -> dict[str, float]:
    found: dict[str, float] = defaultdict(float)
    for op in scaled(DESIGN_TARGET, measured):
        found[op.service] += op.calls
    return dict(found)


def calls_table(measured: dict[str, float] | None = None) -> str:
    """Calls per billed meter, by operation, with the capacity units each costs."""
    rows = ["| service | call | calls per billed meter | RRU per call | WRU per call |",
            "| --- | --- | ---: | ---: | ---: |"]
    ops = scaled(DESIGN_TARGET, measured)
    rows += [f"| {op.service} | {op.what} | {op.calls:g} | {op.rru:g} | {op.wru:g} |"
             for op in ops]
    rows.append(f"| **all** | | **{sum(op.calls for op in ops):g}** | | |")
    return "\n".join(rows)


def markdown(meters: int, measured: dict[str, float] | None = None) -> str:
    lines = estimate(meters, measured)
    total = sum(line.usd for line in lines)
    rows = ["| service | usage for the month | USD |", "| --- | --- | ---: |"]
    rows += [f"| {line.service} | {line.usage} | {line.usd:,.2f} |" for line in lines]
    rows.append(f"| **Total** | {meters:,} meters billed | **{total:,.2f}** |")
    rows.append(f"| per meter | | {total / meters:.6f} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=MILLION)
    parser.add_argument("--measured", type=Path,
                        help="JSON of calls per billed meter by service, from make bench")
    args = parser.parse_args()
    measured = json.loads(args.measured.read_text()) if args.measured else None
    per_meter = calls_per_meter(measured)
    print(f"AWS calls per billed meter: {sum(per_meter.values()):.2f} "
          + ", ".join(f"{k} {v:.2f}" for k, v in per_meter.items()))
    print(calls_table(measured), end="\n\n")
    print(markdown(args.meters, measured))


if __name__ == "__main__":
    main()
