"""Fixtures shared by several integration modules (used where named)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.billing_support import ensure_reference_tariffs
from tests.integration.meters_support import retire_fitted


@pytest.fixture
def meters_retired_after_each_test(admin: Any) -> Iterator[None]:
    """Reference tariffs exist before any reading reaches billing (its tariff cache), and
    the meters a test activated are retired after it (later runs must not ask them)."""
    ensure_reference_tariffs(admin[1])
    yield
    retire_fitted()
