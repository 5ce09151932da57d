"""Refuse designs that put redundant things in one failure domain.

Every host records its failure domains as data (``failure_domain`` in the inventory)::

    failure_domain:
      site: dc1                 # optional
      hypervisor: hv-a          # or bare_metal: true
      rack: r1                  # a VM may leave rack and power to its hypervisor
      power: [{feed: a, ups: ups-1}, {feed: b, ups: ups-2}]

Hypervisors are described once, in ``failure_domain_hypervisors`` (rack, site, power), and a
VM inherits from its hypervisor what it does not state itself. Each high-availability group
declares what its members must not share, in ``failure_domain_policy``::

    failure_domain_policy:
      galera: {must_not_share: [hypervisor, rack, ups], keep_majority: true}
      vrrp_db: {must_not_share: [hypervisor, ups], survive_one_domain: true}

A group's ``with_groups`` adds the members of other groups to it for every rule: a Galera
arbitrator (``galera: {..., with_groups: [galera_arbitrator]}``) votes in the majority and must
not share a domain with the data nodes.

A domain *takes a host down* when losing it alone stops the host: its site, rack and hypervisor,
and a power feed or UPS only when every one of the host's supplies hangs on it. The rules:

``peers``     two members of a group are taken down by one domain of a type the group lists;
``power``     a machine with redundant supplies has all of them on one UPS (or one feed);
``majority``  losing one domain leaves a ``keep_majority`` group without a majority;
``survive``   one domain takes every member of a ``survive_one_domain`` group down;
``data``      the inventory lacks what the rules need.

An override exists only per finding, as data with a written reason
(``failure_domain_overrides: [{finding: KEY, reason: TEXT}]``); the report prints it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from heroes_infra.labinfo import load_inventory

DOMAIN_TYPES = ("site", "rack", "hypervisor", "ups", "feed")
RULES = ("data", "power", "peers", "majority", "survive")

Domain = tuple[str, str]  # (type, name)


@dataclass(frozen=True)
class Finding:
    """One refused design decision."""

    rule: str
    message: str
    hosts: tuple[str, ...] = ()
    group: str = ""
    domain: str = ""

    @property
    def key(self) -> str:
        """The stable name an override refers to: rule:group:hosts:domain."""
        return f"{self.rule}:{self.group}:{','.join(sorted(self.hosts))}:{self.domain}"


@dataclass
class Report:
    """What the check found: findings that stop a run, and overridden ones that do not."""

    findings: list[Finding] = field(default_factory=list)
    overridden: list[tuple[Finding, str]] = field(default_factory=list)
    unused_overrides: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "findings": [{"key": f.key, "rule": f.rule, "message": f.message} for f in self.findings],
            "overridden": [
                {"key": f.key, "rule": f.rule, "message": f.message, "reason": reason}
                for f, reason in self.overridden
            ],
            "unused_overrides": self.unused_overrides,
        }

    def render(self) -> str:
        lines: list[str] = []
        for f in self.findings:
            lines.append(f"REFUSED [{f.rule}] {f.message}")
            lines.append(f"    override key: {f.key}")
        for f, reason in self.overridden:
            lines.append(f"overridden [{f.rule}] {f.message}")
            lines.append(f"    reason: {reason}")
        for key in self.unused_overrides:
            lines.append(f"warning: override matches no finding: {key}")
        if not lines:
            lines.append("failure domains: no finding")
        return "\n".join(lines)


def _str(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Machine:
    """Where a host's failure domains come from, after inheritance."""

    name: str
    site: str
    rack: str
    hypervisor: str
    power: tuple[tuple[str, str], ...]  # (feed, ups) per supply
    power_owner: str  # the machine whose supplies these are (a hypervisor or the host)


def resolve(
    host: str, hostvars: Mapping[str, Any], hypervisors: Mapping[str, Any]
) -> tuple[Machine | None, list[Finding]]:
    """A host's failure domains, with what it lacks reported as 'data' findings."""
    fd = hostvars.get("failure_domain")
    if not isinstance(fd, Mapping):
        return None, [Finding("data", f"{host}: failure_domain is missing or not a mapping", (host,))]
    problems: list[Finding] = []
    bare_metal = bool(fd.get("bare_metal", False))
    hv_name = host if bare_metal else _str(fd.get("hypervisor"))
    hv: Mapping[str, Any] = {}
    if not bare_metal:
        if not hv_name:
            problems.append(
                Finding("data", f"{host}: failure_domain needs hypervisor (or bare_metal: true)", (host,))
            )
        hv_data = hypervisors.get(hv_name, {})
        hv = hv_data if isinstance(hv_data, Mapping) else {}

    def pick(key: str) -> Any:
        own, inherited = fd.get(key), hv.get(key)
        if own not in (None, "", []) and inherited not in (None, "", []) and own != inherited:
            problems.append(
                Finding(
                    "data",
                    f"{host}: failure_domain.{key} is {own!r} but its hypervisor {hv_name} has {inherited!r}",
                    (host,),
                )
            )
        return own if own not in (None, "", []) else inherited

    rack = _str(pick("rack"))
    site = _str(pick("site"))
    power_raw = pick("power") or []
    power_owner = host if fd.get("power") or bare_metal or not hv else hv_name
    if not rack:
        problems.append(
            Finding("data", f"{host}: no rack (failure_domain.rack or its hypervisor's)", (host,))
        )
    power: list[tuple[str, str]] = []
    if not isinstance(power_raw, list) or not power_raw:
        problems.append(
            Finding("data", f"{host}: no power supplies (failure_domain.power or its hypervisor's)", (host,))
        )
    else:
        for supply in power_raw:
            if not isinstance(supply, Mapping) or not supply.get("ups") or not supply.get("feed"):
                problems.append(
                    Finding("data", f"{host}: each power supply needs feed and ups, got {supply!r}", (host,))
                )
                continue
            power.append((_str(supply["feed"]), _str(supply["ups"])))
    machine = Machine(host, site, rack, hv_name, tuple(power), power_owner)
    return machine, problems


def resolve_all(
    hostvars: Mapping[str, Mapping[str, Any]], hypervisors: Mapping[str, Any]
) -> tuple[dict[str, Machine], list[Finding]]:
    """Every host's failure domains (the hosts that can be placed), and what the others lack."""
    machines: dict[str, Machine] = {}
    findings: list[Finding] = []
    for host in sorted(hostvars):
        machine, problems = resolve(host, hostvars[host], hypervisors)
        findings.extend(problems)
        if machine is not None:
            machines[host] = machine
    return machines, findings


def takes_down(machine: Machine) -> set[Domain]:
    """The single domains whose loss stops this machine."""
    domains: set[Domain] = {("rack", machine.rack), ("hypervisor", machine.hypervisor)}
    if machine.site:
        domains.add(("site", machine.site))
    if machine.power:
        ups = {u for _, u in machine.power}
        feeds = {f for f, _ in machine.power}
        if len(ups) == 1:
            domains.add(("ups", next(iter(ups))))
        if len(feeds) == 1:
            domains.add(("feed", next(iter(feeds))))
    return {d for d in domains if d[1]}


def _fmt(domain: Domain) -> str:
    return f"{domain[0]}={domain[1]}"


def group_members(
    group: str,
    rules: Mapping[str, Any],
    groups: Mapping[str, Sequence[str]],
    machines: Mapping[str, Machine],
    findings: list[Finding],
) -> list[str]:
    """The members a group's rules count: its hosts and those of its ``with_groups``, sorted."""
    extra = rules.get("with_groups", [])
    if not isinstance(extra, list) or not all(isinstance(g, str) for g in extra):
        findings.append(
            Finding(
                "data",
                f"failure_domain_policy.{group}.with_groups must be a list of group names, got {extra!r}",
                group=group,
            )
        )
        extra = []
    named = set(groups.get(group, [])).union(*(groups.get(g, []) for g in extra))
    return sorted(h for h in named if h in machines)


def majority_lost(group: str, down: Mapping[str, set[Domain]], domain: Domain) -> Finding | None:
    """The ``majority`` rule for one domain: ``down`` maps each member to the domains that stop it."""
    lost = sorted(h for h in down if domain in down[h])
    survivors = len(down) - len(lost)
    if not lost or survivors * 2 > len(down):
        return None
    return Finding(
        "majority",
        f"group {group}: losing {_fmt(domain)} takes {', '.join(lost)} down and "
        f"leaves {survivors} of {len(down)}, no majority",
        tuple(lost),
        group,
        _fmt(domain),
    )


def every_member_lost(group: str, down: Mapping[str, set[Domain]], domain: Domain) -> Finding | None:
    """The ``survive`` rule for one domain: does it stop every member?"""
    members = sorted(down)
    if not members or not all(domain in down[h] for h in members):
        return None
    return Finding(
        "survive",
        f"group {group}: every member ({', '.join(members)}) dies with {_fmt(domain)}",
        tuple(members),
        group,
        _fmt(domain),
    )


def check(
    hostvars: Mapping[str, Mapping[str, Any]],
    groups: Mapping[str, Sequence[str]],
    policy: Mapping[str, Any],
    hypervisors: Mapping[str, Any] | None = None,
    overrides: Iterable[Mapping[str, Any]] = (),
) -> Report:
    """Apply every rule to an inventory."""
    machines, findings = resolve_all(hostvars, hypervisors or {})

    # power: redundant supplies that are not redundant
    seen_owners: set[str] = set()
    for machine in machines.values():
        if machine.power_owner in seen_owners or len(machine.power) < 2:
            continue
        seen_owners.add(machine.power_owner)
        what = "hypervisor" if machine.power_owner != machine.name else "host"
        for index, kind in ((1, "ups"), (0, "feed")):
            values = {supply[index] for supply in machine.power}
            if len(values) == 1:
                findings.append(
                    Finding(
                        "power",
                        f"{what} {machine.power_owner}: all {len(machine.power)} power supplies hang "
                        f"on {kind} {next(iter(values))}",
                        (machine.power_owner,),
                        domain=f"{kind}={next(iter(values))}",
                    )
                )
                break

    for group, rules in sorted(policy.items()):
        if not isinstance(rules, Mapping):
            findings.append(Finding("data", f"failure_domain_policy.{group} must be a mapping", group=group))
            continue
        types = list(rules.get("must_not_share", []))
        bad_types = [t for t in types if t not in DOMAIN_TYPES]
        if bad_types:
            findings.append(
                Finding(
                    "data",
                    f"failure_domain_policy.{group}.must_not_share: unknown {bad_types}, "
                    f"expected some of {list(DOMAIN_TYPES)}",
                    group=group,
                )
            )
        members = group_members(group, rules, groups, machines, findings)
        down = {h: {d for d in takes_down(machines[h]) if d[0] in types} for h in members}

        for a, b in combinations(members, 2):
            for domain in sorted(down[a] & down[b]):
                findings.append(
                    Finding(
                        "peers",
                        f"group {group}: {a} and {b} share {_fmt(domain)} "
                        f"(the group must not share {', '.join(types)})",
                        (a, b),
                        group,
                        _fmt(domain),
                    )
                )

        all_domains = sorted(set().union(*down.values())) if down else []
        if rules.get("keep_majority") and members:
            findings.extend(f for d in all_domains if (f := majority_lost(group, down, d)) is not None)
        if rules.get("survive_one_domain") and members:
            findings.extend(f for d in all_domains if (f := every_member_lost(group, down, d)) is not None)
        if len(members) < 2:
            findings.append(
                Finding(
                    "data",
                    f"group {group}: high-availability group with {len(members)} member(s)",
                    tuple(members),
                    group,
                )
            )

    return apply_overrides(findings, overrides)


def apply_overrides(findings: list[Finding], overrides: Iterable[Mapping[str, Any]]) -> Report:
    """Move findings named by an override with a reason aside; report unknown overrides."""
    by_key: dict[str, str] = {}
    report = Report()
    for entry in overrides:
        key, reason = _str(entry.get("finding")), _str(entry.get("reason")).strip()
        if not key or not reason:
            report.findings.append(
                Finding(
                    "data",
                    f"failure_domain_overrides: every entry needs finding and reason, got {dict(entry)!r}",
                )
            )
            continue
        by_key[key] = reason
    used: set[str] = set()
    for f in findings:
        if f.rule != "data" and f.key in by_key:
            report.overridden.append((f, by_key[f.key]))
            used.add(f.key)
        else:
            report.findings.append(f)
    report.unused_overrides = sorted(set(by_key) - used)
    return report


def check_inventory(inventory: Mapping[str, Any]) -> Report:
    """Check an inventory as `ansible-inventory --list` prints it."""
    hostvars: Mapping[str, Mapping[str, Any]] = inventory.get("_meta", {}).get("hostvars", {})
    groups: dict[str, list[str]] = {}

    def members(group: str, trail: tuple[str, ...] = ()) -> set[str]:
        entry = inventory.get(group, {})
        found = set(entry.get("hosts", []))
        for child in entry.get("children", []):
            if child not in trail:
                found |= members(child, (*trail, group))
        return found

    for group in inventory:
        if group != "_meta":
            groups[group] = sorted(members(group))
    any_vars: Mapping[str, Any] = next(iter(hostvars.values()), {})
    return check(
        hostvars,
        groups,
        any_vars.get("failure_domain_policy", {}) or {},
        any_vars.get("failure_domain_hypervisors", {}) or {},
        any_vars.get("failure_domain_overrides", []) or [],
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check an inventory's failure domains.")
    parser.add_argument("--inventory", "-i", action="append", required=True)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    status = 0
    results: dict[str, Any] = {}
    for path in args.inventory:
        report = check_inventory(load_inventory(path))
        results[path] = report.as_dict()
        if not args.json:
            print(f"{path}:\n" + "\n".join(f"  {line}" for line in report.render().splitlines()))
        status |= 0 if report.ok else 1
    if args.json:
        print(json.dumps(results, indent=2))
    return status


if __name__ == "__main__":
    sys.exit(main())
