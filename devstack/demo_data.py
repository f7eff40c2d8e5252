"""Demo data on the local stack: accounts, properties, meters simulated by
`python -m device_client simulate`, and the reference tariffs.

`make run` calls `seed_demo(api_url, meters)`; `make demo`, `make bench` and
the end-to-end test use the pieces (Api, Simulator, fit_meters, ...).

Everything goes through the platform's own API like an admin and customers
would use it, except creating the demo accounts: sign-up needs an email link
and an SMS code per person, so demo accounts are written already verified,
through the accounts repository, in the local stage only. Their passwords are
generated for this run and printed; they are dev-only values on an in-memory
emulator, not secrets.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / ".local" / "demo"  # git-ignored: meter keys and counters of the simulator
EMAIL_DOMAIN = "example.in"


class DemoError(RuntimeError):
    pass


class Api:
    """requests against the running API, with an optional bearer token."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.session = requests.Session()

    def as_(self, token: str) -> Api:
        return Api(self.base_url, token)

    def call(self, method: str, path: str, expect: Iterable[int] = (200, 201, 202, 204),
             **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.session.request(method, self.base_url + path, headers=headers,
                                        timeout=60, **kwargs)
        if response.status_code not in tuple(expect):
            raise DemoError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.call("POST", path, **kwargs)


def api_is_up(base_url: str) -> bool:
    try:
        return requests.get(f"{base_url}/health", timeout=3).status_code == 200
    except requests.RequestException:
        return False


# ---- accounts ----------------------------------------------------------------

@dataclass
class DemoUser:
    user_id: str
    name: str
    email: str
    mobile: str
    role: str
    password: str
    token: str


def new_password() -> str:
    return "demo-" + secrets.token_urlsafe(9)


def create_demo_user(role: str, name: str, tag: str, password: str | None = None) -> DemoUser:
    """A verified account written through the accounts repository (local stage
    only: it skips the email and SMS confirmations sign-up does)."""
    from functions.core.accounts.models import UserRecord
    from functions.core.accounts.sessions import issue_session
    from functions.core.accounts.users import UserRepository, new_user_id
    from functions.core.clock import iso, utcnow
    from functions.core.passwords import hash_password
    from functions.core.settings import get_settings

    if not get_settings().is_local:
        raise DemoError("demo accounts are for the local stage only")
    password = password or new_password()
    email = f"{role}-{tag}@{EMAIL_DOMAIN}"
    user = UserRecord(
        user_id=new_user_id(), email=email, name=name,
        mobile="+919" + "".join(str(secrets.randbelow(10)) for _ in range(9)),
        role=role, status="verified", role_status=f"{role}#verified", created_at=iso(utcnow()),
        email_verified=True, mobile_verified=True, password_hash=hash_password(password))
    if not UserRepository().create(user):
        raise DemoError(f"{email} exists already")
    return DemoUser(user.user_id, name, email, user.mobile, role, password,
                    issue_session(user))


# ---- tariffs -------------------------------------------------------------------

def ensure_tariffs(admin: Api) -> list[str]:
    """DERC domestic FY2019-20 for residential and the example commercial tariff
    (created unless a version taking effect the same day exists)."""
    from functions.core.billing_rules.fixtures import (
        DERC_DOMESTIC_2019_20_JSON,
        EXAMPLE_COMMERCIAL_JSON,
    )

    created = []
    for body in (DERC_DOMESTIC_2019_20_JSON, EXAMPLE_COMMERCIAL_JSON):
        response = admin.call("POST", "/admin/tariffs", json=body, expect=(201, 409))
        if response and "version_id" in response:
            created.append(response["version_id"])
    return created


# ---- simulated meters --------------------------------------------------------

@dataclass
class MeterPlan:
    """One simulated meter to fit at a new property of `owner`."""

    owner: DemoUser
    category: str = "residential"
    load_kw: str = "3"
    initial_register_wh: int = 0
    register_wh: int | None = None  # a fixed register; None: the consumption profile
    behaviour: str = "normal"  # see device_client.meter.BEHAVIOURS
    label: str = ""
    protocol_version: int = 1  # 2: billing snapshots, ToD zones, export, maximum demand
    solar_kwp: float = 0.0  # rooftop solar on a v2 meter (export at midday)


@dataclass
class FittedMeter:
    plan: MeterPlan
    serial: str
    meter_id: str
    property_id: str


@dataclass
class Simulator:
    """A `python -m device_client simulate` subprocess serving every meter of a
    fleet file on 127.0.0.1."""

    directory: Path
    fleet_file: Path
    process: subprocess.Popen[bytes]
    ready: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.ready['port']}"

    def endpoint(self, serial: str) -> tuple[str, str]:
        """(public key, endpoint URL) of a served meter."""
        meter = next(m for m in self.ready["meters"] if m["serial"] == serial)
        return str(meter["public_key"]), str(meter["endpoint_url"])

    def provision(self, serial: str, provisioning: dict[str, Any]) -> None:
        # Everything the installer loads: ids, server and root keys, ToD zones.
        response = requests.post(f"{self.base_url}/meters/{serial}/provision", timeout=10,
                                 json=provisioning)
        if response.status_code != 200:
            raise DemoError(f"provisioning {serial}: {response.text[:200]}")

    def configure(self, serial: str, **changes: Any) -> None:
        response = requests.post(f"{self.base_url}/meters/{serial}/config", json=changes,
                                 timeout=10)
        if response.status_code != 200:
            raise DemoError(f"configuring {serial}: {response.text[:200]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_simulator(plans: list[MeterPlan], directory: Path | None = None,
                    prefix: str | None = None, workers: int = 16,
                    installed_days_ago: int = 30) -> tuple[Simulator, list[str]]:
    """Write a fleet file for `plans` (new keys, one per meter) and start the
    simulator. Returns it and the serials, in plan order."""
    from device_client.fleet import create_fleet

    directory = directory or Path(tempfile.mkdtemp(prefix="sim-", dir=_demo_dir()))
    prefix = prefix or f"D{secrets.token_hex(3).upper()}"
    fleet_file = directory / "fleet.json"
    create_fleet(fleet_file, len(plans), prefix=prefix,
                 start_at=datetime.now(UTC) - timedelta(days=installed_days_ago))
    fleet = json.loads(fleet_file.read_text())
    for entry, plan in zip(fleet["meters"], plans, strict=True):
        entry.update(profile=plan.category, behaviour=plan.behaviour,
                     start_register_wh=plan.initial_register_wh, register_wh=plan.register_wh,
                     protocol_version=plan.protocol_version, solar_kwp=plan.solar_kwp)
    fleet_file.write_text(json.dumps(fleet))
    ready_file = directory / "ready.json"
    # Its errors go to a file: a pipe read only at exit would fill up and stall the meters.
    errors = directory / "simulator.log"
    with errors.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "device_client", "simulate", "--fleet", str(fleet_file),
             "--port", "0", "--state-dir", str(directory / "state"), "--ready-file",
             str(ready_file), "--workers", str(workers), "--attempts", "4", "--backoff", "0.2"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL, stderr=sink)
    simulator = Simulator(directory, fleet_file, process)
    deadline = time.monotonic() + 60
    while not ready_file.exists():
        if process.poll() is not None:
            stderr = errors.read_bytes().decode(errors="replace")
            raise DemoError(f"the meter simulator exited: {stderr[-500:]}")
        if time.monotonic() > deadline:
            simulator.stop()
            raise DemoError("the meter simulator did not start in 60 s")
        time.sleep(0.1)
    simulator.ready = json.loads(ready_file.read_text())
    return simulator, [str(m["serial"]) for m in fleet["meters"]]


def fit_meters(admin: Api, simulator: Simulator, plans: list[MeterPlan], serials: list[str],
               workers: int = 8) -> list[FittedMeter]:
    """For each plan: the owner registers a property; the admin registers the
    meter, assigns it to the property and activates it; the installer
    provisions the meter (its id, the server key, the reading URL)."""

    from device_client.fleet import capabilities

    def fit(item: tuple[MeterPlan, str]) -> FittedMeter:
        plan, serial = item
        owner = admin.as_(plan.owner.token)
        prop = owner.post("/properties", json={
            "line1": f"{secrets.randbelow(900) + 100} {plan.label or 'Demo'} Marg",
            "city": "New Delhi", "state": "Delhi", "pincode": "110001",
            "category": plan.category, "sanctioned_load_kw": plan.load_kw})
        public_key, endpoint_url = simulator.endpoint(serial)
        meter = admin.post("/admin/meters", json={
            "serial": serial, "public_key": public_key, "model": "SIM-1", "firmware": "sim",
            "endpoint_url": endpoint_url, "initial_register_wh": plan.initial_register_wh,
            **capabilities(plan.protocol_version, plan.solar_kwp)})
        assigned = admin.post(f"/admin/meters/{meter['meter_id']}/assign",
                              json={"property_id": prop["property_id"]})
        admin.post(f"/admin/meters/{meter['meter_id']}/activate")
        simulator.provision(serial, assigned["provisioning"])
        return FittedMeter(plan, serial, meter["meter_id"], prop["property_id"])

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fit, zip(plans, serials, strict=True)))


# ---- a billing cycle -----------------------------------------------------------

def last_period(now: datetime | None = None) -> str:
    """The last complete calendar month in IST ("YYYY-MM")."""
    from functions.core.billing_rules import period_of

    return str(period_of(now or datetime.now(UTC)).previous())


def wait_until(condition: Callable[[], Any], timeout: float, step: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(step)


def settled(view: dict[str, Any], expected_answers: int | None = None) -> bool:
    """Every meter asked has been tried, and every reading that came in has a
    verdict (accepted readings have their bill)."""
    progress = view["progress"]
    tried = progress["requests_sent"] + progress["delivery_failures"] >= progress["meters_asked"]
    answers = progress["answered"] if expected_answers is None else expected_answers
    decided = progress["rejected"] + progress["held"] + progress["bills_issued"] >= answers
    return bool(tried and progress["answered"] >= answers and decided)


# ---- make run ------------------------------------------------------------------

def seed_demo(api_url: str, meters: int) -> subprocess.Popen[bytes]:
    """Demo admin and customers (passwords printed), the reference tariffs,
    properties and `meters` simulated meters; returns the simulator process
    (the caller stops it)."""
    tag = datetime.now(UTC).strftime("%H%M%S")
    admin_user = create_demo_user("admin", "Demo Admin", f"demo-{tag}")
    customers = [create_demo_user("customer", name, f"{name.split()[0].lower()}-{tag}")
                 for name in ("Asha Verma", "Ravi Kumar", "Meera Iyer")]
    admin = Api(api_url, admin_user.token)
    ensure_tariffs(admin)
    plans = [MeterPlan(owner=customers[i % len(customers)],
                       category="commercial" if i % 4 == 3 else "residential",
                       load_kw="10" if i % 4 == 3 else ("3", "5", "2")[i % 3],
                       initial_register_wh=1_000_000 + 37_000 * i, label=f"House {i + 1}",
                       # a mixed fleet: every other meter speaks v2, some with rooftop solar
                       protocol_version=2 if i % 2 else 1,
                       solar_kwp=3.0 if i % 6 == 1 else 0.0)
             for i in range(max(0, meters))]
    simulator, serials = start_simulator(plans)
    try:
        fit_meters(admin, simulator, plans, serials)
    except BaseException:  # Ctrl-C or SIGTERM while fitting: no simulator left behind
        simulator.stop()
        raise
    print("demo       accounts (local only; passwords generated for this run):")
    for user in (admin_user, *customers):
        print(f"             {user.role:8} {user.email:34} password {user.password}")
    print("             admins confirm sign-in with an SMS code: see `make outbox`")
    print(f"meters     {len(plans)} simulated by device_client (pid {simulator.process.pid}); "
          "start a billing run in the admin portal, or run `make demo` in another terminal")
    return simulator.process


def _demo_dir() -> Path:
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    return DEMO_DIR
