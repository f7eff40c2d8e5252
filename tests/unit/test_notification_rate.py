"""The notification sender's rate (issue 25): a token bucket per sender invocation,
so the queue's concurrency times the rate stays under SES's and SNS's quotas."""

from __future__ import annotations

from functions.core.notifications.sender import SendRate
from functions.core.settings import Settings


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_burst_goes_at_once_then_sends_are_spaced_at_the_rate() -> None:
    time = FakeTime()
    rate = SendRate(10, clock=time.clock, sleep=time.sleep)
    for _ in range(10):
        rate.take()
    assert time.slept == [] and time.now == 100.0  # a second's worth saved up
    for _ in range(40):
        rate.take()
    # 40 more at 10 a second: 4 seconds, never faster than the rate.
    assert abs((time.now - 100.0) - 4.0) < 1e-9
    assert max(time.slept) <= 0.1 + 1e-9


def test_an_idle_bucket_refills_only_up_to_its_burst() -> None:
    time = FakeTime()
    rate = SendRate(5, burst=5, clock=time.clock, sleep=time.sleep)
    time.now += 60  # a minute idle saves 5 tokens, not 300
    for _ in range(5):
        rate.take()
    assert time.slept == []
    rate.take()
    assert time.slept == [0.2]


def test_no_rate_is_no_limit_and_the_rate_comes_from_the_environment() -> None:
    time = FakeTime()
    rate = SendRate(Settings().notification_send_rate, clock=time.clock, sleep=time.sleep)
    for _ in range(1000):
        rate.take()
    assert time.slept == []
    assert Settings(NOTIFICATION_SEND_RATE="14").notification_send_rate == 14.0
