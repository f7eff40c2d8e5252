"""`make demo METERS=N`: one full billing cycle on the local stack.

Starts a stack of its own in this process (emulator, API, the SQS functions, the
portal built for that API) on the default ports, or free ones if those are taken;
or uses the stack of `make run` named by `--stack http://127.0.0.1:<api port>`
(`make demo STACK=...`), and only if that stack is one `make run` started and still
runs: anything else answering there is refused. Then it creates demo customers,
properties and N meters simulated by `python -m device_client simulate` (a few
of them misbehave or stay silent, as real fleets do), the reference tariffs, runs
the billing run of the last month (start -> readings -> close) and prints what
happened, with a progress line every few seconds while it waits.

Sign-in accounts are printed only while they work: a stack of its own stays up
after the summary until Ctrl-C or SIGTERM (`--exit` stops it at once and prints
no accounts); a named stack is make run's, up as long as make run runs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from devstack.progress import progress

DEFAULT_API = "http://127.0.0.1:8000"

# One meter in so many misbehaves this way (the rest answer normally).
MISBEHAVIOUR_EVERY = {"silent": 23, "offline": 29, "backwards": 31, "tamper": 37}



def all_pages(admin: Any, path: str, key: str) -> list[dict[str, Any]]:
    """Every item of a paginated admin list, following its cursor."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = admin.get(path, params={"limit": 500, **({"cursor": cursor} if cursor else {})})
        found += page[key]
        cursor = page["cursor"]
        if cursor is None:
            return found

def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class ForeignStack(RuntimeError):
    """The URL named is not a stack of this project that make run started and still runs."""


@dataclass
class UsedStack:
    api_url: str
    portal_url: str | None
    own: bool  # started by this demo: it stops with it


def free_or_other(port: int) -> int:
    from devstack.emulator import free_port

    if port_free(port):
        return port
    other = free_port()
    print(f"stack      port {port} is in use (not ours to use): this demo's own stack "
          f"takes {other} instead")
    return other


@contextlib.contextmanager
def local_stack(stack_url: str | None) -> Iterator[UsedStack]:
    """The stack named by stack_url (make run's, checked), or one started here."""
    from devstack.stack import (
        LOCAL_ENV,
        STACKS_DIR,
        configure_environment,
        known_stack,
        stop_all,
    )

    if stack_url:
        record = known_stack(stack_url)
        if record is None or not _api_up(record["api"]):
            raise ForeignStack(
                f"{stack_url} is not a stack that `make run` started on this machine and "
                "still runs (none recorded in .local/stacks/, or its process is gone): "
                "the demo uses only such a stack, or (without --stack) one of its own")
        for key, value in LOCAL_ENV.items():
            os.environ.setdefault(key, value)
        os.environ["AWS_ENDPOINT_URL"] = record["emulator"]
        os.environ["RESOURCE_PREFIX"] = record["resource_prefix"]
        print(f"stack      using make run's stack at {record['api']} "
              f"(emulator {record['emulator']})")
        yield UsedStack(record["api"], record.get("portal"), own=False)
        return

    emulator_port, api_port, site_port = (free_or_other(p) for p in (5000, 8000, 8080))
    configure_environment(emulator_port, api_port, site_port)
    started: list[Any] = []
    try:
        with progress("starting the demo's own stack"):
            # Imported only now: project modules read the environment when imported.
            from devstack.api_server import ApiThread
            from devstack.emulator import Emulator
            from devstack.event_runner import EventRunner, mappings_from_app
            from devstack.provision import provision
            from devstack.ses_events import enable_event_publishing
            from devstack.stack import build_portal
            from devstack.static_server import StaticSite

            emulator = Emulator(emulator_port).start()
            started.append(emulator)
            enable_event_publishing()  # SES delivery events, as AWS publishes them
            provision()
            from app import app

            api = ApiThread(app, port=api_port).start()
            started.append(api)
            started.append(EventRunner(mappings_from_app(app)).start())
            portal_url = None
            try:
                site = StaticSite(build_portal(api.url, site_port), site_port).start()
                started.append(site)
                portal_url = site.url
            except (OSError, RuntimeError, subprocess.CalledProcessError) as error:
                # no portal: no accounts printed
                print(f"stack      portal not built ({error})")
        print(f"stack      started here: emulator {emulator.url}, API {api.url}, "
              f"portal {portal_url or '-'}", flush=True)
        yield UsedStack(api.url, portal_url, own=True)
    finally:
        print("stack      stopping the demo's own stack ...", flush=True)
        stop_all(started)
        shutil.rmtree(STACKS_DIR / f"portal-{site_port}", ignore_errors=True)
        print("stack      stopped", flush=True)


def _api_up(api_url: str) -> bool:
    from devstack.demo_data import api_is_up

    return api_is_up(api_url)


def plans_for(meters: int, customers: list[Any]) -> list[Any]:
    from devstack.demo_data import MeterPlan

    plans = []
    for i in range(meters):
        behaviour = next((name for name, every in MISBEHAVIOUR_EVERY.items()
                          if i % every == every - 1), "normal")
        commercial = i % 5 == 4
        initial = 1_000_000 + 41_257 * i
        plans.append(MeterPlan(
            owner=customers[i % len(customers)],
            category="commercial" if commercial else "residential",
            load_kw="10" if commercial else ("2", "3", "5", "7.5")[i % 4],
            initial_register_wh=initial, behaviour=behaviour, label=f"House {i + 1}",
            # A register that runs backwards reports 10 kWh less than this: below
            # the register recorded at installation, which billing must refuse.
            register_wh=initial + 5_000 if behaviour == "backwards" else None,
            # A mixed fleet: every other meter speaks protocol v2 (billing snapshot, ToD
            # zones, maximum demand), every sixth house has rooftop solar (export).
            protocol_version=2 if i % 2 else 1,
            solar_kwp=3.0 if i % 6 == 1 and not commercial else 0.0))
    return plans


def run_demo(api_url: str, meters: int) -> dict[str, Any]:
    from devstack.demo_data import (
        Api,
        create_demo_user,
        ensure_tariffs,
        fit_meters,
        last_period,
        start_simulator,
        wait_until,
    )

    started_at = time.monotonic()
    tag = time.strftime("%H%M%S")
    with progress("creating demo accounts and the reference tariffs"):
        admin_user = create_demo_user("admin", "Demo Admin", f"demo-{tag}")
        customers = [create_demo_user("customer", name, f"{name.split()[0].lower()}-{tag}")
                     for name in ("Asha Verma", "Ravi Kumar", "Meera Iyer", "Imran Shaikh")]
        admin = Api(api_url, admin_user.token)
        ensure_tariffs(admin)
    plans = plans_for(meters, customers)
    with progress(f"starting {meters} simulated meters"):
        simulator, serials = start_simulator(plans)
    try:
        with progress(f"fitting {meters} meters to their properties"):
            fitted = fit_meters(admin, simulator, plans, serials)
        setup_done = time.monotonic()
        period = last_period()
        print(f"setup      {len(customers)} customers, {len(fitted)} properties and meters, "
              f"tariffs ({setup_done - started_at:.1f} s); billing run {period} ...")

        mine = {f.meter_id for f in fitted}
        must_answer = {f.meter_id for f in fitted if f.plan.behaviour in ("normal", "backwards")}
        run_started = time.monotonic()
        start = admin.post("/admin/runs", json={"period": period, "policy": "estimate",
                                                "window_hours": 1})

        def all_in() -> bool:
            readings = [r for r in all_pages(admin, f"/admin/runs/{period}/readings", "readings")
                        if r["meter_id"] in mine and r["source"] == "billing"]
            decided = {r["meter_id"] for r in readings if r["status"] != "received"}
            return must_answer <= decided

        def counts() -> str:
            got = admin.get(f"/admin/runs/{period}")
            done = {k: v for k, v in got.get("progress", {}).items()
                    if k in ("meters_asked", "answered", "bills_issued", "rejected", "held")}
            return f"{got['status']}, " + ", ".join(f"{k} {v}" for k, v in done.items())

        with progress(f"billing run {period}: waiting for readings", counts):
            complete = wait_until(all_in, timeout=120 + 0.5 * meters, step=1.0)
        readings_done = time.monotonic()
        admin.post(f"/admin/runs/{period}/close")  # 202: closed in the background
        with progress(f"billing run {period}: closing", counts):
            wait_until(lambda: admin.get(f"/admin/runs/{period}")["status"] == "closed",
                       timeout=120 + 0.1 * meters, step=0.5)
        finished = time.monotonic()
    finally:
        simulator.stop()

    properties = {f.property_id for f in fitted}
    with progress("reading the run's bills"):
        bills = [b for b in all_pages(admin, f"/admin/bills?period={period}", "bills")
                 if b["property_id"] in properties]
    with progress(f"waiting for the {len(bills)} bill emails"):
        emails = bill_email_tally(bills)
    with progress("reading the run's readings, silent meters and refusals"):
        readings = [r for r in all_pages(admin, f"/admin/runs/{period}/readings", "readings")
                    if r["meter_id"] in mine]
        silent = [s for s in all_pages(admin, f"/admin/runs/{period}/silent-meters", "meters")
                  if s["meter_id"] in mine]
        # Messages the reading endpoint refused (tampered ...) name no run until
        # decrypted: ask per meter for the meters that sent nothing billing could use.
        refused = [r for s in silent for r in admin.get("/admin/meter-rejections", params={
            "meter_id": s["meter_id"], "limit": 100})["rejections"]]
    return {
        "period": period, "first_start": start["first_start"], "complete": complete,
        "meters": len(fitted),
        "answered": len({r["meter_id"] for r in readings if r["source"] == "billing"}),
        "silent": len(silent),
        "rejected": sum(1 for r in readings if r["status"] == "rejected") + len(refused),
        "held": sum(1 for r in readings if r["status"] == "held"),
        "bills": len(bills), "estimated": sum(1 for b in bills if b["estimated"]),
        "total": sum((Decimal(b["total"]) for b in bills), Decimal("0.00")),
        "setup_s": setup_done - started_at, "run_s": readings_done - run_started,
        "close_s": finished - readings_done, "elapsed_s": finished - started_at,
        "admin": admin_user, "customers": customers,
        "reasons": sorted({str(r["reason"]) for r in [*readings, *refused]
                           if r.get("status") != "accepted" and r["reason"]}),
        "silent_why": sorted({s["why"] for s in silent}),
        "emails": emails,
    }


def bill_email_tally(bills: list[dict[str, Any]], timeout: float = 120.0) -> dict[str, Any]:
    """Wait until the sender handed over every bill's email, then count what the
    emulator captured per bill: each should have exactly one."""
    from devstack.emulator import captured_messages
    from functions.core.notifications.models import OutboxRecord
    from functions.core.settings import get_settings

    keys = [f"bill_issued#{b['bill_id']}" for b in bills]
    deadline = time.monotonic() + timeout
    while True:
        records = [r for start in range(0, len(keys), 100)
                   for r in OutboxRecord.batch_get(keys[start:start + 100],
                                                   consistent_read=True)]
        waiting = len(keys) - sum(r.status not in ("pending", "sending") for r in records)
        if not waiting or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    mails = captured_messages(get_settings().aws_endpoint_url or "http://127.0.0.1:5000")
    per_bill = {b["bill_id"]: 0 for b in bills}
    links = {f"{b['link']}\n": b["bill_id"] for b in bills}
    for mail in mails["emails"]:
        for line in str(mail["body"]).splitlines(keepends=True):
            if line.startswith("See the bill and pay: ") and \
                    (bill_id := links.get(line.removeprefix("See the bill and pay: "))):
                per_bill[bill_id] += 1
    window: list[float] = []
    with contextlib.suppress(Exception):  # only when the functions run in this process
        from functions.notifications.handler import sender
        window = sorted(sender().accept_to_mark_ms)
    return {"bills": len(bills), "emails": sum(per_bill.values()),
            "once": sum(1 for n in per_bill.values() if n == 1),
            "duplicated": sum(1 for n in per_bill.values() if n > 1),
            "none": sum(1 for n in per_bill.values() if n == 0),
            "not_handed_over": waiting,
            "statuses": dict(sorted(Counter(r.status for r in records).items())),
            "window_ms": window}


def _emails_line(tally: dict[str, Any]) -> str:
    line = (f"{tally['emails']} for {tally['bills']} bills: {tally['once']} once, "
            f"{tally['duplicated']} twice or more, {tally['none']} none "
            f"(outbox: {', '.join(f'{k} {v}' for k, v in tally['statuses'].items()) or '-'})")
    window = tally["window_ms"]
    if window:
        p = lambda q: window[min(len(window) - 1, int(q * len(window)))]  # noqa: E731
        line += (f"\n  {'':16} SES accept -> marked sent: p50 {p(0.5):.1f} ms, "
                 f"p99 {p(0.99):.1f} ms, max {window[-1]:.1f} ms over {len(window)} sends")
    return line


def print_summary(result: dict[str, Any], stack: UsedStack | None = None) -> None:
    from functions.core.money import format_inr

    print()
    print(f"Billing run {result['period']}"
          + ("" if result["first_start"] else " (restarted: only meters without a bill)"))
    rows = [
        ("meters", result["meters"]),
        ("answered", result["answered"]),
        ("silent", f"{result['silent']}  ({', '.join(result['silent_why']) or '-'})"),
        ("rejected", f"{result['rejected']}  ({', '.join(result['reasons']) or '-'})"),
        ("held for review", result["held"]),
        ("bills issued", f"{result['bills']}  ({result['estimated']} estimated)"),
        ("total billed", format_inr(result["total"])),
        ("bill emails", _emails_line(result["emails"])),
        ("elapsed", f"{result['elapsed_s']:.1f} s  (setup {result['setup_s']:.1f} s, "
                    f"run {result['run_s']:.1f} s, close {result['close_s']:.1f} s)"),
    ]
    for name, value in rows:
        print(f"  {name:16} {value}")
    if not result["complete"]:
        print("  (some readings were still on their way when the run was closed)")
    print()
    if stack is None or not stack.portal_url:
        print("No sign-in accounts: there is no portal up to sign in to once this demo ends "
              "(run `make run`, then `make demo STACK=http://127.0.0.1:8000`).")
        return
    print(f"Sign in to the portal {stack.portal_url} with (local only; passwords generated "
          "for this demo):")
    for user in (result["admin"], *result["customers"]):
        print(f"  {user.role:8} {user.email:34} {user.password}")
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    print("  admins confirm sign-in with an SMS code: see `"
          + ("" if endpoint == "http://127.0.0.1:5000" else f"AWS_ENDPOINT_URL={endpoint} ")
          + "make outbox`")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=50)
    parser.add_argument("--stack", "--api-url", dest="stack", metavar="URL", default=None,
                        help="the API of a running `make run` stack to use, e.g. "
                             f"{DEFAULT_API} (default: a stack of the demo's own)")
    parser.add_argument("--exit", action="store_true",
                        help="with a stack of its own: stop it after the summary "
                             "(then no accounts are printed)")
    parser.add_argument("--crash-after-bills", type=int, default=0, metavar="N",
                        help="the billing function dies once after writing its N-th bill "
                             "(a stack started here only): its batch is delivered again")
    args = parser.parse_args()
    if args.crash_after_bills:
        from functions.billing.faults import CRASH_AFTER_BILLS

        os.environ[CRASH_AFTER_BILLS] = str(args.crash_after_bills)
    if not 1 <= args.meters <= 5000:
        parser.error("--meters must be between 1 and 5000")
    from devstack.stack import stop_on_signals

    stop_on_signals()  # SIGTERM, and SIGINT also in the background: the own stack stops
    try:
        with local_stack(args.stack) as stack:
            result = run_demo(stack.api_url, args.meters)
            keep_up = stack.own and not args.exit
            print_summary(result, stack if keep_up or not stack.own else None)
            if keep_up and stack.portal_url:
                print("\nThis demo's stack stays up so that these accounts work; "
                      "Ctrl-C (or SIGTERM) stops it.", flush=True)
                while True:
                    time.sleep(3600)
    except ForeignStack as refused:
        print(f"demo refused: {refused}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    try:
        code = main()
    except KeyboardInterrupt:  # stopped before its stack started
        code = 130
    sys.stdout.flush()
    os._exit(code)  # as devstack.stack: the interpreter's teardown took seconds more
