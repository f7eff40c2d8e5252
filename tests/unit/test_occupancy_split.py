import random
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest

from functions.core.billing_rules.errors import InvalidOccupancy
from functions.core.billing_rules.fixtures import DERC_DOMESTIC_2019_20
from functions.core.billing_rules.occupancy import OccupancySpan, split_by_days
from functions.core.billing_rules.periods import parse_period
from functions.core.billing_rules.tariff import LineItem, PricedBill, price

D = Decimal
OCTOBER = parse_period("2026-10")  # 31 days
BILL = price(DERC_DOMESTIC_2019_20, 300, D(3))  # the 1380.00 worked example


def span(who: str, first: int, last: int) -> OccupancySpan:
    return OccupancySpan(who, date(2026, 10, first), date(2026, 10, last))


def test_tenant_change_splits_every_line_by_days():
    tenant, owner = split_by_days(BILL, [span("tenant", 1, 12), span("owner", 13, 31)], OCTOBER)
    # tenant: 12/31 of each line, rounded half up; owner: the rest of each line
    assert [line.amount for line in tenant.lines] == [
        D("232.26"),  # 600 x 12/31 = 232.258
        D("174.19"),  # 450 x 12/31 = 174.193
        D("58.06"),  # 150 x 12/31 = 58.064
        D("32.52"),  # 84 x 12/31 = 32.516
        D("37.16"),  # 96 x 12/31 = 37.161
    ]
    assert [line.amount for line in owner.lines] == [
        D("367.74"), D("275.81"), D("91.94"), D("51.48"), D("58.84")]
    assert tenant.total == D("534.19")
    assert owner.total == D("845.81")
    assert tenant.total + owner.total == BILL.total == D("1380.00")
    assert (tenant.days, owner.days) == (12, 19)
    assert (tenant.days_fraction, owner.days_fraction) == ("12/31", "19/31")
    assert (tenant.units, owner.units) == (D("116.129"), D("183.871"))
    assert [line.label for line in tenant.lines] == [line.label for line in BILL.lines]


def test_one_occupant_for_the_whole_period_gets_the_whole_bill():
    (share,) = split_by_days(BILL, [span("owner", 1, 31)], OCTOBER)
    assert [line.amount for line in share.lines] == [line.amount for line in BILL.lines]
    assert share.total == BILL.total
    assert share.units == D(300)


def test_spans_may_come_in_any_order():
    shares = split_by_days(BILL, [span("b", 16, 31), span("a", 1, 15)], OCTOBER)
    assert [s.occupant_id for s in shares] == ["a", "b"]


def test_small_line_never_gives_a_negative_share():
    # A 2-paise line over 10 + 10 + 10 + 1 days. Rounding each earlier share on its own
    # (0.00645 -> 0.01 three times) would leave the last occupant -0.01.
    tiny = PricedBill(
        tariff_name="t", category="residential", tariff_effective_from=date(2019, 8, 1),
        units=D(0), sanctioned_load_kw=D(1),
        lines=(LineItem(kind="flat", label="Tiny", amount=D("0.02")),),
        energy_total=D(0), fixed_total=D(0), percentage_total=D(0), flat_total=D("0.02"),
        total=D("0.02"),
    )
    shares = split_by_days(
        tiny, [span("a", 1, 10), span("b", 11, 20), span("c", 21, 30), span("d", 31, 31)],
        OCTOBER)
    # cumulative: R(0.02x10/31)=0.01, R(0.02x20/31)=0.01, R(0.02x30/31)=0.02, R(0.02)=0.02
    assert [s.total for s in shares] == [D("0.01"), D("0.00"), D("0.01"), D("0.00")]


def test_shares_always_add_up_exactly():
    rng = random.Random(20261001)
    for _ in range(200):
        units = rng.randint(0, 3000)
        bill = price(DERC_DOMESTIC_2019_20, units, D(rng.choice(["1", "2.5", "7", "30"])))
        cuts = sorted(rng.sample(range(2, 32), rng.randint(0, 5)))
        bounds = [1, *cuts, 32]
        spans = [span(f"o{i}", a, b - 1) for i, (a, b) in enumerate(pairwise(bounds))]
        shares = split_by_days(bill, spans, OCTOBER)
        assert sum(s.total for s in shares) == bill.total
        assert sum(s.units for s in shares) == bill.units
        for i, line in enumerate(bill.lines):
            parts = [s.lines[i].amount for s in shares]
            assert sum(parts) == line.amount
            assert all(part >= 0 for part in parts)
            for s, part in zip(shares, parts, strict=True):  # within a paisa of exact
                assert abs(part - line.amount * s.days / 31) <= D("0.01")


class TestSpansMustTileThePeriod:
    def test_gap(self):
        with pytest.raises(InvalidOccupancy, match="nobody is recorded as occupant from "
                                                   "2026-10-11 to 2026-10-12"):
            split_by_days(BILL, [span("a", 1, 10), span("b", 13, 31)], OCTOBER)

    def test_overlap(self):
        with pytest.raises(InvalidOccupancy, match="overlaps"):
            split_by_days(BILL, [span("a", 1, 12), span("b", 12, 31)], OCTOBER)

    def test_starts_after_the_first_day(self):
        with pytest.raises(InvalidOccupancy, match="from 2026-10-01 to 2026-10-01"):
            split_by_days(BILL, [span("a", 2, 31)], OCTOBER)

    def test_starts_before_the_period(self):
        early = OccupancySpan("a", date(2026, 9, 30), date(2026, 10, 31))
        with pytest.raises(InvalidOccupancy, match="starts before 2026-10"):
            split_by_days(BILL, [early], OCTOBER)

    def test_ends_before_the_last_day(self):
        with pytest.raises(InvalidOccupancy, match="must end on 2026-10-31"):
            split_by_days(BILL, [span("a", 1, 30)], OCTOBER)

    def test_runs_past_the_period(self):
        late = OccupancySpan("a", date(2026, 10, 1), date(2026, 10, 31) + timedelta(days=1))
        with pytest.raises(InvalidOccupancy, match="must end on 2026-10-31"):
            split_by_days(BILL, [late], OCTOBER)

    def test_ends_before_it_starts(self):
        with pytest.raises(InvalidOccupancy, match="before it starts"):
            split_by_days(BILL, [span("a", 1, 10), span("b", 11, 10)], OCTOBER)

    def test_nobody(self):
        with pytest.raises(InvalidOccupancy, match="no occupant"):
            split_by_days(BILL, [], OCTOBER)
