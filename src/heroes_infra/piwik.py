"""The move of a Matomo still running under its old Piwik names (roles/matomo tasks/piwik.yml).

The tables move from the old database to the new one by RENAME TABLE inside the cluster, without
copying a row, while Matomo keeps tracking:

1. a view in the new database over each old table (same name), so that Matomo can be switched to
   the new database (and account) before any table moves;
2. Matomo's config switched to the new database: its queries now go through the views;
3. one RENAME TABLE statement that moves every view aside and every table into its place
   (atomic: a query sees either the view or the table, never neither); then the views go.

A run stopped anywhere is run again: where each table stands is read from the cluster, and
``state`` says what is left. The functions here are pure (the role gives them what it read)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# A moved view's temporary name (views cannot change database; they are renamed in place).
VIEW_PREFIX = "__piwik_view_"

# What Matomo's tracker writes while it runs: these tables may gain rows (and rows may change:
# a visit's row is updated by its later actions) between the counts before and after the switch.
TRACKER_TABLES = (
    "log_visit",
    "log_link_visit_action",
    "log_action",
    "log_conversion",
    "log_conversion_item",
    "sequence",
    "option",
    "session",
    "locks",
    "tracking_failure",
)


def quote(name: str) -> str:
    """A MariaDB identifier in backquotes."""
    return "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True)
class Objects:
    """The tables and views of the old and the new database, as the cluster lists them."""

    old_tables: tuple[str, ...]
    old_views: tuple[str, ...]
    new_tables: tuple[str, ...]
    new_views: tuple[str, ...]

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]], old: str, new: str) -> Objects:
        """From information_schema.TABLES rows (TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE)."""
        found: dict[tuple[str, bool], list[str]] = {(old, False): [], (old, True): [], (new, False): [],
                                                    (new, True): []}
        for row in rows:
            key = (str(row["TABLE_SCHEMA"]), str(row["TABLE_TYPE"]) == "VIEW")
            if key in found:
                found[key].append(str(row["TABLE_NAME"]))
        return cls(*(tuple(sorted(found[k])) for k in ((old, False), (old, True), (new, False), (new, True))))


def state(objects: Objects, prefix: str, config_database: str, old: str, new: str, old_schema: bool,
          migrated: bool) -> dict[str, Any]:
    """Where the move stands, and what is left.

    ``config_database`` is the database Matomo's config names (the new install's config once it
    exists, else the old one's; "" without either), ``old_schema`` whether the old database still
    exists, ``migrated`` whether the role's marker (written right after the tables moved) exists.
    The result's ``state`` is one of:

    - legacy: nothing done yet; bridged: views made, or the config switched; tables still to move;
    - moved: every table moved, the rest (views aside, old database, account, files) still to go;
    - done: an earlier run finished (the clean-up is idempotent and runs again);
    - none: nothing to move (no old database, no move begun): refused;
    - conflict: a name is a table in both databases: refused, ``conflicts`` lists them.
    """
    matomo = [t for t in objects.old_tables if t.startswith(prefix)]
    others = [t for t in objects.old_tables if not t.startswith(prefix)]
    conflicts = sorted(set(matomo) & set(objects.new_tables))
    to_view = [t for t in matomo if t not in objects.new_views]
    stray_views = [v for v in objects.new_views if v.startswith(VIEW_PREFIX)]
    moved_tables = any(t.startswith(prefix) for t in objects.new_tables)
    result: dict[str, Any] = {
        "to_view": to_view,
        "to_move": matomo,
        "others": others,
        "conflicts": conflicts,
        "stray_views": stray_views,
    }
    if conflicts:
        result["state"] = "conflict"
    elif matomo:
        bridged = config_database == new or len(to_view) < len(matomo)
        result["state"] = "bridged" if bridged else "legacy"
    elif migrated:
        result["state"] = "moved" if old_schema or stray_views else "done"
    elif moved_tables and (old_schema or stray_views) and config_database == new:
        result["state"] = "moved"
    else:
        result["state"] = "none"
    return result


def view_statements(old: str, new: str, tables: Sequence[str]) -> list[str]:
    """One view in the new database over each old table, under the table's own name."""
    return [f"CREATE OR REPLACE SQL SECURITY DEFINER VIEW {quote(new)}.{quote(t)} AS "
            f"SELECT * FROM {quote(old)}.{quote(t)}" for t in tables]


def swap_statement(old: str, new: str, tables: Sequence[str]) -> str:
    """One atomic RENAME TABLE: every view aside, every old table into its place."""
    if not tables:
        raise ValueError("no table to move")
    pairs = []
    for t in tables:
        pairs.append(f"{quote(new)}.{quote(t)} TO {quote(new)}.{quote(VIEW_PREFIX + t)}")
        pairs.append(f"{quote(old)}.{quote(t)} TO {quote(new)}.{quote(t)}")
    return "RENAME TABLE " + ", ".join(pairs)


def drop_views_statement(new: str, views: Sequence[str]) -> str:
    """Drop the views moved aside (they name tables that are gone)."""
    return "DROP VIEW IF EXISTS " + ", ".join(f"{quote(new)}.{quote(v)}" for v in views)


def tracker_written(table: str, prefix: str) -> bool:
    """Whether the tracker writes to this table (its rows may change during the switch)."""
    return table.startswith(prefix) and table[len(prefix):] in TRACKER_TABLES


def compare(before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]],
            prefix: str) -> dict[str, Any]:
    """Row counts and checksums per table, before (old database) and after (new database).

    Every table must be there after; tables the tracker does not write must have the same count
    and checksum; those it writes (Matomo kept tracking through the switch) must have at least
    as many rows. Returns {"same": [...], "grown": {table: rows added}, "problems": [...]}."""
    same: list[str] = []
    grown: dict[str, int] = {}
    problems: list[str] = []
    for table, was in sorted(before.items()):
        now = after.get(table)
        if now is None:
            problems.append(f"{table}: not in the new database")
            continue
        rows_before, rows_after = int(was["rows"]), int(now["rows"])
        if rows_before == rows_after and str(was["checksum"]) == str(now["checksum"]):
            same.append(table)
        elif tracker_written(table, prefix) and rows_after >= rows_before:
            grown[table] = rows_after - rows_before
        else:
            problems.append(f"{table}: {rows_before} rows (checksum {was['checksum']}) before, "
                            f"{rows_after} (checksum {now['checksum']}) after")
    return {"same": same, "grown": grown, "problems": problems}


# Not the inventory's: Ansible's own, facts, the play's private facts, and the move's own input.
SKIPPED_VARIABLES = ("ansible_", "molecule_", "group_names", "groups", "inventory_", "playbook_", "omit",
                     "hostvars", "role_", "__", "matomo_piwik", "matomo_migration_", "discovered_interpreter")


def _mentions(value: Any, word: str) -> bool:
    if isinstance(value, str):
        return word in value.lower()
    if isinstance(value, Mapping):
        return any(_mentions(k, word) or _mentions(v, word) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_mentions(v, word) for v in value)
    return False


def inventory_places(variables: Mapping[str, Any], kept: Mapping[str, str],
                     word: str = "piwik") -> list[dict[str, str]]:
    """The inventory variables of a host that still name the old product: each as
    {kind, name, note}. ``kept`` names variables that keep an old name on purpose (with why):
    they are listed as kept, not as left."""
    places = []
    for name in sorted(variables):
        if name.startswith(SKIPPED_VARIABLES):
            continue
        try:
            value = variables[name]
        except Exception:  # a variable that cannot be resolved here: its name only
            value = None
        if _mentions(name, word) or _mentions(value, word):
            places.append({"kind": "inventory variable", "name": name,
                           "note": f"kept: {kept[name]}" if name in kept else "left"})
    return places


def report_lines(places: Sequence[Mapping[str, str]]) -> list[str]:
    """The report as lines: what is left first, then what is kept on purpose."""
    left = [p for p in places if p["note"] == "left"]
    kept = [p for p in places if p["note"] != "left"]
    lines = [f"LEFT {p['host']} | {p['kind']} | {p['name']} | contact: {p['contact']}" for p in left]
    lines = lines or ["nothing is left named piwik"]
    lines += [f"kept {p['host']} | {p['kind']} | {p['name']} | {p['note'].removeprefix('kept: ')} "
              f"| contact: {p['contact']}" for p in kept]
    return lines


def ini_database(text: str) -> dict[str, str]:
    """The [database] section of a Matomo config.ini.php (its keys and unquoted values), without
    the password: what the move needs to know of a config (the file is read, never printed)."""
    section = ""
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        if section != "database" or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if key == "password":
            continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        found[key] = value
    return found


def qualified(table: str, database: str) -> str:
    """`database`.`table`."""
    return f"{quote(database)}.{quote(table)}"


def counts_statement(tables: Sequence[str], database: str) -> str:
    """One query: each table's name and row count (columns name, n)."""
    if not tables:
        raise ValueError("no table to count")
    return " UNION ALL ".join(f"SELECT '{t}' AS name, COUNT(*) AS n FROM {qualified(t, database)}"
                              for t in tables)


def measure(results: Sequence[Sequence[Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """{table: {rows, checksum}} from the results of counts_statement and CHECKSUM TABLE (whose
    Table column is database.table)."""
    counts, checksums = results
    measured: dict[str, dict[str, Any]] = {str(r["name"]): {"rows": int(r["n"]), "checksum": None}
                                           for r in counts}
    for row in checksums:
        table = str(row["Table"]).split(".", 1)[-1]
        measured.setdefault(table, {"rows": 0, "checksum": None})["checksum"] = row["Checksum"]
    return measured
