"""Print what runs where in the container lab: hosts, addresses, images, groups, virtual IPs,
URLs, and how to get a shell. Reads the inventory through `ansible-inventory`, and docker for
each container's state."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jinja2

Inventory = Mapping[str, Any]


@dataclass(frozen=True)
class LabHost:
    name: str
    container: str
    address: str
    image: str
    groups: tuple[str, ...]


def load_inventory(path: str) -> dict[str, Any]:
    """The inventory as `ansible-inventory --list` gives it."""
    out = subprocess.run(
        ["ansible-inventory", "-i", path, "--list"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    data: dict[str, Any] = json.loads(out)
    return data


def host_groups(inventory: Inventory) -> dict[str, list[str]]:
    """Each host's groups (direct and through children), sorted, without 'all'/'ungrouped'."""
    result: dict[str, set[str]] = {}

    def walk(group: str, trail: tuple[str, ...]) -> None:
        entry = inventory.get(group, {})
        for host in entry.get("hosts", []):
            result.setdefault(host, set()).update(trail)
        for child in entry.get("children", []):
            if child not in trail:
                walk(child, (*trail, child))

    walk("all", ())
    return {
        host: sorted(g for g in groups if g not in {"all", "ungrouped"}) for host, groups in result.items()
    }


def _render(value: str, name: str, hostvars: Mapping[str, Any]) -> str:
    """Render an inventory string (ansible-inventory leaves Jinja untemplated)."""
    return str(jinja2.Template(value).render({**hostvars, "inventory_hostname": name}))


def lab_hosts(inventory: Inventory) -> list[LabHost]:
    """The lab's hosts, ordered by address."""
    hostvars: Mapping[str, Mapping[str, Any]] = inventory.get("_meta", {}).get("hostvars", {})
    groups = host_groups(inventory)
    hosts = [
        LabHost(
            name=name,
            container=_render(str(hv.get("ansible_host", name)), name, hv),
            address=str(hv.get("host_address", "?")),
            image=str(hv.get("lab_image", "?")),
            groups=tuple(groups.get(name, [])),
        )
        for name, hv in hostvars.items()
    ]
    return sorted(hosts, key=lambda h: tuple(int(p) if p.isdigit() else 0 for p in h.address.split(".")))


def container_states(containers: Sequence[str]) -> dict[str, str]:
    """docker's state of each container ('absent' when docker does not know it)."""
    states: dict[str, str] = {}
    for name in containers:
        proc = subprocess.run(
            ["docker", "inspect", "-f", "{{.State.Status}}", name],
            capture_output=True,
            text=True,
            check=False,
        )
        states[name] = proc.stdout.strip() if proc.returncode == 0 else "absent"
    return states


def render(inventory: Inventory, states: Mapping[str, str]) -> str:
    """The text `make lab` ends with."""
    hosts = lab_hosts(inventory)
    first: Mapping[str, Any] = next(iter(inventory.get("_meta", {}).get("hostvars", {}).values()), {})
    lines = [
        f"The heroes-infra lab: network {first.get('lab_network', '?')} ({first.get('lab_subnet', '?')})",
        "",
        f"{'host':9s} {'address':14s} {'image':13s} {'state':8s} groups",
    ]
    for h in hosts:
        state = states.get(h.container, "?")
        lines.append(f"{h.name:9s} {h.address:14s} {h.image:13s} {state:8s} {', '.join(h.groups)}")
    vips: Mapping[str, str] = first.get("lab_vips", {}) or {}
    urls: Mapping[str, str] = first.get("lab_urls", {}) or {}
    if vips:
        lines += ["", "Virtual IPs:"] + [f"  {name:20s} {addr}" for name, addr in sorted(vips.items())]
    if urls:
        lines += ["", "Where to look:"]
        lines += [f"  {name:20s} {url}" for name, url in sorted(urls.items())]
    example = hosts[0].container if hosts else "heroes-lab-<host>"
    lines += [
        "",
        f"A shell on a host:   docker exec -it {example} bash",
        "Run a playbook:      .venv/bin/ansible-playbook -i inventory/lab playbooks/<name>.yml",
        "Remove the lab:      make lab-down",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inventory", default="inventory/lab")
    args = parser.parse_args(argv)
    inventory = load_inventory(args.inventory)
    states = container_states([h.container for h in lab_hosts(inventory)])
    print(render(inventory, states))
    return 0


if __name__ == "__main__":
    sys.exit(main())
