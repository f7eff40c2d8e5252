"""Every Blueprint of the API, in registration order. app.py registers them."""

from __future__ import annotations

from chalice import Blueprint

from functions.api import http, properties, system, tariffs


def all_blueprints() -> list[Blueprint]:
    return [http.auth_blueprint, system.bp, properties.bp, tariffs.bp]
