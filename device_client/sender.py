"""Posting readings to the platform, asynchronously, with retries (standard library only)."""

from __future__ import annotations

import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass


@dataclass(frozen=True)
class PostResult:
    status: int | None  # HTTP status of the last attempt, None if no answer at all
    attempts: int
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    backoff_base: float = 0.5  # seconds; doubles each attempt, with jitter
    timeout: float = 10.0


def post_once(url: str, body: bytes, timeout: float) -> int:
    if not url.startswith(("https://", "http://")):
        raise ValueError("only http(s) URLs are posted to")
    # Only http(s), checked just above.
    request = urllib.request.Request(url, data=body, method="POST",  # noqa: S310
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.read()
        return int(error.code)


def post_with_retry(url: str, body: bytes, policy: RetryPolicy,
                    sleep: Callable[[float], None] = time.sleep) -> PostResult:
    """Retry connection errors, timeouts, 429 and 5xx; a 4xx other than 429 is final
    (the platform refused the message: sending it again would not help)."""
    status: int | None = None
    error: str | None = None
    for attempt in range(1, policy.attempts + 1):
        try:
            status = post_once(url, body, policy.timeout)
            error = None
        except (OSError, urllib.error.URLError) as exc:
            status, error = None, type(exc).__name__
        if status is not None and (200 <= status < 300 or (status < 500 and status != 429)):
            return PostResult(status, attempt, None if status < 300 else f"http_{status}")
        if attempt < policy.attempts:
            sleep(policy.backoff_base * 2 ** (attempt - 1) * (0.5 + random.random()))
    return PostResult(status, policy.attempts, error or f"http_{status}")


class Sender:
    """A small pool that posts in the background, so a meter answers the request at once."""

    def __init__(self, workers: int = 8, policy: RetryPolicy | None = None) -> None:
        self.policy = policy or RetryPolicy()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="meter-send")

    def submit(self, url: str, body: bytes,
               done: Callable[[PostResult], None] | None = None) -> Future[PostResult]:
        def run() -> PostResult:
            result = post_with_retry(url, body, self.policy)
            if done is not None:
                done(result)
            return result

        return self.pool.submit(run)

    def submit_sequence(self, posts: list[tuple[str, bytes]],
                        done: Callable[[PostResult], None] | None = None) -> None:
        """Post several bodies one after the other (e.g. a reading and its replay)."""

        def run() -> None:
            for url, body in posts:
                result = post_with_retry(url, body, self.policy)
                if done is not None:
                    done(result)

        self.pool.submit(run)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=False)
