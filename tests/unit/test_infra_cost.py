"""The cost model behind docs/cost-estimate.md, and the page itself kept equal to it."""

from __future__ import annotations

from infra.cost import PRICES, calls_per_meter, calls_table, estimate, markdown
from infra.stages import ROOT

DOC = ROOT / "docs" / "cost-estimate.md"


def total(measured: dict[str, float] | None = None, meters: int = 1_000_000) -> float:
    return sum(line.usd for line in estimate(meters, measured))


def test_the_design_target_is_at_most_six_calls_per_billed_meter() -> None:
    assert sum(calls_per_meter().values()) <= 6


def test_the_page_shows_exactly_what_the_model_computes() -> None:
    page = DOC.read_text()
    assert calls_table() in page
    assert markdown(1_000_000) in page
    assert f"About ${round(total()):,} a month" in page


def test_measured_calls_replace_the_design_calls_service_by_service() -> None:
    design = {line.service: line.usd for line in estimate(1_000_000)}
    doubled = {line.service: line.usd for line in estimate(1_000_000, {"dynamodb": 8.0})}
    assert doubled["DynamoDB"] == design["DynamoDB"] * 2
    assert doubled["SES"] == design["SES"]
    assert calls_per_meter({"dynamodb": 8.0})["dynamodb"] == 8.0


def test_cost_grows_linearly_with_meters_apart_from_the_fixed_part() -> None:
    fixed = next(line.usd for line in estimate(1) if line.service == "Fixed")
    per_meter = total(meters=1_000_000) - fixed
    assert abs((total(meters=2_000_000) - fixed) - 2 * per_meter) < 1e-6


def test_email_is_priced_per_thousand() -> None:
    ses = next(line for line in estimate(1_000_000) if line.service == "SES")
    assert ses.usd == 1_000_000 * PRICES["ses_email"] == 100.0
