"""Helpers shared by the tariff, billing, run and end-to-end tests."""

from __future__ import annotations

from typing import Any

from functions.core.billing_rules.fixtures import (
    DERC_DOMESTIC_2019_20_JSON,
    EXAMPLE_COMMERCIAL_JSON,
)


def ensure_reference_tariffs(as_admin: Any) -> None:
    """The DERC domestic tariff and the example commercial one, through the API
    (created once per test session; 409 means an earlier test created it)."""
    for body in (DERC_DOMESTIC_2019_20_JSON, EXAMPLE_COMMERCIAL_JSON):
        response = as_admin.post("/admin/tariffs", json=body)
        assert response.status_code in (201, 409), response.text
