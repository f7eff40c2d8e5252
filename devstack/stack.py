"""`make run`: the whole platform on this machine, on the embedded emulator.

Starts moto's server (127.0.0.1:5000), creates every table, queue and secret,
serves the API (127.0.0.1:8000), runs the SQS functions through the event
runner, builds the portal for that API and serves it (127.0.0.1:8080), seeds demo
accounts and starts simulated meters. Ctrl-C or SIGTERM (also when started in the
background) stops everything it started within a few seconds. A port in use, or a
portal that cannot be built for the API's port, stops it before it starts.

While it runs, .local/stacks/api-<port>.json names its ports and process, so that
`make demo STACK=http://127.0.0.1:<port>` can tell this stack from anything else
answering there.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR = ROOT / ".local" / "stacks"  # git-ignored: one record per running stack
STOP_WITHIN_S = 6.0  # every component together; what is left after that is abandoned

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
    # The ports in use, whatever the shell exported: meters reply to this API and it
    # allows (CORS) only the portal this stack serves.
    os.environ["API_BASE_URL"] = f"http://127.0.0.1:{api_port}"
    os.environ["PORTAL_ORIGIN"] = f"http://127.0.0.1:{site_port}"


def ports_in_use(*ports: int) -> list[int]:
    busy = []
    for port in ports:
        with socket.socket() as sock:
            # As the servers bind: a port with connections in TIME_WAIT is free to them.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                busy.append(port)
    return busy


# ---- the record a running stack leaves, so `make demo` can tell it from others -----

def _local_port(api_url: str) -> int | None:
    """The port of an API URL on this machine (127.0.0.1 or localhost), else None."""
    try:
        parts = urlsplit(api_url)
        port = parts.port
    except ValueError:
        return None
    return port if parts.hostname in ("127.0.0.1", "localhost") and port else None


def record_path(api_url: str) -> Path:
    return STACKS_DIR / f"api-{_local_port(api_url) or 'none'}.json"


def write_record(api_url: str, emulator_url: str, site_url: str | None) -> Path:
    STACKS_DIR.mkdir(parents=True, exist_ok=True)
    path = record_path(api_url)
    path.write_text(json.dumps({"pid": os.getpid(), "api": api_url, "emulator": emulator_url,
                                "portal": site_url,
                                "resource_prefix": os.environ["RESOURCE_PREFIX"]}))
    return path


def known_stack(api_url: str) -> dict[str, Any] | None:
    """The record of the stack of this project serving api_url, if one is running."""
    port = _local_port(api_url)
    if port is None:
        return None
    try:
        record: dict[str, Any] = json.loads(record_path(api_url).read_text())
    except (OSError, ValueError):
        return None
    if _local_port(str(record.get("api"))) != port:
        return None
    try:
        os.kill(int(record["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None  # its process is gone: what answers there now is someone else
    return record


def stop_all(components: list[Any], within: float = STOP_WITHIN_S) -> list[str]:
    """Stop components (last started first) in parallel, waiting at most `within`
    seconds in all; returns the names of those still stopping (daemon threads,
    dropped when the process exits)."""
    threads = []
    for component in reversed(components):
        thread = threading.Thread(target=component.stop, daemon=True,
                                  name=f"stop-{type(component).__name__}")
        thread.start()
        threads.append(thread)
    deadline = time.monotonic() + within
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [t.name.removeprefix("stop-") for t in threads if t.is_alive()]


class StopRequested(KeyboardInterrupt):
    """SIGTERM or SIGINT: raised in the main thread wherever it is (waiting or seeding)."""


def stop_on_signals() -> None:
    """SIGINT and SIGTERM both stop the stack. Installed explicitly: a shell starts a
    background job (`make run &`) with SIGINT ignored, and Python then never raises
    KeyboardInterrupt."""
    def handler(signum: int, _frame: Any) -> None:
        # Once: a second signal while stopping must not break off the cleanup.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise StopRequested(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def build_portal(api_url: str, site_port: int) -> Path:
    """The portal, built for this API (its base URL is written into every page)."""
    from frontend.build import build

    out = STACKS_DIR / f"portal-{site_port}"
    build(out, api_url)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulator-port", type=int, default=5000)
    parser.add_argument("--api-port", type=int, default=8000)
    parser.add_argument("--site-port", type=int, default=8080)
    parser.add_argument("--meters", type=int, default=5, help="simulated meters to start")
    parser.add_argument("--no-seed", action="store_true", help="skip demo accounts and meters")
    args = parser.parse_args()
    stop_on_signals()
    ports = (args.emulator_port, args.api_port, args.site_port)
    if len(set(ports)) < len(ports) or (busy := ports_in_use(*ports)):
        taken = "the same port twice" if len(set(ports)) < len(ports) else \
            "port " + ", ".join(map(str, busy)) + " in use (another stack, or another program)"
        print(f"stack not started: {taken}. Choose free ports, e.g. "
              "make run API_PORT=8001 SITE_PORT=8081 EMULATOR_PORT=5001", file=sys.stderr)
        return 2
    configure_environment(*ports)
    api_url = f"http://127.0.0.1:{args.api_port}"
    try:
        site_root = build_portal(api_url, args.site_port)
    except (OSError, RuntimeError, subprocess.CalledProcessError) as error:
        print(f"stack not started: the portal could not be built for the API at {api_url} "
              f"({error}); a portal built for another port would not reach this API",
              file=sys.stderr)
        return 2

    started: list[Any] = []
    meters: subprocess.Popen[bytes] | None = None
    record: Path | None = None
    try:
        # Imported only now: project modules read the environment when imported.
        from devstack.api_server import ApiThread
        from devstack.emulator import Emulator
        from devstack.event_runner import EventRunner, mappings_from_app
        from devstack.provision import provision
        from devstack.scheduler import Scheduler, schedules_from_app
        from devstack.ses_events import enable_event_publishing
        from devstack.static_server import StaticSite

        emulator = Emulator(args.emulator_port).start()
        started.append(emulator)
        print(f"emulator   {emulator.url}  (moto: DynamoDB, SQS, SES, SNS, Secrets Manager)",
              flush=True)
        enable_event_publishing()  # SES delivery events, as AWS publishes them
        provision()
        from app import app

        api = ApiThread(app, port=args.api_port).start()
        started.append(api)
        runner = EventRunner(mappings_from_app(app)).start()
        started.append(runner)
        scheduler = Scheduler(schedules_from_app(app)).start()
        started.append(scheduler)
        site = StaticSite(site_root, args.site_port).start()
        started.append(site)
        record = write_record(api.url, emulator.url, site.url)
        print(f"API        {api.url}   health: {api.url}/health   spec: {api.url}/openapi.json")
        print(f"portal     {site.url}  (built for the API at {api.url})")
        functions = ", ".join(p.mapping.function_name for p in runner.pollers)
        print(f"functions  {functions} (SQS, through the local event runner)")
        print("schedules  " + ", ".join(s.name for s in scheduler.schedules)
              + " (through the local scheduler)", flush=True)
        if not args.no_seed:
            from devstack.demo_data import seed_demo
            from devstack.progress import progress

            with progress(f"seeding demo accounts, tariffs and {args.meters} meters"):
                meters = seed_demo(api.url, args.meters)
        print("outbox     make outbox   (emails and SMS the emulator captured)")
        print("Ctrl-C (or SIGTERM) stops everything.", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:  # StopRequested too: SIGINT or SIGTERM
        pass
    finally:
        print("\nstopping ...", flush=True)
        if record is not None:
            record.unlink(missing_ok=True)  # from now on nobody should use this stack
        if meters is not None:
            meters.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                meters.wait(2)
            if meters.poll() is None:
                meters.kill()
        left = stop_all(started)
        shutil.rmtree(site_root, ignore_errors=True)  # built for this run's ports only
        print("stopped." + (f" (abandoned while stopping: {', '.join(left)})" if left else ""),
              flush=True)
    return 0


if __name__ == "__main__":
    try:
        code = main()
    except KeyboardInterrupt:  # stopped before anything started
        code = 130
    # Everything is stopped; the interpreter's own teardown (the emulator's in-memory
    # state, C extensions) took seconds more, so the process ends here.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
