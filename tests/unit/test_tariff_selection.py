from datetime import date

import pytest

from functions.core.billing_rules.errors import BillingRuleError, TariffNotFound
from functions.core.billing_rules.fixtures import DERC_DOMESTIC_2019_20, EXAMPLE_COMMERCIAL
from functions.core.billing_rules.tariff import TariffVersion, select_tariff


def version(name: str, effective_from: str, category: str = "residential") -> TariffVersion:
    return TariffVersion.model_validate({
        **DERC_DOMESTIC_2019_20.model_dump(),
        "name": name, "effective_from": effective_from, "category": category,
    })


FY19 = version("FY19", "2019-08-01")
FY20 = version("FY20", "2020-10-01")
FY21 = version("FY21", "2021-04-01")
VERSIONS = [FY21, FY19, EXAMPLE_COMMERCIAL, FY20]  # order must not matter


@pytest.mark.parametrize(("on", "expected"), [
    ("2019-08-01", "FY19"),  # in force from its first day
    ("2020-09-30", "FY19"),
    ("2020-10-01", "FY20"),
    ("2021-03-31", "FY20"),
    ("2021-04-01", "FY21"),
    ("2030-01-01", "FY21"),
])
def test_latest_version_on_or_before_the_date(on, expected):
    assert select_tariff(VERSIONS, "residential", date.fromisoformat(on)).name == expected


def test_category_is_respected():
    chosen = select_tariff(VERSIONS, "commercial", date(2021, 5, 1))
    assert chosen is EXAMPLE_COMMERCIAL


def test_nothing_in_force_yet():
    with pytest.raises(TariffNotFound, match="no residential tariff is in force on 2019-07-31"):
        select_tariff(VERSIONS, "residential", date(2019, 7, 31))


def test_no_version_of_the_category():
    with pytest.raises(TariffNotFound):
        select_tariff([FY19], "commercial", date(2025, 1, 1))


def test_two_versions_on_the_same_date_are_ambiguous():
    twin = version("FY20 again", "2020-10-01")
    with pytest.raises(BillingRuleError, match="2 residential tariff versions take effect"):
        select_tariff([FY19, FY20, twin], "residential", date(2021, 1, 1))
    # but they do not matter for a date before them
    assert select_tariff([FY19, FY20, twin], "residential", date(2020, 1, 1)) is FY19
