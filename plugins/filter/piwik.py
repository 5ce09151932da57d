"""Ansible filters: the move off the Piwik names (roles/matomo tasks/piwik.yml), by heroes_infra.piwik.

{{ rows | heroes_piwik_state(prefix, config_db, old, new, old_schema, migrated) }}
  ->  {state, to_view, to_move, others, conflicts, stray_views}
{{ tables | heroes_piwik_views(old, new) }}    ->  the CREATE VIEW statements
{{ tables | heroes_piwik_swap(old, new) }}     ->  the one RENAME TABLE statement
{{ views | heroes_piwik_drop_views(new) }}     ->  the DROP VIEW statement
{{ tables | heroes_piwik_counts(db) }}         ->  one query: each table's row count
{{ table | heroes_piwik_qualified(db) }}       ->  `db`.`table`
{{ [counts, checksums] | heroes_piwik_measure }}  ->  {table: {rows, checksum}}
{{ before | heroes_piwik_compare(after, prefix) }}  ->  {same, grown, problems}
{{ hostvars[host] | heroes_piwik_inventory(kept) }}  ->  the variables still naming piwik
{{ places | heroes_piwik_report }}             ->  the report's lines
{{ text | heroes_piwik_ini_database }}         ->  config.ini.php's [database], without the password
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

_SRC = Path(__file__).resolve().parents[2] / "src"
if str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

from heroes_infra import piwik  # noqa: E402


def heroes_piwik_state(rows: Any, prefix: str, config_database: str, old: str, new: str,
                       old_schema: bool, migrated: bool) -> dict[str, Any]:
    objects = piwik.Objects.from_rows(list(rows or []), str(old), str(new))
    return piwik.state(objects, str(prefix), str(config_database or ""), str(old), str(new),
                       bool(old_schema), bool(migrated))


def heroes_piwik_views(tables: Any, old: str, new: str) -> list[str]:
    return piwik.view_statements(str(old), str(new), [str(t) for t in tables])


def heroes_piwik_swap(tables: Any, old: str, new: str) -> str:
    return piwik.swap_statement(str(old), str(new), [str(t) for t in tables])


def heroes_piwik_drop_views(views: Any, new: str) -> str:
    return piwik.drop_views_statement(str(new), [str(v) for v in views])


def heroes_piwik_compare(before: Any, after: Any, prefix: str) -> dict[str, Any]:
    return piwik.compare(dict(before), dict(after), str(prefix))


def heroes_piwik_inventory(variables: Any, kept: Any) -> list[dict[str, str]]:
    return piwik.inventory_places(dict(variables), {str(k): str(v) for k, v in dict(kept or {}).items()})


def heroes_piwik_ini_database(text: Any) -> dict[str, str]:
    return piwik.ini_database(str(text or ""))


def heroes_piwik_qualified(table: Any, database: str) -> str:
    return piwik.qualified(str(table), str(database))


def heroes_piwik_counts(tables: Any, database: str) -> str:
    return piwik.counts_statement([str(t) for t in tables], str(database))


def heroes_piwik_measure(results: Any) -> dict[str, dict[str, Any]]:
    return piwik.measure(list(results))


def heroes_piwik_report(places: Any) -> list[str]:
    return piwik.report_lines(list(places or []))


class FilterModule:
    """heroes-infra filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "heroes_piwik_state": heroes_piwik_state,
            "heroes_piwik_views": heroes_piwik_views,
            "heroes_piwik_swap": heroes_piwik_swap,
            "heroes_piwik_drop_views": heroes_piwik_drop_views,
            "heroes_piwik_compare": heroes_piwik_compare,
            "heroes_piwik_inventory": heroes_piwik_inventory,
            "heroes_piwik_report": heroes_piwik_report,
            "heroes_piwik_qualified": heroes_piwik_qualified,
            "heroes_piwik_counts": heroes_piwik_counts,
            "heroes_piwik_measure": heroes_piwik_measure,
            "heroes_piwik_ini_database": heroes_piwik_ini_database,
        }
