"""Ansible filter: the failure-domain check of heroes_infra.failure_domains, for preflight.

{{ hostvars | heroes_failure_domains(groups) }}  ->  the report as a dict
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

_SRC = Path(__file__).resolve().parents[2] / "src"
if str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

from heroes_infra.failure_domains import check  # noqa: E402


def heroes_failure_domains(
    hostvars: Mapping[str, Any], groups: Mapping[str, Sequence[str]]
) -> dict[str, Any]:
    """Check every host of the inventory; the settings come from the first host's variables."""
    hosts = list(groups.get("all", []))
    plain = {h: {"failure_domain": hostvars[h].get("failure_domain")} for h in hosts}
    first: Mapping[str, Any] = hostvars[hosts[0]] if hosts else {}
    report = check(
        plain,
        {g: list(members) for g, members in groups.items()},
        first.get("failure_domain_policy") or {},
        first.get("failure_domain_hypervisors") or {},
        first.get("failure_domain_overrides") or [],
    )
    result = report.as_dict()
    result["text"] = report.render()
    return result


class FilterModule:
    """heroes-infra filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"heroes_failure_domains": heroes_failure_domains}
