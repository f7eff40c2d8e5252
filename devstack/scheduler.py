"""A local stand-in for EventBridge schedules: runs the Chalice app's scheduled
functions (``@app.schedule``) on a thread, as AWS would run them.

A ``rate(N unit)`` function runs every N units from the start; a daily
``cron(M H * * ? *)`` one at M:H UTC each day. Each call gets a scheduled event
shaped like EventBridge's and a Lambda context stub; an error is logged and the
next tick runs anyway (EventBridge retries are not imitated).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalice import Chalice
from chalice.app import Cron, Rate, ScheduledEventConfig

from devstack.event_runner import LambdaContextStub
from functions.core.logs import logger

SECONDS = {Rate.MINUTES: 60, Rate.HOURS: 3600, Rate.DAYS: 86400}


@dataclass
class Scheduled:
    name: str
    handler: Callable[[dict[str, Any], Any], Any]
    next_at: Callable[[datetime], datetime]  # the next run after a moment


def _next_at(expression: Any) -> Callable[[datetime], datetime]:
    if isinstance(expression, Rate):
        step = timedelta(seconds=expression.value * SECONDS[expression.unit])
        return lambda after: after + step
    if isinstance(expression, Cron) and str(expression.day_of_month) == "*":
        minute, hour = int(expression.minutes), int(expression.hours)

        def daily(after: datetime) -> datetime:
            at = after.replace(hour=hour, minute=minute, second=0, microsecond=0)
            return at if at > after else at + timedelta(days=1)
        return daily
    raise ValueError(f"the local scheduler runs rates and daily crons, not {expression!r}")


def schedules_from_app(app: Chalice) -> list[Scheduled]:
    return [Scheduled(source.name, app.handler_map[source.name],
                      _next_at(source.schedule_expression))
            for source in app.event_sources if isinstance(source, ScheduledEventConfig)]


class Scheduler:
    def __init__(self, schedules: list[Scheduled],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.schedules = schedules
        self.clock = clock
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="scheduler")
        self.runs: dict[str, int] = {s.name: 0 for s in schedules}

    def start(self) -> Scheduler:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(10)

    def run_now(self, name: str) -> Any:
        """Run one scheduled function at once (as EventBridge's "test" would)."""
        scheduled = next(s for s in self.schedules if s.name == name)
        return self._invoke(scheduled)

    def _invoke(self, scheduled: Scheduled) -> Any:
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                 "source": "aws.events", "time": self.clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "region": "local", "account": "000000000000", "resources": [],
                 "detail": {}}
        self.runs[scheduled.name] += 1
        try:
            return scheduled.handler(event, LambdaContextStub(scheduled.name))
        except Exception:  # a failed tick is logged; the next one runs
            logger.exception("scheduled function failed", extra={"function": scheduled.name})
            return None

    def _loop(self) -> None:
        now = self.clock()
        due = {s.name: s.next_at(now) for s in self.schedules}
        while not self.stop_event.wait(1.0):
            now = self.clock()
            for scheduled in self.schedules:
                if now >= due[scheduled.name]:
                    self._invoke(scheduled)
                    due[scheduled.name] = scheduled.next_at(now)
