"""The local scheduler finds the app's scheduled functions and runs them when due."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from chalice import Chalice, Cron, Rate

from devstack.scheduler import Scheduled, Scheduler, _next_at, schedules_from_app


def test_rates_and_daily_crons_give_their_next_run():
    at = datetime(2026, 12, 7, 18, 29, tzinfo=UTC)
    assert _next_at(Rate(5, unit=Rate.MINUTES))(at) == datetime(2026, 12, 7, 18, 34, tzinfo=UTC)
    daily = _next_at(Cron(30, 18, "*", "*", "?", "*"))
    assert daily(at) == datetime(2026, 12, 7, 18, 30, tzinfo=UTC)
    assert daily(datetime(2026, 12, 7, 18, 30, tzinfo=UTC)) == \
        datetime(2026, 12, 8, 18, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        _next_at(Cron(0, 0, "1", "*", "?", "*"))  # monthly: not a local schedule


def test_the_apps_schedules_are_found_and_run_with_a_scheduled_event():
    app = Chalice("scheduler-test")
    seen: list[dict[str, Any]] = []

    @app.schedule(Rate(5, unit=Rate.MINUTES), name="every_five")
    def every_five(event: Any) -> str:
        seen.append(event.to_dict())
        return "ran"

    schedules = schedules_from_app(app)
    assert [s.name for s in schedules] == ["every_five"]
    scheduler = Scheduler(schedules)
    assert scheduler.run_now("every_five") == "ran"
    assert seen[0]["detail-type"] == "Scheduled Event" and scheduler.runs["every_five"] == 1


def test_a_failing_tick_is_logged_and_the_scheduler_goes_on():
    def broken(event: Any, context: Any) -> Any:
        raise RuntimeError("boom")

    scheduler = Scheduler([Scheduled("broken", broken, _next_at(Rate(1, unit=Rate.MINUTES)))])
    assert scheduler.run_now("broken") is None and scheduler.runs["broken"] == 1


def test_the_platform_schedules_the_window_sweep_and_the_overdue_sweep():
    from app import app

    names = {s.name for s in schedules_from_app(app)}
    assert {"run_window_sweep", "overdue_sweep"} <= names
