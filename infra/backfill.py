"""Give items written by an older release the index keys this release writes on save.

    APP_STAGE=prod RESOURCE_PREFIX=iotbill-prod python -m infra.backfill [--table properties]
        [--start '<cursor printed by an earlier run>'] [--page 500]

This release lists properties, tickets, billing runs, prepaid ledger entries, negative
prepaid balances, relay commands and meters (the admin's list) through indexes whose key
attributes every new save sets (a model's `serialize`, the ledger's append, a command's
issue or acknowledgement).
Items saved before it have no such attribute, so they are missing from the lists until
this runs once after the deploy (docs/runbook.md section 9). It is an operator's
migration, not a request path: it reads each table page by page (Scan, `--page` items at
a time), prints a resumable cursor after every page, and sets only a missing key
attribute, under a condition that it is still missing and that what the key is derived
from is unchanged, so a save racing with it wins and a second run changes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.models import Model


@dataclass(frozen=True)
class Backfill:
    table: str
    model: Callable[[], type[Model]]  # imported late: models read the environment
    keys: tuple[str, ...]  # the index key attributes `serialize`/`derive` sets
    guards: tuple[str, ...] = ()  # what those keys are derived from, when it can change
    derive: Callable[[Any], None] | None = None  # sets the keys (default: serialize)


def _properties() -> type[Model]:
    from functions.core.properties.models import PropertyRecord
    return PropertyRecord


def _tickets() -> type[Model]:
    from functions.core.tickets.models import TicketRecord
    return TicketRecord


def _runs() -> type[Model]:
    from functions.core.runs.models import BillingRunRecord
    return BillingRunRecord


def _ledger() -> type[Model]:
    from functions.core.prepaid.models import LedgerEntryRecord
    return LedgerEntryRecord


def _posted_key(entry: Any) -> None:
    from functions.core.prepaid.models import posted_key
    entry.posted_key = posted_key(entry)


def _accounts() -> type[Model]:
    from functions.core.prepaid.models import PrepaidAccountRecord
    return PrepaidAccountRecord


def _negative_shard(account: Any) -> None:
    """Only a balance below 0 belongs on the admin's negative-balances index."""
    from functions.core.shards import sharded
    if int(account.balance_paise) < 0:
        account.negative_shard = sharded("negative", account.connection_id)


def _commands() -> type[Model]:
    from functions.core.meters.commands import MeterCommandRecord
    return MeterCommandRecord


def _command_state(command: Any) -> None:
    """Pending: due at its attempt's expiry (the retry sweep's read); else when done."""
    from functions.core.crypto import format_timestamp
    from functions.core.meters.commands import ACKED, state_key, state_sort
    done = command.acked_at if command.status == ACKED and command.acked_at else None
    command.state_shard = state_key(command.status, command.command_id)
    command.state_at = state_sort(format_timestamp(done) if done else command.expires_at,
                                  command.command_id)


def _meters() -> type[Model]:
    from functions.core.meters.models import MeterRecord
    return MeterRecord


def _meter_keys(meter: Any) -> None:
    """The admin list's keys (by_recent, by_serial); the table's serial and public-key
    guard items are no meters and get none."""
    from functions.core.meters.models import PUBKEY_GUARD_PREFIX, SERIAL_GUARD_PREFIX
    if meter.meter_id.startswith((SERIAL_GUARD_PREFIX, PUBKEY_GUARD_PREFIX)):
        return
    meter.serialize(null_check=False)


BACKFILLS: tuple[Backfill, ...] = (
    Backfill("properties", _properties, ("list_shard",)),
    Backfill("tickets", _tickets, ("list_shard",)),
    Backfill("billing_runs", _runs, ("list_key", "open_key"), guards=("status", "started_at")),
    Backfill("prepaid_ledger", _ledger, ("posted_key",), derive=_posted_key),
    Backfill("prepaid_accounts", _accounts, ("negative_shard",), guards=("balance_paise",),
             derive=_negative_shard),
    Backfill("meter_commands", _commands, ("state_shard", "state_at"),
             guards=("status", "nonce"), derive=_command_state),
    Backfill("meters", _meters, ("list_shard", "status_list", "list_sort", "serial_key"),
             guards=("status",), derive=_meter_keys),
)


@dataclass
class Progress:
    scanned: int = 0
    updated: int = 0


def backfill(spec: Backfill, start: dict[str, Any] | None = None, page: int = 500
             ) -> Iterator[tuple[Progress, dict[str, Any] | None]]:
    """Yield the running counts and the cursor after each page (None: table done)."""
    model = spec.model()
    progress = Progress()
    cursor = start
    while True:
        result = model.scan(limit=page, last_evaluated_key=cursor)
        for item in result:
            progress.scanned += 1
            progress.updated += _fill(spec, model, item)
        cursor = result.last_evaluated_key
        yield progress, cursor
        if cursor is None:
            return


def _fill(spec: Backfill, model: type[Model], item: Any) -> int:
    missing = [name for name in spec.keys if getattr(item, name) is None]
    if not missing:
        return 0
    if spec.derive is not None:
        spec.derive(item)
    else:
        item.serialize(null_check=False)  # only the keys matter here
    actions = [getattr(model, name).set(getattr(item, name)) for name in missing
               if getattr(item, name) is not None]
    if not actions:
        return 0  # e.g. a closed run: it belongs in no open-runs index
    condition = None
    for name in missing:
        condition = _and(condition, getattr(model, name).does_not_exist())
    for name in spec.guards:
        value = getattr(item, name)
        attribute = getattr(model, name)
        condition = _and(condition, attribute.does_not_exist() if value is None
                         else attribute == value)
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return 0  # saved meanwhile by the app, which set the keys itself
        raise
    return 1


def _and(left: Any, right: Any) -> Any:
    return right if left is None else left & right


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.backfill", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", choices=[b.table for b in BACKFILLS], action="append",
                        help="only this table (repeatable; default: all)")
    parser.add_argument("--start", help="resume one --table from the cursor a run printed")
    parser.add_argument("--page", type=int, default=500, help="items per Scan page")
    args = parser.parse_args(argv)
    chosen = [b for b in BACKFILLS if not args.table or b.table in args.table]
    if args.start and len(chosen) != 1:
        parser.error("--start resumes one table: name it with --table")
    start = json.loads(args.start) if args.start else None
    for spec in chosen:
        progress = Progress()
        for progress, cursor in backfill(spec, start, args.page):
            print(f"{spec.table}: scanned {progress.scanned}, updated {progress.updated}"
                  + (f", resume with --table {spec.table} --start '{json.dumps(cursor)}'"
                     if cursor else ", done"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
