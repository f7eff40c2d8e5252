"""The admin's prepaid lists (issue 24): connections with a negative balance and relay
commands by state (pending, acked, failed), each a page at a time from a sparse, sharded
index; and the retry sweep, which sends again a command whose meter did not answer and
fails it after the last attempt (the simulated meter of test_prepaid_supply goes offline)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from devstack.event_runner import LambdaContextStub
from functions.core.clock import utcnow
from functions.core.meters.commands import MeterCommandRecord, MeterCommands
from functions.core.prepaid.service import PrepaidService
from functions.core.prepaid.supply import MeterSupply
from tests.integration import test_prepaid_supply
from tests.integration.paging_support import every_page
from tests.integration.test_prepaid_supply import WEEKDAY_NOON, prepaid_connection
from tests.unit.test_infra_iam_audit import denied, recorded_calls

simulated = test_prepaid_supply.simulated  # the fixture: a meter host on 127.0.0.1

SCHEDULED = {"version": "0", "id": "test", "detail-type": "Scheduled Event",
             "source": "aws.events", "time": "2026-12-02T05:30:00Z", "region": "local",
             "account": "000000000000", "resources": [], "detail": {}}


def test_negative_balances_a_page_at_a_time(stack, admin):
    service = PrepaidService(clock=lambda: WEEKDAY_NOON)  # no supply: no relay commands
    expected = {}
    for amount in (-500, -1500, -250, -300, -1500, -700):  # two equal: a tie in the order
        connection = f"prop_neg_{uuid.uuid4().hex[:12]}"
        service.accounts.ensure(connection)
        service.adjust("usr_admin", connection, "use", amount, "a month of use")
        expected[connection] = amount
    recovered = connection  # a recharge takes it back above 0: it leaves the list
    service.recharge(recovered, f"pay_{uuid.uuid4().hex[:10]}", 1000)
    del expected[recovered]
    in_credit = f"prop_pos_{uuid.uuid4().hex[:12]}"  # a debit that leaves it above 0
    service.accounts.ensure(in_credit)
    service.recharge(in_credit, f"pay_{uuid.uuid4().hex[:10]}", 1000)
    service.adjust("usr_admin", in_credit, "use", -300, "a week of use")
    account = service.accounts.get(in_credit)
    assert account is not None and int(account.balance_paise) == 700
    assert account.negative_shard is None  # never on the index: no write for it

    rows, pages = every_page(admin[1], "/admin/negative-balances", "connections", limit=2)
    listed = {row["connection_id"]: row for row in rows}
    assert {c: listed[c]["balance_paise"] for c in expected if c in listed} == expected
    assert recovered not in listed and in_credit not in listed
    assert pages > 1 and len(listed) == len(rows)  # every connection once
    assert all(row["balance_paise"] < 0 for row in rows)
    balances = [row["balance_paise"] for row in rows]  # one order across shards and pages
    assert balances == sorted(balances), balances
    # Other tests on this stack may have disconnected theirs; these were never asked.
    assert all(listed[c]["relay"] == "connected" for c in expected)


def test_relay_command_lists_by_state_a_page_at_a_time(simulated, admin):
    commands, meter = MeterCommands(), simulated["meter"]
    acked = [commands.issue(simulated["meter_id"], op).command_id
             for op in ("disconnect", "reconnect")]
    failed = [commands.issue(f"mtr_gone_{uuid.uuid4().hex[:8]}", "disconnect").command_id
              for _ in range(2)]  # no such meter: given up at once
    meter.configure({"behaviour": "offline"})
    pending = [commands.issue(simulated["meter_id"], "disconnect").command_id
               for _ in range(2)]

    for state, mine in (("acked", acked), ("failed", failed), ("pending", pending)):
        rows, pages = every_page(admin[1], "/admin/relay-commands", "commands",
                                 state=state, limit=1)
        found = {row["command_id"]: row for row in rows if row["command_id"] in mine}
        assert set(found) == set(mine), state
        assert pages > 1 and all(row["status"] == state for row in rows)
        times = [row["state_at"] for row in rows]  # one order across the shards
        assert times == sorted(times, reverse=state != "pending"), state
    for command_id in pending:  # tried once, the meter unreachable
        record = commands.get(command_id)
        assert record is not None and record.attempts == 1 and record.last_error
    bad = admin[1].get("/admin/relay-commands", params={"state": "lost"})
    assert bad.status_code == 400


def due_now(command_id: str) -> None:
    """As if the retry's backoff had passed (the sweep reads state_at <= now)."""
    record = MeterCommandRecord.get(command_id, consistent_read=True)
    record.update(actions=[MeterCommandRecord.state_at.set(
        f"{(utcnow() - timedelta(seconds=5)):%Y-%m-%dT%H:%M:%SZ}#{command_id}")])


def test_the_sweep_resends_until_acknowledged_and_fails_after_the_last_attempt(
        simulated, admin, monkeypatch: pytest.MonkeyPatch):
    from app import app

    meter, connection = simulated["meter"], simulated["connection"]
    service = prepaid_connection(simulated, admin[1])
    supply = service.supply
    assert isinstance(supply, MeterSupply)
    meter.configure({"behaviour": "offline"})
    service.adjust("usr_admin", connection, "use", -20000, "a month of use")
    account = service.accounts.get(connection)
    assert account is not None and account.pending_command and account.relay == "connected"
    command_id = account.pending_command

    def command() -> Any:
        found = MeterCommands().get(command_id)
        assert found is not None
        return found

    assert command().attempts == 1 and command().status == "pending"
    supply.retry_due(per_shard=50)  # its next attempt is not due yet: left alone
    assert command().attempts == 1
    supply.retry_due(now=utcnow() + timedelta(minutes=3), per_shard=50)
    assert command().attempts == 2 and command().status == "pending"  # still offline

    meter.configure({"behaviour": "normal"})  # the meter answers again
    supply.retry_due(now=utcnow() + timedelta(minutes=10), per_shard=50)
    assert command().status == "acked" and command().attempts == 3
    account = service.accounts.get(connection)
    assert account is not None and account.relay == "disconnected"
    assert not account.pending_command and meter.state.relay == "disconnected"

    # A recharge's reconnect to a meter that stays offline: failed after the last attempt,
    # through the scheduled function itself, within its IAM policy.
    monkeypatch.setenv("COMMAND_MAX_ATTEMPTS", "2")
    meter.configure({"behaviour": "offline"})
    service.recharge(connection, f"pay_{uuid.uuid4().hex[:10]}", 40000)
    account = service.accounts.get(connection)
    assert account is not None and account.pending_command
    reconnect = account.pending_command
    due_now(reconnect)
    with recorded_calls() as calls:
        app.handler_map["command_retry_sweep"](SCHEDULED,
                                               LambdaContextStub("command_retry_sweep"))
    assert denied("command_retry_sweep", calls) == []
    failed = MeterCommands().get(reconnect)
    assert failed is not None and failed.status == "failed" and failed.attempts == 2
    account = service.accounts.get(connection)
    assert account is not None and not account.pending_command  # the claim is released
    assert account.relay == "disconnected"
    rows, _ = every_page(admin[1], "/admin/relay-commands", "commands", state="failed")
    assert [r["operation"] for r in rows if r["command_id"] == reconnect] == ["reconnect"]
