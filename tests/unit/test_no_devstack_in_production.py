"""Production code (functions/, app.py) never imports the local platform (devstack/):
the developer outbox reads the emulator over HTTP (functions/core/notifications/mailbox.py)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_no_production_module_imports_devstack() -> None:
    sources = [ROOT / "app.py", *sorted((ROOT / "functions").rglob("*.py"))]
    offenders = [str(path.relative_to(ROOT)) for path in sources
                 if any(m == "devstack" or m.startswith("devstack.")
                        for m in imported_modules(path))]
    assert offenders == []
