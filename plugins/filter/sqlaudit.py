"""Ansible filters: the Galera-compatibility audit of heroes_infra.sqlaudit, as a playbook step.

{{ ['/srv/app'] | heroes_sql_audit_paths }}            -> findings in source trees (controller)
{{ digests | heroes_sql_audit_text('db1 digests') }}    -> findings in statement digests (a list or a text)
{{ findings | heroes_sql_audit_render }}               -> the table people read
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

_SRC = Path(__file__).resolve().parents[2] / "src"
if str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

from heroes_infra.sqlaudit import Finding, audit, audit_text, render  # noqa: E402


def heroes_sql_audit_paths(paths: Sequence[str]) -> list[dict[str, Any]]:
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise ValueError(f"sql_audit_paths: {', '.join(missing)} does not exist on the controller")
    return [asdict(f) for f in audit(Path(p) for p in paths)]


def heroes_sql_audit_text(text: str | Sequence[str], name: str) -> list[dict[str, Any]]:
    """Findings in a text, or in a list of statements (digests: one per line, line = index + 1).

    Give digests as the list: a template cannot join them with a real newline (a literal
    backslash-n would glue its 'n' to the next keyword and hide it)."""
    if not isinstance(text, str):
        text = "\n".join(f"{statement};" for statement in text)
    return [asdict(f) for f in audit_text(text, name)]


def heroes_sql_audit_render(findings: Sequence[Mapping[str, Any]]) -> str:
    return render([Finding(**dict(f)) for f in findings])


class FilterModule:
    """heroes-infra filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "heroes_sql_audit_paths": heroes_sql_audit_paths,
            "heroes_sql_audit_text": heroes_sql_audit_text,
            "heroes_sql_audit_render": heroes_sql_audit_render,
        }
