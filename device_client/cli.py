"""python -m device_client: the meter program.

    keygen   --out meter.key                 new key file (0600), prints the public key
    pubkey   --key meter.key                 prints the public key of a key file
    fleet    --meters N --out fleet.json     N keys + a fleet file; prints what to register
    run      --key meter.key --serial S ...  one meter
    simulate --meters N | --fleet F ...      many meters behind one HTTP server

Both `run` and `simulate` serve http://127.0.0.1:<port>/meters/<serial>/read-requests and
print one JSON line with every meter's serial, public key and endpoint URL when ready
(also written to --ready-file), so a script can register them through the admin API.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from device_client import crypto
from device_client.fleet import FleetEntry, create_fleet, load_fleet, write_private_key
from device_client.meter import BEHAVIOURS, Meter, MeterConfig
from device_client.profiles import PROFILES
from device_client.sender import RetryPolicy, Sender
from device_client.server import MeterHost
from device_client.state import StateStore


def _keygen(args: argparse.Namespace) -> int:
    try:
        key = write_private_key(args.out)
    except FileExistsError:
        print(f"{args.out} exists; not overwriting a meter key", file=sys.stderr)
        return 1
    print(json.dumps({"key_file": str(args.out), "public_key": crypto.public_key_b64(key),
                      "key_id": crypto.key_id(key)}))
    return 0


def _pubkey(args: argparse.Namespace) -> int:
    from device_client.fleet import read_private_key

    key = read_private_key(args.key)
    print(json.dumps({"public_key": crypto.public_key_b64(key), "key_id": crypto.key_id(key)}))
    return 0


def _fleet(args: argparse.Namespace) -> int:
    meters = create_fleet(args.out, args.meters, key_dir=args.key_dir, prefix=args.prefix,
                          start_register_wh=args.start_register_wh, speedup=args.speedup,
                          server_public_keys=args.server_key or None)
    print(json.dumps({"fleet": str(args.out), "meters": meters}))
    return 0


def _entries_for_run(args: argparse.Namespace) -> list[FleetEntry]:
    from device_client.fleet import read_private_key

    config = MeterConfig(serial=args.serial, private_key=read_private_key(args.key),
                         profile=args.profile, seed=args.seed, behaviour=args.behaviour,
                         start_register_wh=args.start_register_wh, speedup=args.speedup)
    return [FleetEntry(config, args.meter_id, list(args.server_key or []), None)]


def _entries_for_simulate(args: argparse.Namespace) -> list[FleetEntry]:
    if args.fleet:
        return load_fleet(args.fleet)
    if not args.meters:
        raise SystemExit("simulate needs --fleet FILE or --meters N")
    fleet_file = Path(args.state_dir) / "fleet.json"
    if not fleet_file.exists():
        create_fleet(fleet_file, args.meters, prefix=args.prefix,
                     start_register_wh=args.start_register_wh, speedup=args.speedup,
                     server_public_keys=args.server_key or None)
    return load_fleet(fleet_file)


def _serve(entries: list[FleetEntry], args: argparse.Namespace) -> int:
    store = StateStore(args.state_dir)
    sender = Sender(workers=args.workers,
                    policy=RetryPolicy(attempts=args.attempts, backoff_base=args.backoff))
    meters = []
    for entry in entries:
        meter = Meter(entry.config, store, sender)
        if entry.meter_id and entry.server_public_keys and not meter.state.meter_id:
            meter.provision(entry.meter_id, entry.server_public_keys, entry.reading_url)
        meters.append(meter)
    host = MeterHost(meters, port=args.port)
    ready: dict[str, Any] = {
        "port": host.port,
        "meters": [{"serial": m.serial, "public_key": m.public_key,
                    "endpoint_url": host.url(m.serial), "profile": m.config.profile,
                    "meter_id": m.state.meter_id} for m in meters],
    }
    if args.ready_file:
        tmp = f"{args.ready_file}.tmp"
        Path(tmp).write_text(json.dumps(ready))
        os.replace(tmp, args.ready_file)
    print(json.dumps(ready), flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    host.start()
    stop.wait()
    host.stop()
    sender.shutdown()
    return 0


def _add_serving_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    parser.add_argument("--state-dir", default=".meters", help="counters and provisioning")
    parser.add_argument("--ready-file", help="write the ready JSON here once listening")
    parser.add_argument("--workers", type=int, default=8, help="concurrent reading posts")
    parser.add_argument("--attempts", type=int, default=5, help="tries per reading post")
    parser.add_argument("--backoff", type=float, default=0.5, help="first retry delay (s)")
    parser.add_argument("--server-key", action="append",
                        help="a trusted server public key (repeat; current first)")
    parser.add_argument("--start-register-wh", type=int, default=0)
    parser.add_argument("--speedup", type=float, default=1.0,
                        help="simulated seconds of consumption per real second")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m device_client", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    keygen = commands.add_parser("keygen", help="create a meter key file (0600)")
    keygen.add_argument("--out", required=True)
    keygen.set_defaults(func=_keygen)

    pubkey = commands.add_parser("pubkey", help="print the public key of a key file")
    pubkey.add_argument("--key", required=True)
    pubkey.set_defaults(func=_pubkey)

    fleet = commands.add_parser("fleet", help="create N meter keys and a fleet file")
    fleet.add_argument("--meters", type=int, required=True)
    fleet.add_argument("--out", required=True)
    fleet.add_argument("--key-dir")
    fleet.add_argument("--prefix", default="SIM")
    fleet.add_argument("--start-register-wh", type=int, default=0)
    fleet.add_argument("--speedup", type=float, default=1.0)
    fleet.add_argument("--server-key", action="append")
    fleet.set_defaults(func=_fleet)

    run = commands.add_parser("run", help="run one meter")
    run.add_argument("--key", required=True)
    run.add_argument("--serial", required=True)
    run.add_argument("--meter-id", help="as given at assignment (provisioning)")
    run.add_argument("--profile", choices=sorted(PROFILES), default="residential")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--behaviour", choices=BEHAVIOURS, default="normal")
    _add_serving_options(run)
    run.set_defaults(func=lambda a: _serve(_entries_for_run(a), a))

    simulate = commands.add_parser("simulate", help="run many meters in one process")
    simulate.add_argument("--fleet", help="fleet file (see device_client/fleet.py)")
    simulate.add_argument("--meters", type=int, help="without --fleet: N meters, keys kept "
                                                     "in the state directory")
    simulate.add_argument("--prefix", default="SIM")
    _add_serving_options(simulate)
    simulate.set_defaults(func=lambda a: _serve(_entries_for_simulate(a), a))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
