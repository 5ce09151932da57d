"""Ansible filters: the host firewall's rules (heroes_infra.firewall), for roles/firewall.

{{ rules | heroes_firewall_problems(groups, hostvars, 'firewall_rules') }} -> problems ("" : fine)
{{ rules | heroes_firewall_resolve(groups, hostvars) }}    -> rules with v4/v6 source addresses
{{ firewall_ssh_from | heroes_firewall_sources('firewall_ssh_from') }} -> {"v4": [...], "v6": [...]}
{{ firewall_ssh_from | heroes_firewall_sources_problems('firewall_ssh_from') }} -> problems ("": fine)
{{ user.from | heroes_mysql_hosts(groups, hostvars, 'galera_users[0]') }} -> MariaDB account hosts
{{ sources | heroes_mysql_proxy_networks(groups, hostvars, 'galera_proxy_protocol_from') }}
                                                 -> MariaDB's proxy_protocol_networks (addresses, CIDR)
{{ address | heroes_address_within(networks) }}  -> whether the address is in one of them
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

_SRC = Path(__file__).resolve().parents[2] / "src"
if str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

from heroes_infra.firewall import FirewallError, mysql_hosts, proxy_networks, resolve, sources, within  # noqa: E402


def _addresses(hostvars: Mapping[str, Any]) -> dict[str, str | None]:
    return {str(h): (hostvars[h].get("host_address") if isinstance(hostvars[h], Mapping) else None)
            for h in hostvars}


def _problem(check: Callable[[], object]) -> str:
    """The checks' message, or "" when check() finds nothing wrong: for assert tasks."""
    try:
        check()
    except FirewallError as exc:
        return str(exc)
    return ""


def heroes_firewall_problems(rules: Sequence[Any], groups: Mapping[str, Sequence[str]],
                             hostvars: Mapping[str, Any], variable: str = "firewall_rules") -> str:
    return _problem(lambda: resolve(rules, {g: list(m) for g, m in groups.items()}, _addresses(hostvars),
                                    variable))


def heroes_firewall_resolve(rules: Sequence[Any], groups: Mapping[str, Sequence[str]],
                            hostvars: Mapping[str, Any]) -> list[dict[str, Any]]:
    return resolve(rules, {g: list(m) for g, m in groups.items()}, _addresses(hostvars))


def heroes_firewall_sources(text: Sequence[str], variable: str) -> dict[str, list[str]]:
    return sources(text, variable)


def heroes_firewall_sources_problems(text: Sequence[str], variable: str) -> str:
    return _problem(lambda: sources(text, variable))


Resolved = Callable[[Sequence[Any], Mapping[str, Sequence[str]], Mapping[str, Any], str], list[str]]


def _mysql_filters(resolver: Callable[..., list[str]]) -> tuple[Resolved, Callable[..., str]]:
    """A resolver of heroes_infra.firewall as a filter on inventory data, and its _problems twin."""
    def resolved(sources_: Sequence[Any], groups: Mapping[str, Sequence[str]],
                 hostvars: Mapping[str, Any], label: str) -> list[str]:
        return resolver(sources_, {g: list(m) for g, m in groups.items()}, _addresses(hostvars), label)

    def problems(sources_: Sequence[Any], groups: Mapping[str, Sequence[str]],
                 hostvars: Mapping[str, Any], label: str) -> str:
        return _problem(lambda: resolved(sources_, groups, hostvars, label))

    return resolved, problems


# MariaDB account hosts (address, or address/netmask) and proxy_protocol_networks (address, CIDR)
heroes_mysql_hosts, heroes_mysql_hosts_problems = _mysql_filters(mysql_hosts)
heroes_mysql_proxy_networks, heroes_mysql_proxy_networks_problems = _mysql_filters(proxy_networks)


def heroes_address_within(address: str, networks: Sequence[str]) -> bool:
    return within(str(address), [str(n) for n in networks])


class FilterModule:
    """heroes-infra filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"heroes_firewall_problems": heroes_firewall_problems,
                "heroes_firewall_resolve": heroes_firewall_resolve,
                "heroes_firewall_sources": heroes_firewall_sources,
                "heroes_firewall_sources_problems": heroes_firewall_sources_problems,
                "heroes_mysql_hosts": heroes_mysql_hosts,
                "heroes_mysql_hosts_problems": heroes_mysql_hosts_problems,
                "heroes_mysql_proxy_networks": heroes_mysql_proxy_networks,
                "heroes_mysql_proxy_networks_problems": heroes_mysql_proxy_networks_problems,
                "heroes_address_within": heroes_address_within}
