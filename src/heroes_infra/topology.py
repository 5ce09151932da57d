"""Draw an inventory's failure domains: sites, racks and hypervisors as nested boxes with their
hosts inside, each hypervisor's power feeds to its UPS, the high-availability groups of
``failure_domain_policy`` as coloured links between peers, and virtual IPs (``heroes_vips``)
linked to the group that holds them. Hosts and hypervisors named in a failure-domain finding are drawn red.
With ``--mark <type>:<name>``, the drain plan of that domain (heroes_infra.maintenance): the domain
and every host it takes down drawn orange, each VIP that moves linked to the peer it moves to,
the plan's verdict in the title.

    heroes-topology -i inventory/lab -o docs/topology-lab      # writes .svg and .png
    heroes-topology -i inventory/lab -o /tmp/hv-b --mark hypervisor:hv-b
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import graphviz

from heroes_infra.failure_domains import Machine, check_inventory, resolve
from heroes_infra.labinfo import host_groups, load_inventory
from heroes_infra.maintenance import DomainError, parse_domain, plan_inventory

MARK = "#e65100"  # the marked domain and what it takes down
PALETTE = ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22")


def _id(*parts: str) -> str:
    return "_".join(p.replace("-", "_").replace(".", "_") for p in parts)


def build(inventory: Mapping[str, Any], title: str, mark: str | None = None) -> graphviz.Graph:
    """The picture as a graphviz graph (not rendered); ``mark``: a domain whose drain is drawn."""
    hostvars: Mapping[str, Mapping[str, Any]] = inventory.get("_meta", {}).get("hostvars", {})
    first: Mapping[str, Any] = next(iter(hostvars.values()), {})
    hypervisors: Mapping[str, Any] = first.get("failure_domain_hypervisors", {}) or {}
    policy: Mapping[str, Any] = first.get("failure_domain_policy", {}) or {}
    vips: Sequence[Mapping[str, Any]] = first.get("heroes_vips", []) or []
    groups = host_groups(inventory)
    report = check_inventory(inventory)
    flagged = {h for f in report.findings for h in f.hosts}

    machines: dict[str, Machine] = {}
    for host, host_vars in hostvars.items():
        machine, _ = resolve(host, host_vars, hypervisors)
        if machine is not None:
            machines[host] = machine

    status = "no failure-domain finding" if report.ok else f"{len(report.findings)} failure-domain finding(s)"
    drain: dict[str, Any] = {"hosts": [], "vrrp": []}
    marked: tuple[str, str] = ("", "")
    if mark is not None:
        drain = plan_inventory(inventory, mark)
        marked = (str(drain["type"]), str(drain["name"]))
        verdict = (
            "refused: " + "; ".join(r["rule"] for r in drain["refused"]) if drain["refused"] else "allowed"
        )
        status += f"\ndrain of {drain['domain']}: {len(drain['hosts'])} host(s) down, {verdict}"
    down = set(drain["hosts"])

    def marks(kind: str, name: str) -> dict[str, str]:
        return {"color": MARK, "penwidth": "4"} if marked == (kind, name) else {}

    graph = graphviz.Graph(
        "topology",
        graph_attr={
            "label": f"{title}: {status}",
            "labelloc": "t",
            "fontname": "Helvetica",
            "fontsize": "18",
            "compound": "true",
            "rankdir": "TB",
            "newrank": "true",
        },
        node_attr={"fontname": "Helvetica", "fontsize": "11"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9"},
    )

    tree: dict[str, dict[str, dict[str, list[str]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    for host, m in sorted(machines.items()):
        tree[m.site or "(no site)"][m.rack or "(no rack)"][m.hypervisor or host].append(host)

    power_of: dict[str, tuple[tuple[str, str], ...]] = {}
    for site, racks in sorted(tree.items()):
        with graph.subgraph(name=_id("cluster", "site", site)) as s:
            s.attr(label=f"site {site}", style="rounded", color="#555555", **marks("site", site))
            for rack, hvs in sorted(racks.items()):
                with s.subgraph(name=_id("cluster", "rack", site, rack)) as r:
                    r.attr(
                        label=f"rack {rack}",
                        style="rounded,filled",
                        fillcolor="#f4f4f4",
                        color="#999999",
                        **marks("rack", rack),
                    )
                    for hv, hosts in sorted(hvs.items()):
                        with r.subgraph(name=_id("cluster", "hv", hv)) as h:
                            h.attr(
                                label=f"hypervisor {hv}",
                                style="rounded,filled",
                                fillcolor="white",
                                **marks("hypervisor", hv),
                            )
                            hv_bad = hv in flagged
                            h.node(
                                _id("hv", hv),
                                label=hv,
                                shape="box3d",
                                fontsize="9",
                                color="red" if hv_bad else "black",
                                penwidth="2" if hv_bad else "1",
                            )
                            for host in hosts:
                                address = hostvars[host].get("host_address", "")
                                member = ", ".join(groups.get(host, []))
                                bad = host in flagged
                                gone = host in down
                                h.node(
                                    _id("host", host),
                                    label=f"{host}\n{address}\n{member}"
                                    + ("\nDOWN in the drain" if gone else ""),
                                    shape="box",
                                    style="rounded,filled",
                                    fillcolor="#ffd6d6" if bad else "#ffe0b2" if gone else "#e8f0fe",
                                    color="red" if bad else MARK if gone else "black",
                                    penwidth="2" if bad or gone else "1",
                                )
                                power_of.setdefault(hv, machines[host].power)

    ups_nodes: set[str] = set()
    for hv_name, supplies in sorted(power_of.items()):
        for feed, ups in supplies:
            if ups not in ups_nodes:
                graph.node(
                    _id("ups", ups),
                    label=f"UPS {ups}",
                    shape="cylinder",
                    style="filled",
                    fillcolor="#fff3c4",
                    **marks("ups", ups),
                )
                ups_nodes.add(ups)
            graph.edge(
                _id("hv", hv_name),
                _id("ups", ups),
                label=f"feed {feed}",
                color=MARK if marked == ("feed", feed) else "#b8860b",
                penwidth="3" if marked == ("feed", feed) else "1",
            )

    # one link per pair of peers, naming every HA group the pair shares
    pairs: dict[tuple[str, str], list[str]] = defaultdict(list)
    for group in sorted(policy):
        members = sorted(h for h in machines if group in groups.get(h, []))
        for a, b in combinations(members, 2):
            pairs[(a, b)].append(group)
    colours = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(sorted(policy))}
    for (a, b), shared in sorted(pairs.items()):
        colour = colours[shared[0]]
        graph.edge(
            _id("host", a),
            _id("host", b),
            color=colour,
            style="dashed",
            penwidth="2",
            label=" / ".join(shared),
            fontcolor=colour,
            constraint="false",
        )

    for vip in vips:
        name, address, group = (
            str(vip.get("name", "")),
            str(vip.get("address", "")),
            str(vip.get("group", "")),
        )
        graph.node(
            _id("vip", name),
            label=f"VIP {name}\n{address}",
            shape="diamond",
            style="filled",
            fillcolor="#d9f2d9",
        )
        for host in sorted(h for h in machines if group in groups.get(h, [])):
            graph.edge(_id("vip", name), _id("host", host), style="dotted", color="#2e7d32")
    for move in drain["vrrp"]:
        if move["to"]:
            graph.edge(
                _id("vip", str(move["vip"])),
                _id("host", str(move["to"])),
                label=f"moves here from {move['host']}",
                color=MARK,
                fontcolor=MARK,
                penwidth="3",
            )
    return graph


def render(inventory: Mapping[str, Any], title: str, output: Path, mark: str | None = None) -> list[Path]:
    """Write OUTPUT.svg and OUTPUT.png; return their paths."""
    graph = build(inventory, title, mark)
    output.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in ("svg", "png"):
        path = Path(graph.render(outfile=str(output.with_suffix(f".{fmt}")), format=fmt, cleanup=True))
        written.append(path)
    gv = output.with_suffix(".gv")
    if gv.exists():
        gv.unlink()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inventory", "-i", required=True)
    parser.add_argument("--output", "-o", type=Path, required=True, help="path without suffix")
    parser.add_argument("--mark", help="a domain (<type>:<name>) whose drain plan is drawn")
    args = parser.parse_args(argv)
    if args.mark is not None:
        try:
            parse_domain(args.mark)
        except DomainError as error:
            parser.error(str(error))
    for path in render(load_inventory(args.inventory), args.inventory, args.output, args.mark):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
