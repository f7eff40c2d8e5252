"""Every Blueprint of the API, in registration order. app.py registers them."""

from __future__ import annotations

from chalice import Blueprint

from functions.api import (
    accounts,
    admin_users,
    bills,
    device,
    http,
    meters,
    notifications,
    payments,
    prepaid,
    properties,
    runs,
    system,
    tariffs,
    tickets,
)
from functions.billing import handler as billing
from functions.billing import schedules as billing_schedules
from functions.command_retries import handler as command_retries
from functions.core.settings import get_settings
from functions.iot_fanout import handler as iot_fanout
from functions.notifications import handler as notification_functions
from functions.run_steps import handler as run_steps


def all_blueprints() -> list[Blueprint]:
    return [http.auth_blueprint, system.bp, properties.bp, tariffs.bp, tickets.bp,
            accounts.bp, admin_users.bp, meters.bp, device.bp, payments.bp, prepaid.bp,
            iot_fanout.bp, run_steps.bp, billing.bp, billing_schedules.bp, bills.bp, runs.bp,
            notifications.bp, notification_functions.bp, command_retries.bp,
            *local_only_blueprints()]


def local_only_blueprints(stage: str | None = None) -> list[Blueprint]:
    """Developer tools that must not exist outside the local stage."""
    if (stage or get_settings().stage) != "local":
        return []
    from functions.api import outbox, sandbox_gateway

    return [outbox.bp, sandbox_gateway.bp]
