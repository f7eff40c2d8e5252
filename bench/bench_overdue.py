"""The overdue sweep's and the defaulters list's AWS calls, counted on the emulator.

    python -m bench.bench_overdue [--bills 2000] [--payers 500] [--page 200]

Writes `--bills` issued bills past their due date for `--payers` payers, runs the sweep
(start, then every step until the queue is empty, in this process, on the real
overdue_steps queue) and reads the defaulters list page by page. Every botocore call of
the sweep's steps and of the list is counted (a hook on client creation, as
bench_billing does); the bills' setup and the script's own queue polling are not.
Prints calls per bill swept, the most bills one step handled, and calls per list page.
The figures do not depend on the fleet: a step reads one page of one shard.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

from devstack.emulator import free_port

os.environ.update({
    "APP_STAGE": "local", "RESOURCE_PREFIX": f"iotbill-bench-{uuid.uuid4().hex[:6]}",
    "AWS_DEFAULT_REGION": "ap-south-1",
    # The emulator accepts any credentials; these are placeholders, not secrets.
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
})
os.environ.pop("AWS_PROFILE", None)


class Calls:
    def __init__(self) -> None:
        self.counting = False
        self.counts: Counter[str] = Counter()

    def hook(self, model: Any, **_: Any) -> None:
        if self.counting:
            self.counts[f"{model.service_model.service_name}:{model.name}"] += 1

    def install(self) -> None:
        import botocore.session

        original = botocore.session.Session.create_client
        calls = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            created = original(session, *args, **kwargs)
            created.meta.events.register("before-parameter-build", calls.hook)
            return created

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign,assignment]


CALLS = Calls()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bills", type=int, default=2000)
    parser.add_argument("--payers", type=int, default=500)
    parser.add_argument("--page", type=int, default=200)
    args = parser.parse_args()
    CALLS.install()

    from devstack.emulator import Emulator
    from devstack.provision import provision
    from functions.core.accounts.models import UserRecord
    from functions.core.billing_rules import ist_date
    from functions.core.bills.models import BillRecord
    from functions.core.clock import utcnow
    from functions.core.messages import OverdueStep
    from functions.core.payments.defaulters import list_defaulters
    from functions.core.payments.overdue import OverdueSweep, start_sweep
    from functions.core.payments.schemas import DefaulterQuery
    from functions.core.runs.queues import queue_url

    emulator = Emulator(int(os.environ["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])).start()
    try:
        provision()
        now = utcnow()
        due = (ist_date(now) - timedelta(days=3)).isoformat()
        payers = [f"usr_bench_{n:05d}" for n in range(args.payers)]
        with UserRecord.batch_write() as users:
            for payer in payers:
                users.save(UserRecord(user_id=payer, email=f"{payer}@example.in", name=payer,
                                      mobile="+919800000000", role="customer",
                                      status="verified", role_status="customer#verified",
                                      created_at=now.isoformat()))
        with BillRecord.batch_write() as batch:
            for n in range(args.bills):
                period = f"20{10 + n // 12000:02d}-{n % 12 + 1:02d}"
                batch.save(BillRecord(
                    bill_id=f"BILL-bench{n:07d}-{period}", property_id=f"bench{n:07d}",
                    period=period, payer_id=payers[n % len(payers)],
                    owner_id=payers[n % len(payers)], meter_id="m", run_id=period,
                    issued_at=now, due_date=due, category="residential", tariff_name="t",
                    tariff_version="residential@2026-04-01", sanctioned_load_kw="3",
                    late_payment_surcharge_percent="2", units=100,
                    share_first_day=f"{period}-01", share_last_day=f"{period}-28",
                    total="1000.00", total_paise=100_000))

        from functions.core.aws import client

        sqs, url = client("sqs"), queue_url("overdue_steps")
        sweep = OverdueSweep(page_size=args.page)
        started = time.monotonic()
        CALLS.counting = True
        start_sweep(now)
        CALLS.counting = False
        steps, largest, marked = 0, 0, 0
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            messages = got.get("Messages", [])
            if not messages:
                break
            for message in messages:
                CALLS.counting = True
                done = sweep.handle(OverdueStep.model_validate_json(message["Body"]))
                CALLS.counting = False
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                steps += 1
                largest = max(largest, done.read)
                marked += done.marked
        seconds = time.monotonic() - started
        sweep_calls = sum(CALLS.counts.values())
        sweep_counts = dict(CALLS.counts)
        CALLS.counts.clear()

        pages, listed, cursor = 0, 0, None
        CALLS.counting = True
        while True:
            listing, _ = list_defaulters(DefaulterQuery(limit=50, cursor=cursor), utcnow())
            pages += 1
            listed += listing.count
            cursor = listing.cursor
            if not cursor:
                break
        CALLS.counting = False
        list_calls = sum(CALLS.counts.values())

        print(f"bills {args.bills}, payers {args.payers}, page {args.page}: {marked} marked "
              f"in {steps} steps ({seconds:.1f} s on this machine), most bills in one step "
              f"{largest}")
        print(f"sweep: {sweep_calls} AWS calls, {sweep_calls / max(1, marked):.2f} per bill")
        for name, count in sorted(sweep_counts.items(), key=lambda kv: -kv[1]):
            print(f"  {name}: {count}")
        print(f"defaulters: {listed} payers in {pages} pages of up to 50, {list_calls} AWS "
              f"calls, {list_calls / pages:.1f} per page")
        for name, count in sorted(CALLS.counts.items(), key=lambda kv: -kv[1]):
            print(f"  {name}: {count}")
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
