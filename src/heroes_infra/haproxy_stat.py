"""Read HAProxy's ``show stat`` (runtime API, CSV) into the servers of one backend.

Used by the drain-aware maintenance playbooks (through the filter plugin) and by tests::

    {{ show_stat_output | heroes_haproxy_servers('galera_write') }}
    -> [{"name": "db1", "status": "UP", "scur": 0, "backup": False, "weight": 1}, ...]
    {{ show_stat_output | heroes_haproxy_writer('galera_write') }}
    -> "db1" (the server new connections go to), "" when none is UP
"""

from __future__ import annotations

import csv
import io
from typing import Any


def servers(show_stat: str, backend: str) -> list[dict[str, Any]]:
    """The servers of ``backend`` (not the FRONTEND/BACKEND summary rows), in config order."""
    text = show_stat.lstrip().removeprefix("#").lstrip()
    result: list[dict[str, Any]] = []
    for row in csv.DictReader(io.StringIO(text)):
        if row.get("pxname") != backend or row.get("svname") in ("FRONTEND", "BACKEND", None):
            continue
        result.append({
            "name": row["svname"],
            "status": row.get("status", ""),
            "scur": int(row.get("scur") or 0),
            "backup": row.get("bck") == "1",
            "weight": int(row.get("weight") or 0),
            "check_status": row.get("check_status", ""),
            "agent_status": row.get("agent_status", ""),
        })
    return result


def ready_others(show_stat: str, backend: str, server: str) -> list[str]:
    """Servers of ``backend`` other than ``server`` that are UP (not DRAIN, MAINT or DOWN)."""
    return [s["name"] for s in servers(show_stat, backend) if s["name"] != server and s["status"] == "UP"]


def writer(show_stat: str, backend: str) -> str:
    """The server ``backend`` sends new connections to: its first active server that is UP, else
    (every active one down, drained or in maintenance) its first backup that is UP, as HAProxy
    does without ``option allbackups``; "" when none is UP."""
    up = [s for s in servers(show_stat, backend) if s["status"] == "UP"]
    ordered = [s for s in up if not s["backup"]] + [s for s in up if s["backup"]]
    return str(ordered[0]["name"]) if ordered else ""
