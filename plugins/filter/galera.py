"""Ansible filters for the galera role; the logic lives in heroes_infra.galera.

    {{ text | heroes_galera_grastate }}         grastate.dat -> {uuid, seqno, safe_to_bootstrap}
    {{ output | heroes_galera_recovered }}      galera_recovery output -> {recovered_uuid, recovered_seqno}
    {{ members | heroes_galera_decision(hostvars, override) }}   -> the decision as a dict
    {{ {'db1': '11.8.9', 'db2': '10.11.19'} | heroes_galera_donor_plan }} -> {donors, warnings}
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

_SRC = Path(__file__).resolve().parents[2] / "src"
if str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

from heroes_infra.galera import (  # noqa: E402
    decide,
    donor_plan,
    parse_grastate,
    parse_recovered,
    states_from_facts,
)


def heroes_galera_grastate(text: str) -> dict[str, Any]:
    """The parsed grastate.dat; uuid and seqno None when the node has none."""
    if not text.strip():
        return {"uuid": None, "seqno": None, "safe_to_bootstrap": False}
    return parse_grastate(text)


def heroes_galera_recovered(output: str) -> dict[str, Any]:
    found = parse_recovered(output)
    if found is None:
        return {"recovered_uuid": None, "recovered_seqno": None}
    return {"recovered_uuid": found[0], "recovered_seqno": found[1]}


def heroes_galera_decision(
    members: Sequence[str], hostvars: Mapping[str, Any], override: str = ""
) -> dict[str, Any]:
    """Decide from the __galera_state fact of every member; a member without it was unreachable."""
    facts: dict[str, Mapping[str, Any]] = {}
    for name in members:
        state = hostvars[name].get("__galera_state")
        facts[name] = state if isinstance(state, Mapping) else {"reachable": False}
    decision = decide(states_from_facts(facts), override or None)
    primaries = sorted(n for n, f in facts.items() if f.get("primary"))
    anchor = decision.bootstrap if decision.action == "bootstrap" else next(iter(primaries), None)
    return {
        "anchor": anchor,
        "action": decision.action,
        "bootstrap": decision.bootstrap,
        "reason": decision.reason,
        "table": decision.table,
        "ok": decision.ok,
    }


def heroes_galera_donor_plan(versions: Mapping[str, str]) -> dict[str, Any]:
    plan = donor_plan(versions)
    return {"donors": plan.donors, "warnings": plan.warnings}


class FilterModule:
    """heroes-infra filters for Galera."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "heroes_galera_grastate": heroes_galera_grastate,
            "heroes_galera_recovered": heroes_galera_recovered,
            "heroes_galera_decision": heroes_galera_decision,
            "heroes_galera_donor_plan": heroes_galera_donor_plan,
        }
