"""A generated test-vector file and the section of docs/meter-protocol.md that shows it,
between two markers: what the v1, v2 and command vector tests share."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class VectorFile:
    vectors_path: Path
    doc_path: Path
    begin: str  # the doc section's markers
    end: str

    def load(self) -> dict[str, Any]:
        return dict(json.loads(self.vectors_path.read_text()))

    def section(self, doc: str) -> str:
        start = doc.index(self.begin)
        return doc[start:doc.index(self.end) + len(self.end)]

    def doc_section(self) -> str:
        return self.section(self.doc_path.read_text())

    def write(self, vectors: dict[str, Any], render: Callable[[dict[str, Any]], str]) -> None:
        """Store regenerated vectors and re-render the doc section (if its markers exist)."""
        self.vectors_path.write_text(json.dumps(vectors, indent=2, ensure_ascii=False) + "\n")
        doc = self.doc_path.read_text()
        if self.begin in doc:
            self.doc_path.write_text(doc.replace(self.section(doc), render(vectors)))
