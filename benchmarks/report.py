"""What every benchmark ends with: a table for people and the figures as JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns as wide as their widest cell; the first one left-aligned, the others right."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = []
    for row in [headers, *rows]:
        rest = [str(c).rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        cells = [str(row[0]).ljust(widths[0]), *rest]
        lines.append("  ".join(cells))
    return "\n".join(lines)


def finish(headers: Sequence[str], rows: Sequence[Sequence[str]], result: Any, path: Path) -> None:
    print(table(headers, rows))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written: {path}")
