"""The SQS event runner in a process of its own, so a fault test can kill it (SIGKILL) in
the middle of a run, as a Lambda container dies: no cleanup, no finishing the batch.

    python -m tests.integration.fault_runner   # with the test's environment
"""

from __future__ import annotations

import sys
import time


def main() -> int:
    from app import app
    from devstack.event_runner import EventRunner, mappings_from_app

    EventRunner(mappings_from_app(app)).start()
    print("ready", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
