"""The host firewall's rules (roles/firewall), checked and resolved to addresses.

A rule says what a host serves and to whom; ``from`` names inventory groups, inventory hosts
(each resolved to its ``host_address``), addresses or networks (CIDR)::

    firewall_rules_galera:
      - name: galera replication
        ports: [4567, 4568, 4444]
        proto: tcp                 # tcp (default), udp, or vrrp (no ports)
        from: [galera, galera_arbitrator]

``resolve`` returns each rule with its sources split by family (``v4``, ``v6``: sorted, no
duplicates) and raises :class:`FirewallError` with every problem found, each naming the rule
and what was expected. An empty group resolves to nothing (an arbitrator group without hosts),
but a rule left with no source at all is refused: it would open nothing and hide a typo.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

PROTOCOLS = ("tcp", "udp", "vrrp")
KEYS = {"name", "ports", "proto", "from"}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")


class FirewallError(ValueError):
    """Bad rules; the message lists every problem."""


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _ports(rule: Mapping[str, Any], label: str, problems: list[str]) -> list[int]:
    ports = rule.get("ports", [])
    if not isinstance(ports, list) or not ports:
        problems.append(f"{label}: ports must be a non-empty list of port numbers (1-65535), got {ports!r}")
        return []
    good = [p for p in ports if isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= 65535]
    if len(good) != len(ports):
        problems.append(f"{label}: ports must be port numbers (1-65535), got {ports!r}")
    return sorted(set(good))


def _sources(
    sources: Sequence[str],
    groups: Mapping[str, Sequence[str]],
    addresses: Mapping[str, str | None],
    label: str,
    problems: list[str],
) -> tuple[set[str], set[str]]:
    """Groups, hosts (their host_address), addresses and networks, as networks by family."""
    v4: set[str] = set()
    v6: set[str] = set()
    for source in sources:
        if source in groups:
            hosts = list(groups[source])
        elif source in addresses:
            hosts = [source]
        else:
            net = _network(source)
            if net is None:
                problems.append(f"{label}: {source!r} is no inventory group, host, address or network")
                continue
            (v4 if net.version == 4 else v6).add(str(net))
            continue
        for host in hosts:
            net = _network(str(addresses.get(host) or ""))
            if net is None:
                problems.append(f"{label}: {host} (from {source!r}) has no host_address to allow")
                continue
            (v4 if net.version == 4 else v6).add(str(net))
    return v4, v6


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(sources: Sequence[Any], groups: Mapping[str, Sequence[str]],
              addresses: Mapping[str, str | None], label: str) -> list[Network]:
    """``from`` resolved, collapsed and sorted (v4 first); raises FirewallError naming ``label``."""
    problems: list[str] = []
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) for s in sources):
        raise FirewallError(f"{label}: from must be a non-empty list of groups, hosts, addresses or "
                            f"networks, got {sources!r}")
    v4, v6 = _sources(sources, groups, addresses, label, problems)
    if not v4 and not v6 and not problems:
        problems.append(f"{label}: from {sources} resolves to no address (empty groups?)")
    if problems:
        raise FirewallError("; ".join(problems))
    return [ipaddress.ip_network(text) for text in _collapse(v4) + _collapse(v6)]


def mysql_hosts(
    sources: Sequence[Any],
    groups: Mapping[str, Sequence[str]],
    addresses: Mapping[str, str | None],
    label: str,
) -> list[str]:
    """The same sources as a rule's ``from``, as MariaDB account hosts: an address as it is, a
    network as address/netmask (MariaDB's form). Raises FirewallError naming ``label``."""
    return [str(net.network_address) if net.num_addresses == 1 else f"{net.network_address}/{net.netmask}"
            for net in _networks(sources, groups, addresses, label)]


def proxy_networks(
    sources: Sequence[Any],
    groups: Mapping[str, Sequence[str]],
    addresses: Mapping[str, str | None],
    label: str,
) -> list[str]:
    """The same sources, as MariaDB's ``proxy_protocol_networks`` lists them: an address as it
    is, a network in CIDR form. Raises FirewallError naming ``label``."""
    return [str(net.network_address) if net.num_addresses == 1 else str(net)
            for net in _networks(sources, groups, addresses, label)]


def within(address: str, networks: Sequence[str]) -> bool:
    """Whether ``address`` lies in one of ``networks`` (addresses or CIDR); False if it is no address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    nets = [_network(text) for text in networks]
    return any(net is not None and net.version == ip.version and ip in net for net in nets)


def resolve(
    rules: Sequence[Any],
    groups: Mapping[str, Sequence[str]],
    addresses: Mapping[str, str | None],
    variable: str = "firewall_rules",
) -> list[dict[str, Any]]:
    """Check ``rules`` and resolve their sources; ``addresses`` maps inventory hosts to their
    ``host_address``. ``variable`` names where the rules came from, for the messages."""
    problems: list[str] = []
    resolved: list[dict[str, Any]] = []
    if not isinstance(rules, Sequence) or isinstance(rules, str):
        raise FirewallError(f"{variable} must be a list of rules, got {rules!r}")
    for index, rule in enumerate(rules):
        label = f"{variable}[{index}]"
        if not isinstance(rule, Mapping):
            problems.append(f"{label} must be a mapping with name, ports, proto and from, got {rule!r}")
            continue
        name = rule.get("name")
        if isinstance(name, str) and NAME.match(name):
            label = f"{label} ({name})"
        else:
            problems.append(f"{label}: name must be 1-64 letters, digits, spaces or ._- , got {name!r}")
        unknown = sorted(set(rule) - KEYS)
        if unknown:
            problems.append(f"{label}: unknown keys {unknown}; a rule has {sorted(KEYS)}")
        proto = rule.get("proto", "tcp")
        if proto not in PROTOCOLS:
            problems.append(f"{label}: proto must be one of {list(PROTOCOLS)}, got {proto!r}")
        ports: list[int] = []
        if proto == "vrrp":
            if "ports" in rule:
                problems.append(f"{label}: a vrrp rule has no ports")
        else:
            ports = _ports(rule, label, problems)
        sources = rule.get("from")
        if not isinstance(sources, list) or not sources or not all(isinstance(s, str) for s in sources):
            problems.append(f"{label}: from must be a non-empty list of groups, hosts, addresses or "
                            f"networks, got {sources!r}")
            continue
        v4, v6 = _sources(sources, groups, addresses, label, problems)
        if not v4 and not v6 and not any(p.startswith(label) for p in problems):
            problems.append(f"{label}: from {sources} resolves to no address (empty groups?)")
        resolved.append({"name": name, "proto": proto, "ports": ports,
                         "v4": _collapse(v4), "v6": _collapse(v6)})
    if problems:
        raise FirewallError("; ".join(problems))
    return resolved


def _collapse(nets: set[str]) -> list[str]:
    """Sorted, with networks inside others merged away (nftables refuses overlapping elements
    in one set)."""
    parsed = [ipaddress.ip_network(n) for n in nets]
    v4 = [n for n in parsed if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in parsed if isinstance(n, ipaddress.IPv6Network)]
    merged = [*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6)]
    return [str(n) for n in merged]


def sources(text: Sequence[str], variable: str) -> dict[str, list[str]]:
    """Addresses or networks only (``firewall_ssh_from``), split by family."""
    if isinstance(text, str) or not isinstance(text, Sequence):
        raise FirewallError(f"{variable} must be a list of addresses or networks (CIDR), got {text!r}")
    problems = [f"{variable}: {s!r} is no address or network (CIDR)" for s in text
                if not isinstance(s, str) or _network(s) is None]
    if problems:
        raise FirewallError("; ".join(problems))
    nets = [ipaddress.ip_network(s, strict=False) for s in text]
    return {"v4": _collapse({str(n) for n in nets if n.version == 4}),
            "v6": _collapse({str(n) for n in nets if n.version == 6})}
