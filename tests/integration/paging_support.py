"""Following an admin list's cursor, as the portal does."""

from __future__ import annotations

from typing import Any


def every_page(admin_client: Any, path: str, key: str, **params: Any
               ) -> tuple[list[dict[str, Any]], int]:
    """A paged admin list followed to its end: (rows, pages read)."""
    rows: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        response = admin_client.get(path, params={**params,
                                                  **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        rows += response.json()[key]
        pages += 1
        cursor = response.json()["cursor"]
        if cursor is None:
            return rows, pages
