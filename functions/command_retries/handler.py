"""command_retry_sweep (every 2 minutes): relay commands (disconnect, reconnect) whose
meter did not acknowledge are sent again once their next attempt is due, with a fresh
nonce and the same command id; after the last attempt a command is failed and shows in
the admin's failed list. It reads only the pending commands that are due (the sparse
by_state index of meter_commands, a bounded page per shard) and stops starting new
deliveries after a time budget: what is left stays due for the next tick
(functions/core/prepaid/supply.py MeterSupply.retry_due)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate

from functions.core.logs import logger

bp = Blueprint(__name__)


def sweep() -> dict[str, int]:
    from functions.core.prepaid.service import PrepaidService
    from functions.core.prepaid.supply import MeterSupply

    # Wired as the reviews are: an acknowledgement sets the relay, then reviews the account.
    supply = PrepaidService.default().supply
    assert isinstance(supply, MeterSupply)
    outcome = supply.retry_due()
    if outcome.get("due"):
        logger.info("relay commands retried", extra=outcome)
    return outcome


@bp.schedule(Rate(2, unit=Rate.MINUTES), name="command_retry_sweep",
             description="Send again the relay commands not acknowledged (failed after the "
                         "last attempt)")
def command_retry_sweep(event: Any) -> dict[str, int]:
    return sweep()
