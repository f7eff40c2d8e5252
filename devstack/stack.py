"""`make run`: the whole platform on this machine, on the embedded emulator.

Starts moto's server (127.0.0.1:5000), creates every table, queue and secret,
serves the API (127.0.0.1:8000), runs the SQS functions through the event
runner, serves the portal (127.0.0.1:8080), seeds demo accounts and starts
simulated meters. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LOCAL_ENV = {
    "APP_STAGE": "local",
    "RESOURCE_PREFIX": "iotbill-local",
    "AWS_DEFAULT_REGION": "ap-south-1",
    # The emulator accepts any credentials; these are placeholders, not secrets.
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
}


def configure_environment(emulator_port: int, api_port: int, site_port: int) -> None:
    for key, value in LOCAL_ENV.items():
        os.environ.setdefault(key, value)
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{emulator_port}"
    os.environ.setdefault("API_BASE_URL", f"http://127.0.0.1:{api_port}")
    os.environ.setdefault("PORTAL_ORIGIN", f"http://127.0.0.1:{site_port}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulator-port", type=int, default=5000)
    parser.add_argument("--api-port", type=int, default=8000)
    parser.add_argument("--site-port", type=int, default=8080)
    parser.add_argument("--meters", type=int, default=5, help="simulated meters to start")
    parser.add_argument("--no-seed", action="store_true", help="skip demo accounts and meters")
    args = parser.parse_args()
    configure_environment(args.emulator_port, args.api_port, args.site_port)

    # Imported only now: project modules read the environment when imported.
    from devstack.api_server import ApiThread
    from devstack.emulator import Emulator
    from devstack.event_runner import EventRunner, mappings_from_app
    from devstack.provision import provision
    from devstack.scheduler import Scheduler, schedules_from_app
    from devstack.ses_events import enable_event_publishing
    from devstack.static_server import StaticSite

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    started: list[object] = []
    meters: subprocess.Popen[bytes] | None = None
    try:
        emulator = Emulator(args.emulator_port).start()
        started.append(emulator)
        print(f"emulator   {emulator.url}  (moto: DynamoDB, SQS, SES, SNS, Secrets Manager)")
        enable_event_publishing()  # SES delivery events, as AWS publishes them
        provision()
        from app import app

        api = ApiThread(app, port=args.api_port).start()
        started.append(api)
        runner = EventRunner(mappings_from_app(app)).start()
        started.append(runner)
        scheduler = Scheduler(schedules_from_app(app)).start()
        started.append(scheduler)
        site_root = ROOT / "site"
        if not (site_root / "index.html").exists():
            print("portal not built: run `make site` (make run does it for you)")
        site = StaticSite(site_root, args.site_port).start()
        started.append(site)
        print(f"API        {api.url}   health: {api.url}/health   spec: {api.url}/openapi.json")
        print(f"portal     {site.url}")
        functions = ", ".join(p.mapping.function_name for p in runner.pollers)
        print(f"functions  {functions} (SQS, through the local event runner)")
        print("schedules  " + ", ".join(s.name for s in scheduler.schedules)
              + " (through the local scheduler)")
        if not args.no_seed:
            from devstack.demo_data import seed_demo

            meters = seed_demo(api.url, args.meters)
        print("outbox     make outbox   (emails and SMS the emulator captured)")
        print("Ctrl-C stops everything.")
        while not stopping.is_set():
            stopping.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping ...")
        if meters is not None:
            meters.terminate()
            try:
                meters.wait(10)
            except subprocess.TimeoutExpired:
                meters.kill()
        for component in reversed(started):
            component.stop()  # type: ignore[attr-defined]
        print("stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
