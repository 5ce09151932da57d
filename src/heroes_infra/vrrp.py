"""Check the virtual IPs of an inventory (``heroes_vips``) before keepalived is configured.

Each entry of ``heroes_vips`` names a VRRP instance::

    heroes_vips:
      - name: db                # unique; the keepalived instance is VI_db
        address: 172.30.0.20    # the virtual IP
        prefix: 24              # its network's prefix length
        group: vrrp_db          # the inventory group of the peers (at least 2)
        interface: eth0
        router_id: 51           # 1-255, unique per interface in the inventory
        version: 3              # VRRP version: 3 (sub-second adverts) or 2 (authentication)
        advert_int: 0.2         # seconds; VRRPv2 takes whole seconds only
        track_service: haproxy  # systemd unit the VIP follows
        auth_pass: "{{ vault_vrrp_mirror_auth_pass }}"   # VRRPv2 only, from the vault
        priorities: {lb1: 150}  # optional; default by order in the group
        nopreempt: false

The rules: the VIP lies in the subnet of every peer's ``host_address`` and is none of them; the
router id is used once per interface; the peers sit on different hypervisors; values have the
expected form. Every problem names the variable and what it expects.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

KEYS = {"name", "address", "prefix", "group", "interface", "router_id", "version", "advert_int",
        "track_service", "auth_pass", "priorities", "nopreempt"}


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def check_vips(
    vips: Sequence[Mapping[str, Any]],
    hostvars: Mapping[str, Mapping[str, Any]],
    groups: Mapping[str, Sequence[str]],
) -> list[str]:
    """Return the problems of ``vips`` (empty: fine)."""
    problems: list[str] = []
    if not isinstance(vips, Sequence) or isinstance(vips, str):
        return ["heroes_vips must be a list of mappings (name, address, prefix, group, router_id, ...)"]
    seen_names: set[str] = set()
    router_ids: dict[tuple[str, int], str] = {}
    for index, vip in enumerate(vips):
        if not isinstance(vip, Mapping):
            problems.append(f"heroes_vips[{index}] must be a mapping, got {vip!r}")
            continue
        name = str(vip.get("name") or "")
        where = f"heroes_vips[{name or index}]"
        if not name or not name.replace("_", "").replace("-", "").isalnum():
            problems.append(f"{where}.name must be letters, digits, '-' or '_', got {vip.get('name')!r}")
        elif name in seen_names:
            problems.append(f"{where}.name is used twice")
        seen_names.add(name)
        unknown = sorted(set(vip) - KEYS)
        if unknown:
            problems.append(f"{where} has unknown keys {unknown}; expected some of {sorted(KEYS)}")

        prefix = _int(vip.get("prefix", 24))
        network = None
        try:
            address = ipaddress.IPv4Address(str(vip.get("address")))
        except ValueError:
            problems.append(f"{where}.address must be an IPv4 address, got {vip.get('address')!r}")
            address = None
        if prefix is None or not 1 <= prefix <= 32:
            problems.append(f"{where}.prefix must be a prefix length 1-32, got {vip.get('prefix')!r}")
        elif address is not None:
            network = ipaddress.IPv4Network(f"{address}/{prefix}", strict=False)

        group = str(vip.get("group") or "")
        peers = list(groups.get(group, [])) if group else []
        if len(peers) < 2:
            problems.append(f"{where}.group must name an inventory group of at least 2 peers, "
                            f"got {group!r} with {len(peers)}")
        hypervisors: dict[str, str] = {}
        for peer in peers:
            peer_vars = hostvars.get(peer, {})
            try:
                peer_address = ipaddress.IPv4Address(str(peer_vars.get("host_address")))
            except ValueError:
                problems.append(f"{where}: peer {peer} needs host_address (an IPv4 address)")
                continue
            if network is not None and peer_address not in network:
                problems.append(f"{where}.address {address}/{prefix} is outside the subnet of peer "
                                f"{peer} ({peer_address}); a VIP must be in its peers' subnet")
            if address is not None and peer_address == address:
                problems.append(f"{where}.address {address} is the host_address of {peer}")
            domain = peer_vars.get("failure_domain") or {}
            hypervisor = str(domain.get("hypervisor") or "") if isinstance(domain, Mapping) else ""
            if hypervisor:
                if hypervisor in hypervisors:
                    first = hypervisors[hypervisor]
                    problems.append(f"{where}.group {group}: peers {first} and {peer} share "
                                    f"hypervisor {hypervisor}; one failure would take the VIP down")
                hypervisors.setdefault(hypervisor, peer)

        interface = str(vip.get("interface", "eth0"))
        router_id = _int(vip.get("router_id"))
        if router_id is None or not 1 <= router_id <= 255:
            problems.append(f"{where}.router_id must be 1-255, got {vip.get('router_id')!r}")
        elif (interface, router_id) in router_ids:
            problems.append(f"{where}.router_id {router_id} on {interface} is already used by "
                            f"heroes_vips[{router_ids[(interface, router_id)]}]")
        else:
            router_ids[(interface, router_id)] = name or str(index)

        version = _int(vip.get("version", 3))
        if version not in (2, 3):
            problems.append(f"{where}.version must be 2 or 3, got {vip.get('version')!r}")
        try:
            advert = float(str(vip.get("advert_int", 1)))
        except ValueError:
            advert = -1.0
        if advert <= 0 or advert > 40:
            problems.append(f"{where}.advert_int must be seconds > 0 (at most 40), "
                            f"got {vip.get('advert_int')!r}")
        elif version == 2 and advert != int(advert):
            problems.append(f"{where}.advert_int {advert} needs VRRP version 3; "
                            "version 2 takes whole seconds")
        if version == 2:
            secret = str(vip.get("auth_pass") or "")
            if not 6 <= len(secret) <= 8:
                problems.append(f"{where}.auth_pass must be 6-8 characters from the vault for VRRPv2 "
                                f"(auth_pass: \"{{{{ vault_vrrp_{name}_auth_pass }}}}\")")
        elif vip.get("auth_pass"):
            problems.append(f"{where}.auth_pass is set but VRRPv3 has no authentication (RFC 5798); "
                            "remove it or use version: 2")

        priorities = vip.get("priorities") or {}
        if not isinstance(priorities, Mapping):
            problems.append(f"{where}.priorities must map peers to 1-254")
        else:
            for peer, value in priorities.items():
                if peer not in peers:
                    problems.append(f"{where}.priorities names {peer}, which is not in group {group}")
                number = _int(value)
                if number is None or not 1 <= number <= 254:
                    problems.append(f"{where}.priorities[{peer}] must be 1-254, got {value!r}")
        if not str(vip.get("track_service") or ""):
            problems.append(f"{where}.track_service must name the systemd unit the VIP fronts "
                            "(a VIP never sits on a box whose service is dead)")
    return problems


def priority(vip: Mapping[str, Any], peers: Sequence[str], host: str) -> int:
    """The host's priority: given in ``priorities``, else 150, 140, ... by the peers' sorted order."""
    given = (vip.get("priorities") or {}).get(host)
    if given is not None:
        return int(given)
    return 150 - 10 * sorted(peers).index(host)
