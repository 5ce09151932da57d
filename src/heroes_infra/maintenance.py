"""What taking one failure domain down means, computed from the inventory: the drain plan.

    heroes-domain-plan -i inventory/lab hypervisor:hv-b          # the plan as text
    heroes-domain-plan -i inventory/lab hypervisor:hv-b --json   # and as JSON

``playbooks/maintenance/domain-drain.yml`` computes the same plan (filter
``heroes_domain_plan``), prints it (also under ``--check``) and refuses what this module refuses.

A domain is ``<type>:<name>`` with a type of :data:`failure_domains.DOMAIN_TYPES` (``site``,
``rack``, ``hypervisor``, ``ups``, ``feed``). It *takes a host down* by the failure-domain check's
own definition (:func:`failure_domains.takes_down`: a UPS only when every supply of the machine
hangs on it). The refusals are the failure-domain check's rules, applied to this one domain:

``majority``  a ``keep_majority`` group (Galera, with its arbitrators) would lose its majority;
``survive``   a ``survive_one_domain`` group (the VRRP peers of a VIP) would lose every member;
``outage``    a service (``maintenance_services``) would have no member left, unless the operator
              accepts that outage by name (``domain_drain_accept_outage``);
``data``      the inventory does not say where a host runs, or names no host in the domain.

What moves, in the order the playbook takes hosts out: Galera nodes (drained on every balancer,
MariaDB stopped), the VIPs their holders give to the peer with the next priority, the timer jobs
(stopped after their current run), then the machines. The restore runs it backwards, each host
checked healthy before the next.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from heroes_infra.failure_domains import (
    DOMAIN_TYPES,
    Domain,
    Finding,
    Machine,
    every_member_lost,
    group_members,
    majority_lost,
    resolve_all,
    takes_down,
)
from heroes_infra.labinfo import load_inventory
from heroes_infra.vrrp import priority

# The groups whose role runs a timer job (site.yml: the mirror's sync, the status feed, Matomo's
# archiving): a drain stops the job after its current run and the restore starts it again.
TIMER_GROUPS = ("mirror", "statusfeed", "matomo")


class DomainError(ValueError):
    """The domain is not written as ``<type>:<name>``."""


def parse_domain(text: Any) -> Domain:
    """``hypervisor:hv-a`` -> ``("hypervisor", "hv-a")``; anything else raises DomainError."""
    if not isinstance(text, str) or text.count(":") != 1:
        raise DomainError(
            f"domain must be <type>:<name> with a type of {', '.join(DOMAIN_TYPES)}, "
            f"e.g. -e domain=hypervisor:hv-a; got {text!r}"
        )
    kind, name = (part.strip() for part in text.split(":"))
    if kind not in DOMAIN_TYPES or not name:
        raise DomainError(
            f"domain must be <type>:<name> with a type of {', '.join(DOMAIN_TYPES)}, "
            f"e.g. -e domain=hypervisor:hv-a; got {text!r}"
        )
    return kind, name


def _fmt(domain: Domain) -> str:
    return f"{domain[0]}={domain[1]}"


def _known(machines: Mapping[str, Machine], kind: str) -> list[str]:
    found: set[str] = set()
    for machine in machines.values():
        found |= {name for k, name in takes_down(machine) if k == kind}
        if kind == "ups":
            found |= {ups for _, ups in machine.power}
        if kind == "feed":
            found |= {feed for feed, _ in machine.power}
    return sorted(found)


def plan(
    domain_text: Any,
    hostvars: Mapping[str, Mapping[str, Any]],
    groups: Mapping[str, Sequence[str]],
    *,
    policy: Mapping[str, Any] | None = None,
    hypervisors: Mapping[str, Any] | None = None,
    vips: Sequence[Mapping[str, Any]] = (),
    services: Sequence[str] = (),
    accept_outage: Sequence[str] = (),
    galera_group: str = "galera",
    balancer_group: str = "haproxy",
    timer_groups: Sequence[str] = TIMER_GROUPS,
    power: str = "shutdown",
) -> dict[str, Any]:
    """The drain plan of one domain as a dict (``ok``, ``refused``, the steps, ``text``)."""
    domain = parse_domain(domain_text)
    policy = policy or {}
    machines, refused = resolve_all(hostvars, hypervisors or {})
    down_by = {h: takes_down(m) for h, m in machines.items()}
    hosts = sorted(h for h, domains in down_by.items() if domain in domains)
    if not hosts and not refused:
        known = _known(machines, domain[0])
        if domain[1] not in known:
            refused.append(
                Finding(
                    "data",
                    f"no host of the inventory is in {_fmt(domain)}; the {domain[0]} names it knows: "
                    f"{', '.join(known) or 'none'}",
                    domain=_fmt(domain),
                )
            )

    for group, rules in sorted(policy.items()):
        if not isinstance(rules, Mapping):
            continue
        members = group_members(group, rules, groups, machines, refused)
        down = {h: down_by[h] for h in members}
        if rules.get("keep_majority") and (found := majority_lost(group, down, domain)) is not None:
            refused.append(found)
        if rules.get("survive_one_domain") and (found := every_member_lost(group, down, domain)) is not None:
            refused.append(found)

    accepted: list[str] = []
    unknown_accepts = sorted(set(accept_outage) - set(services))
    for name in unknown_accepts:
        refused.append(
            Finding(
                "data",
                f"domain_drain_accept_outage names {name}, which is not a service of "
                f"maintenance_services ({', '.join(services) or 'none'})",
            )
        )
    for service in services:
        members = sorted(groups.get(service, []))
        if members and all(h in hosts for h in members):
            if service in accept_outage:
                accepted.append(f"{service}: {', '.join(members)} down with {_fmt(domain)}, outage accepted")
            else:
                refused.append(
                    Finding(
                        "outage",
                        f"service {service}: every member ({', '.join(members)}) goes down with "
                        f"{_fmt(domain)}; accept the outage with -e domain_drain_accept_outage={service}",
                        tuple(members),
                        service,
                        _fmt(domain),
                    )
                )

    # every balancer, those of the domain too: they serve until their own turn comes
    balancers = sorted(groups.get(balancer_group, []))
    galera_all = sorted(groups.get(galera_group, []))
    galera = [h for h in galera_all if h in hosts]
    galera_left = [h for h in galera_all if h not in hosts]
    vrrp: list[dict[str, Any]] = []
    for vip in vips:
        peers = sorted(groups.get(str(vip.get("group", "")), []))
        going = [h for h in peers if h in hosts]
        staying = sorted((h for h in peers if h not in hosts), key=lambda h: -priority(vip, peers, h))
        for host in going:
            vrrp.append(
                {
                    "host": host,
                    "vip": vip.get("name", ""),
                    "address": vip.get("address", ""),
                    "to": staying[0] if staying else "",
                    "back": host == max(peers, key=lambda h: priority(vip, peers, h)),
                }
            )
    timers = [
        {"host": h, "group": g, "left": [m for m in sorted(groups.get(g, [])) if m not in hosts]}
        for g in timer_groups
        for h in sorted(groups.get(g, []))
        if h in hosts
    ]
    # the order the playbook takes hosts out, one at a time: Galera nodes first (the cluster
    # checked whole before each), then the VIPs' holders, then the rest; the restore the same
    vrrp_hosts = sorted({m["host"] for m in vrrp})
    order = galera + [h for h in vrrp_hosts if h not in galera]
    order += [h for h in hosts if h not in order]
    result: dict[str, Any] = {
        "domain": _fmt(domain),
        "type": domain[0],
        "name": domain[1],
        "hosts": hosts,
        "order": order,
        "ok": not refused,
        "refused": [{"rule": f.rule, "message": f.message} for f in refused],
        "accepted": accepted,
        "galera": galera,
        "galera_left": galera_left,
        "balancers": balancers,
        "vrrp": vrrp,
        "timers": timers,
        "power": power,
    }
    result["text"] = render(result)
    return result


def render(result: Mapping[str, Any]) -> str:
    """The plan for a person: what goes down, what is refused, what moves where, the restore."""
    hosts: list[str] = result["hosts"]
    lines = [f"Domain {result['domain']} takes down {len(hosts)} host(s): {', '.join(hosts) or 'none'}"]
    if result["refused"]:
        lines.append("REFUSED, nothing will be changed:")
        lines.extend(f"  [{r['rule']}] {r['message']}" for r in result["refused"])
    lines.extend(f"  accepted: {a}" for a in result["accepted"])
    how = {"docker": "container stopped", "shutdown": "shut down"}.get(result["power"], result["power"])
    start = {"docker": "container started", "shutdown": "answers again (power it on)"}.get(
        result["power"], result["power"]
    )
    where = ", ".join(result["balancers"]) or "no balancer"
    out: dict[str, list[str]] = {host: [] for host in hosts}
    back: dict[str, list[str]] = {host: [start] for host in hosts}
    for host in result["galera"]:
        left = ", ".join(result["galera_left"]) or "no node"
        out[host].append(f"Galera node drained on {where}, MariaDB stopped ({left} left in the cluster)")
        back[host].append(f"MariaDB Synced again, then ready on {where}")
    for move in result["vrrp"]:
        to = move["to"] or "no peer"
        out[move["host"]].append(f"VIP {move['vip']} ({move['address']}) goes to {to} if it holds it")
        if move["back"]:
            back[move["host"]].append(
                f"takes VIP {move['vip']} back (highest priority), drained on {to} first"
            )
        else:
            back[move["host"]].append(f"keepalived started, VIP {move['vip']} stays with its holder")
    for timer in result["timers"]:
        left = ", ".join(timer["left"]) or "no other member"
        out[timer["host"]].append(f"{timer['group']} timer stopped after its current run (still on: {left})")
        back[timer["host"]].append(f"{timer['group']} timer started")
    for host in hosts:
        out[host].append(how)
    if not hosts and not result["refused"]:
        lines.append(
            f"Nothing to move: no host depends on {result['domain']} alone (each has another supply)."
        )
    if hosts:
        lines.append("Out of service, one host at a time in this order:")
        for n, host in enumerate(result["order"], 1):
            lines.append(f"  {n}. {host}: " + "; ".join(out[host]))
        lines.append("Restore (-e action=restore), one host at a time, each checked healthy before the next:")
        for n, host in enumerate(result["order"], 1):
            lines.append(f"  {n}. {host}: " + "; ".join(back[host]))
    return "\n".join(lines)


def patch_order(
    hostvars: Mapping[str, Mapping[str, Any]],
    groups: Mapping[str, Sequence[str]],
    *,
    hypervisors: Mapping[str, Any] | None = None,
    vips: Sequence[Mapping[str, Any]] = (),
    exclude_groups: Sequence[str] = (),
    galera_group: str = "galera",
) -> dict[str, Any]:
    """The patch window's order: one failure domain (hypervisor) after the other, and inside one,
    one host at a time, the Galera nodes first, then the VIPs' holders, then the rest. The domain
    holding the most VIP masters (by priority) goes last, so that the VIPs move as seldom as
    possible. Hosts of ``exclude_groups`` (the lab's probes) are left out; a host the inventory
    does not place is an error in ``refused``."""
    excluded = {h for g in exclude_groups for h in groups.get(g, [])}
    placed, problems = resolve_all(
        {h: v for h, v in hostvars.items() if h not in excluded}, hypervisors or {}
    )
    refused = [p.message for p in problems]
    by_domain: dict[str, list[str]] = {}
    for host, machine in sorted(placed.items()):
        if host not in {p.hosts[0] for p in problems if p.hosts}:
            by_domain.setdefault(machine.hypervisor, []).append(host)
    masters: dict[str, int] = {}
    for vip in vips:
        peers = sorted(groups.get(str(vip.get("group", "")), []))
        if peers:
            top = max(peers, key=lambda h: priority(vip, peers, h))
            for domain, hosts in by_domain.items():
                if top in hosts:
                    masters[domain] = masters.get(domain, 0) + 1
    galera = set(groups.get(galera_group, []))
    vrrp = {h for vip in vips for h in groups.get(str(vip.get("group", "")), [])}
    domains = []
    for domain in sorted(by_domain, key=lambda d: (masters.get(d, 0), d)):
        hosts = sorted(by_domain[domain], key=lambda h: (h not in galera, h not in vrrp, h))
        domains.append({"domain": f"hypervisor={domain}", "hosts": hosts})
    order = [h for d in domains for h in d["hosts"]]
    lines = [f"Patch window: {len(order)} host(s), one at a time, one failure domain after the other"]
    lines.extend(f"  {d['domain']}: {', '.join(d['hosts'])}" for d in domains)
    if excluded:
        lines.append(f"  left out ({', '.join(exclude_groups)}): {', '.join(sorted(excluded))}")
    lines.extend(f"  REFUSED: {message}" for message in refused)
    return {
        "order": order,
        "domains": domains,
        "refused": refused,
        "ok": not refused,
        "text": "\n".join(lines),
    }


def plan_inventory(
    inventory: Mapping[str, Any], domain: str, accept_outage: Sequence[str] = ()
) -> dict[str, Any]:
    """The plan for an inventory as `ansible-inventory --list` prints it."""
    from heroes_infra.labinfo import host_groups

    hostvars: Mapping[str, Mapping[str, Any]] = inventory.get("_meta", {}).get("hostvars", {})
    groups: dict[str, list[str]] = {}
    for host, names in host_groups(inventory).items():
        for name in names:
            groups.setdefault(name, []).append(host)
    first: Mapping[str, Any] = next(iter(hostvars.values()), {})
    return plan(
        domain,
        hostvars,
        groups,
        policy=first.get("failure_domain_policy") or {},
        hypervisors=first.get("failure_domain_hypervisors") or {},
        vips=first.get("heroes_vips") or [],
        services=first.get("maintenance_services") or [],
        accept_outage=accept_outage,
        power=str(first.get("maintenance_power") or "shutdown"),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print what taking one failure domain down means.")
    parser.add_argument("--inventory", "-i", required=True)
    parser.add_argument("domain", help="<type>:<name>, e.g. hypervisor:hv-a")
    parser.add_argument(
        "--accept-outage", action="append", default=[], help="a service whose outage is accepted"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    try:
        result = plan_inventory(load_inventory(args.inventory), args.domain, args.accept_outage)
    except DomainError as error:
        print(f"heroes-domain-plan: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2) if args.json else result["text"])
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
