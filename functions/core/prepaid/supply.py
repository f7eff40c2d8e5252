"""Supply control for prepaid connections over the meter channel (meters/commands.py).

One command at a time per connection: the account's `pending_command` is claimed with
a conditional write before a command is sent, so concurrent reviews (a recharge and a
daily run at once) send one. The command's acknowledgement sets the account's relay and
releases the claim. An unacknowledged command is retried at the next review of the
account and by the retry sweep (`retry_due`, every 2 minutes: functions/command_retries),
which reads only the pending commands that are due, a bounded page per shard; a command
failed after its last attempt releases the claim too (the next review may send anew)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from functions.core.clock import utcnow
from functions.core.logs import logger
from functions.core.meters.commands import (
    PENDING,
    Ack,
    MeterCommandRecord,
    MeterCommands,
    new_command_id,
)
from functions.core.prepaid.models import PrepaidAccountRecord
from functions.core.prepaid.repository import AccountRepository
from functions.core.shards import RUN_SHARDS

# One sweep: at most 8 due commands per shard (256), sent 8 at a time, none started after
# 60 s (a delivery waits at most 13 s); what is left stays due for the next tick.
SWEEP_PER_SHARD = 8
SWEEP_WORKERS = 8
SWEEP_SECONDS = 60.0


class MeterSupply:
    def __init__(self, accounts: AccountRepository | None = None,
                 commands: MeterCommands | None = None,
                 after_ack: Callable[[str], object] | None = None) -> None:
        self.accounts = accounts or AccountRepository()
        self.commands = commands or MeterCommands()
        self.commands.on_ack = self._acked
        self.after_ack = after_ack

    def send(self, account: PrepaidAccountRecord, operation: str) -> str | None:
        if not account.meter_id:
            logger.warning("prepaid connection without a meter: no relay command",
                           extra={"connection_id": account.connection_id})
            return None
        if account.pending_command:
            self.retry(account)
            return None
        command_id = new_command_id()
        if not self.accounts.update(
                account.connection_id, [PrepaidAccountRecord.pending_command.set(command_id)],
                PrepaidAccountRecord.pending_command.does_not_exist()):
            return None  # another review sent one just now
        self.commands.issue(account.meter_id, operation, account.connection_id,
                            command_id=command_id)
        return command_id

    def retry(self, account: PrepaidAccountRecord) -> None:
        if account.pending_command:
            record = self.commands.retry(account.pending_command)
            if record.status != "pending":  # acked or failed: the claim goes
                self._release(account.connection_id, record)

    def retry_due(self, now: datetime | None = None, per_shard: int = SWEEP_PER_SHARD,
                  budget_seconds: float = SWEEP_SECONDS) -> dict[str, int]:
        """Send again the pending commands whose next attempt is due (each only if no one
        retried it since it was read): counts by outcome ("pending": not acknowledged
        yet, "acked", "failed", "left": over the time budget, for the next tick)."""
        cutoff = now or utcnow()
        due = [record for shard in range(RUN_SHARDS)
               for record in self.commands.due(shard, cutoff, per_shard)]
        started = time.monotonic()

        def one(record: MeterCommandRecord) -> str:
            if time.monotonic() - started > budget_seconds:
                return "left"
            after = self.commands.retry(record.command_id, seen_nonce=record.nonce)
            if after.status != PENDING and after.connection_id:
                self._release(after.connection_id, after)  # no-op if the ack released it
            return str(after.status)

        with ThreadPoolExecutor(max_workers=SWEEP_WORKERS) as pool:
            outcomes = Counter(pool.map(one, due))
        return {"due": len(due), **outcomes}

    def _acked(self, record: MeterCommandRecord, ack: Ack) -> None:
        if record.connection_id is None:
            return
        self.accounts.update(record.connection_id,
                             [PrepaidAccountRecord.relay.set(ack.relay),
                              PrepaidAccountRecord.pending_command.remove()],
                             PrepaidAccountRecord.pending_command == record.command_id)
        if self.after_ack is not None:
            self.after_ack(record.connection_id)  # the balance may have moved meanwhile

    def _release(self, connection_id: str, record: MeterCommandRecord) -> None:
        actions: list[Any] = [PrepaidAccountRecord.pending_command.remove()]
        if record.relay:
            actions.append(PrepaidAccountRecord.relay.set(record.relay))
        self.accounts.update(connection_id, actions,
                             PrepaidAccountRecord.pending_command == record.command_id)
