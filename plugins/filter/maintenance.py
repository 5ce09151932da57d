"""Ansible filter: the drain plan of one failure domain (heroes_infra.maintenance), for
playbooks/maintenance/domain-drain.yml.

{{ domain | heroes_domain_plan(hostvars, groups, accept_outage) }}  ->  the plan as a dict
{{ hostvars | heroes_patch_order(groups) }}  ->  the patch window's order (patch-window.yml)
{{ result | heroes_patch_report_line }}  ->  one line of its report
A domain not written as <type>:<name> gives a plan with ok=false and the reason in refused.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

_SRC = Path(__file__).resolve().parents[2] / "src"
if str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

from heroes_infra.maintenance import DomainError, patch_order, plan  # noqa: E402


def heroes_domain_plan(
    domain: Any,
    hostvars: Mapping[str, Any],
    groups: Mapping[str, Sequence[str]],
    accept_outage: Sequence[str] = (),
) -> dict[str, Any]:
    """The plan; the settings come from the first host's variables (they are group_vars/all)."""
    hosts = list(groups.get("all", []))
    first: Mapping[str, Any] = hostvars[hosts[0]] if hosts else {}
    plain = {h: {"failure_domain": hostvars[h].get("failure_domain")} for h in hosts}
    try:
        return plan(
            domain,
            plain,
            {g: list(members) for g, members in groups.items()},
            policy=first.get("failure_domain_policy") or {},
            hypervisors=first.get("failure_domain_hypervisors") or {},
            vips=first.get("heroes_vips") or [],
            services=list(first.get("maintenance_services") or []),
            accept_outage=list(accept_outage),
            power=str(first.get("maintenance_power") or "shutdown"),
        )
    except DomainError as error:
        message = str(error)
        return {
            "ok": False,
            "refused": [{"rule": "input", "message": message}],
            "hosts": [],
            "text": f"REFUSED, nothing will be changed:\n  [input] {message}",
        }


def heroes_patch_order(hostvars: Mapping[str, Any], groups: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The order of the patch window; the settings come from the first host's variables."""
    hosts = list(groups.get("all", []))
    first: Mapping[str, Any] = hostvars[hosts[0]] if hosts else {}
    plain = {h: {"failure_domain": hostvars[h].get("failure_domain")} for h in hosts}
    return patch_order(
        plain,
        {g: list(members) for g, members in groups.items()},
        hypervisors=first.get("failure_domain_hypervisors") or {},
        vips=first.get("heroes_vips") or [],
        exclude_groups=list(first.get("maintenance_patch_exclude_groups") or []),
    )


def heroes_patch_report_line(result: Mapping[str, Any]) -> str:
    """One line of the patch window's report: host, packages updated, restarted, seconds out."""
    restart = "yes" if result.get("reboot") else "no"
    return (
        f"{result.get('host', '?'):<12} {len(result.get('packages') or []):>8}  {restart:<7}  "
        f"{float(result.get('seconds_out') or 0):>11.1f}  {result.get('status', '')}"
    )


class FilterModule:
    """heroes-infra filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "heroes_domain_plan": heroes_domain_plan,
            "heroes_patch_order": heroes_patch_order,
            "heroes_patch_report_line": heroes_patch_report_line,
        }
