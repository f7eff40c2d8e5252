"""PDF bill generation time and size (`make bench` runs it; `python -m bench.bench_pdf`).

Renders a representative bill (five charge lines, arrears, 12 months of history, the
UPI QR code) in each language, in one process, without AWS: what the API's
GET /bills/{id}/pdf spends on a bill the first time it is asked for (later requests
only sign a URL to the stored object). The first render of a process also fixes the
variable font at one weight (a cold Lambda pays it once; the temp dir keeps it for a
warm one); it is shown apart.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal

from functions.core.bills.models import BillRecord, LineItemAttribute
from functions.core.bills.pdf import BillPdfInput, render_bill_pdf, static_font

LINES = [("energy", "Energy 0-100 kWh", "100", "kWh", "3.00", "300.00"),
         ("energy", "Energy 101-300 kWh", "200", "kWh", "4.50", "900.00"),
         ("energy", "Energy above 300 kWh", "12", "kWh", "6.00", "72.00"),
         ("fixed", "Fixed charge", "5", "kW", "20.00", "100.00"),
         ("percentage", "Electricity duty 16%", "1372.00", "INR", "16", "219.52")]


def sample_bill() -> BillRecord:
    total = sum(Decimal(line[5]) for line in LINES)
    return BillRecord(
        bill_id="BILL-prp_0123456789abcdef-2026-11", property_id="prp_0123456789abcdef",
        consumer_number="1000000017", period="2026-11", payer_id="usr_1", owner_id="usr_1",
        meter_id="mtr_0123456789abcdef", run_id="run_1", status="issued",
        issued_at=datetime(2026, 12, 1, 4, 30, tzinfo=UTC), due_date="2026-12-16",
        category="residential", tariff_name="Residential LT-I",
        tariff_version="residential@2026-04-01", sanctioned_load_kw="5",
        late_payment_surcharge_percent="2", units=312, share_first_day="2026-11-01",
        share_last_day="2026-11-30", previous_register_wh=10_000_000,
        current_register_wh=10_312_000, previous_read_at=datetime(2026, 11, 1, tzinfo=UTC),
        current_read_at=datetime(2026, 12, 1, tzinfo=UTC), total=f"{total:.2f}",
        total_paise=int(total * 100), arrears_paise=70_000, arrears_surcharge_paise=1_400,
        line_items=[LineItemAttribute(kind=k, label=label, quantity=q, unit=u, rate=r,
                                      amount=a) for k, label, q, u, r, a in LINES])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20, help="PDFs per language")
    args = parser.parse_args(argv)
    history = [(f"2025-{m:02d}", 200 + 9 * m) for m in range(12, 13)] + [
        (f"2026-{m:02d}", 180 + 11 * m) for m in range(1, 12)]
    started = time.perf_counter()
    static_font()
    print(f"bench_pdf: font fixed at one weight (once per process): "
          f"{time.perf_counter() - started:.2f} s")
    bill = sample_bill()
    for lang in ("en", "hi", "mr"):
        data = BillPdfInput(bill, "Asha Deshpande", "7 Residency Road, Pune, 411001",
                            history, lang)
        times, size = [], 0
        for _ in range(args.count):
            started = time.perf_counter()
            size = len(render_bill_pdf(data))
            times.append(time.perf_counter() - started)
        times.sort()
        print(f"bench_pdf: {lang}: {args.count} PDFs, median {statistics.median(times) * 1000:.0f}"
              f" ms, p95 {times[int(len(times) * 0.95) - 1] * 1000:.0f} ms, "
              f"{size / 1024:.1f} KiB each")


if __name__ == "__main__":
    main()
