"""Ansible filters: the VIP checks of heroes_infra.vrrp, for preflight and the keepalived role.

{{ heroes_vips | heroes_vrrp_problems(hostvars, groups) }}  ->  list of problems (empty: fine)
{{ vip | heroes_vrrp_priority(groups[vip.group], inventory_hostname) }}  ->  this host's priority
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

_SRC = Path(__file__).resolve().parents[2] / "src"
if str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

from heroes_infra.vrrp import check_vips, priority  # noqa: E402


def heroes_vrrp_problems(
    vips: Sequence[Mapping[str, Any]], hostvars: Mapping[str, Any], groups: Mapping[str, Sequence[str]]
) -> list[str]:
    """Check every VIP; only the peers' host_address and failure_domain are read."""
    members = {h for vip in (vips or []) if isinstance(vip, Mapping)
               for h in groups.get(str(vip.get("group", "")), [])}
    plain = {h: {"host_address": hostvars[h].get("host_address"),
                 "failure_domain": hostvars[h].get("failure_domain")} for h in members if h in hostvars}
    return check_vips(vips or [], plain, {g: list(m) for g, m in groups.items()})


def heroes_vrrp_priority(vip: Mapping[str, Any], peers: Sequence[str], host: str) -> int:
    return priority(vip, list(peers), host)


class FilterModule:
    """heroes-infra filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"heroes_vrrp_problems": heroes_vrrp_problems, "heroes_vrrp_priority": heroes_vrrp_priority}
