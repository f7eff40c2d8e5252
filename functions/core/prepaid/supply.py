"""Supply control for prepaid connections over the meter channel (meters/commands.py).

One command at a time per connection: the account's `pending_command` is claimed with
a conditional write before a command is sent, so concurrent reviews (a recharge and a
daily run at once) send one. The command's acknowledgement sets the account's relay and
releases the claim; an unacknowledged command is retried at the next review."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from functions.core.logs import logger
from functions.core.meters.commands import Ack, MeterCommandRecord, MeterCommands, new_command_id
from functions.core.prepaid.models import PrepaidAccountRecord
from functions.core.prepaid.repository import AccountRepository


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
