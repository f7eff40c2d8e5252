"""A progress line every few seconds for long local commands (`make demo`, `make bench`),
so a quiet terminal means a stuck command, not a busy one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

EVERY_S = 3.0


@contextmanager
def progress(label: str, detail: Callable[[], str] | None = None,
             every: float = EVERY_S) -> Iterator[None]:
    """While the block runs, print "  ... <label>: <detail> (N s)" every `every` seconds.

    `detail` runs on the printing thread: keep it cheap (a counter, not a request)
    where the block is being measured."""
    started = time.monotonic()
    done = threading.Event()

    def beat() -> None:
        while not done.wait(every):
            try:
                extra = f": {detail()}" if detail else ""
            except Exception as error:  # a progress line never stops the work
                extra = f": ({type(error).__name__})"
            print(f"  ... {label}{extra} ({time.monotonic() - started:.0f} s)", flush=True)

    thread = threading.Thread(target=beat, daemon=True, name="progress")
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(1)
