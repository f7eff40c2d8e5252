"""The local stack tells the truth (issue 22, item 6): `make run`'s portal talks to the
API port in use, a port in use stops the stack before it starts, `make demo` uses no
stack it does not know, and SIGTERM or SIGINT (also in the background) stops the stack
within seconds. One real stack (a `python -m devstack.stack` process) for the module."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.emulator import free_port
from devstack.stack import known_stack, record_path

ROOT = Path(__file__).resolve().parents[2]


def ignore_sigint() -> None:
    # What a non-interactive shell does to a job started with `&`.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def background(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen([sys.executable, "-u", *args], cwd=ROOT, stdout=sink,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=ignore_sigint)


def wait_for(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = log.read_text(errors="replace")
        if text in out:
            return out
        if process.poll() is not None:
            pytest.fail(f"exited ({process.returncode}) before {text!r}:\n{out[-3000:]}")
        time.sleep(0.2)
    pytest.fail(f"no {text!r} within {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


def stopped_within(process: subprocess.Popen[bytes], signum: int) -> float:
    began = time.monotonic()
    process.send_signal(signum)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return time.monotonic() - began


@dataclass
class RunningStack:
    process: subprocess.Popen[bytes]
    log: Path
    api: str
    portal: str
    emulator: str


def start_stack(directory: Path) -> Iterator[RunningStack]:
    emulator_port, api_port, site_port = free_port(), free_port(), free_port()
    log = directory / "stack.log"
    process = background(["-m", "devstack.stack", "--no-seed", "--emulator-port",
                          str(emulator_port), "--api-port", str(api_port), "--site-port",
                          str(site_port)], log)
    try:
        wait_for(log, "stops everything", process, timeout=180)
        yield RunningStack(process, log, f"http://127.0.0.1:{api_port}",
                           f"http://127.0.0.1:{site_port}", f"http://127.0.0.1:{emulator_port}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    yield from start_stack(tmp_path_factory.mktemp("stack"))


@pytest.fixture
def stack_to_stop(tmp_path: Path) -> Iterator[RunningStack]:
    """A stack of the test's own: stopping the module's would fail the tests after it
    in any other order."""
    yield from start_stack(tmp_path)


def test_the_portal_is_built_for_the_api_port_in_use(running: RunningStack) -> None:
    page = requests.get(f"{running.portal}/index.html", timeout=10)
    assert page.status_code == 200
    api_base = re.search(r'<meta name="api-base" content="([^"]+)"', page.text)
    assert api_base is not None and api_base.group(1) == running.api
    assert f"connect-src 'self' {running.api}" in page.text  # the CSP lets it call that API
    assert requests.get(f"{api_base.group(1)}/health", timeout=10).json()["status"] == "ok"


def test_a_port_in_use_stops_the_stack_before_it_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "devstack.stack", "--no-seed", "--api-port", str(port),
             "--emulator-port", str(free_port()), "--site-port", str(free_port())],
            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert f"stack not started: port {port} in use" in out.stderr


class Foreign(BaseHTTPRequestHandler):
    """Something else on a port: it answers 200 to everything, /health included."""

    def do_GET(self) -> None:
        body = json.dumps({"status": "ok"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_make_demo_uses_only_a_stack_it_knows(running: RunningStack) -> None:
    # make run's stack is known: its record names its emulator.
    record = known_stack(running.api)
    assert record is not None and record["emulator"] == running.emulator

    foreign = ThreadingHTTPServer(("127.0.0.1", 0), Foreign)
    threading.Thread(target=foreign.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{foreign.server_address[1]}"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = record_path(url)
    try:
        assert known_stack(url) is None
        # Also when a stack once ran there: its process is gone.
        stale.write_text(json.dumps({"pid": dead.pid, "api": url, "emulator": running.emulator,
                                     "portal": None, "resource_prefix": "iotbill-local"}))
        for stack_url in (url, f"http://127.0.0.1:{free_port()}"):  # nothing there
            out = subprocess.run([sys.executable, "-m", "devstack.demo", "--meters", "1",
                                  "--stack", stack_url], cwd=ROOT, capture_output=True,
                                 text=True, timeout=60)
            assert out.returncode == 2, out.stdout + out.stderr
            assert f"demo refused: {stack_url} is not a stack that `make run` started" \
                in out.stderr
            assert "Sign in" not in out.stdout
    finally:
        stale.unlink(missing_ok=True)
        foreign.shutdown()
        foreign.server_close()
    # `make demo STACK=...` passes the stack on; without it the demo starts its own.
    dry = subprocess.run(["make", "-n", "demo", f"STACK={url}", "METERS=3"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert f"-m devstack.demo --meters 3 --stack {url}" in dry.stdout
    dry = subprocess.run(["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert "--stack" not in dry.stdout


def test_sigint_stops_a_process_started_in_the_background(tmp_path: Path) -> None:
    """Python raises no KeyboardInterrupt when SIGINT was ignored at its start (a shell's
    background job); the stack's handler (the one `running` uses) stops it anyway."""
    log = tmp_path / "sigint.log"
    process = background(["-c", "import time\nfrom devstack.stack import stop_on_signals\n"
                          "stop_on_signals()\nprint('waiting', flush=True)\n"
                          "try:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n"
                          "    print('stopped', flush=True)\n"], log)
    wait_for(log, "waiting", process, timeout=30)
    assert stopped_within(process, signal.SIGINT) < 5
    assert "stopped" in log.read_text()


def test_sigterm_stops_the_stack_within_10_s(stack_to_stop: RunningStack) -> None:
    """A stack started in the background stops on SIGTERM, and says so."""
    took = stopped_within(stack_to_stop.process, signal.SIGTERM)
    assert stack_to_stop.process.returncode == 0
    assert took < 10, f"{took:.1f} s"
    assert "stopped." in stack_to_stop.log.read_text()
    assert not record_path(stack_to_stop.api).exists()  # no demo picks up a stopped stack
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{stack_to_stop.api}/health", timeout=2)
