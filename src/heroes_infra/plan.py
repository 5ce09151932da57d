"""The plan for reviewers: what the repository, as it is checked out, would change on the hosts.

    heroes-plan -i inventory/production                 # playbooks/site.yml --check --diff
    heroes-plan -i inventory/lab --limit galera -e galera_max_connections=300
    make plan INVENTORY=inventory/production

It converges nothing: it runs the playbook with ``--check --diff`` and the ``heroes_plan``
callback (plugins/callback/heroes_plan.py), then writes to ``--out`` (default ``plan/``):

``plan.txt``   per host, the tasks that would change, their diffs (secrets masked), and what
               ``--check --diff`` does not say: which services would be restarted, reloaded,
               started or stopped, and whether a restart is the drained, one-at-a-time kind
               (the galera role's: each node drained on every balancer, Synced before the next)
               or an immediate one;
``plan.md``    the same for a pull request (a comment, or the description);
``plan.json``  the same for CI (``changed_hosts``, ``services``, ``hosts``, ``failures``);
``ansible.log`` the run's own output.

Exit status: 0 when the plan is complete (``--detailed-exitcode``: 2 when something would
change), 1 when a task failed or a host was unreachable (the plan is then incomplete, and says
so), 3 when the playbook could not run at all.

Roles publish the restarts they make themselves, outside handlers, with ``ansible.builtin.set_stats``
under :data:`PUBLISHED_KEY`: a list of ``{host, service, action, drained, one_at_a_time,
balancers}``. A handler's or task's service module that reports a change is read from its own
arguments: an immediate restart, a reload, a start or a stop.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from heroes_infra.secrets_check import SECRET_NAME

PUBLISHED_KEY = "heroes_plan_services"
MASK = "********"
# between the first and the last host of a range, an en dash (a hyphen is part of host names)
DASH = "\N{EN DASH}"
ROOT = Path(__file__).resolve().parents[2]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_NUMBERED = re.compile(r"^(?P<stem>.*?)(?P<number>\d+)$")
# a secret this short would mask half the diff; it is masked only as a whole word
_SHORT = 4
# lines of a multi-line secret (a PEM key) masked on their own from this length: a diff cuts it
_LINE = 16


def is_secret_name(name: str) -> bool:
    """A variable whose value is a secret: ``vault_*`` or a secret-looking name."""
    return name.startswith("vault_") or SECRET_NAME.search(name) is not None


def secret_strings(value: Any) -> set[str]:
    """Every non-empty string in a secret's value (a string, or lists and dicts of them)."""
    found: set[str] = set()
    if isinstance(value, str):
        if value.strip():
            found.add(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            found |= secret_strings(item)
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            found |= secret_strings(item)
    return found


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret written as ``********``; a multi-line secret also line by line
    (a diff shows it cut into lines), a very short one only as a whole word."""
    pieces: set[str] = set()
    for secret in secrets:
        pieces.add(secret)
        if "\n" in secret:
            pieces |= {line.strip() for line in secret.splitlines() if len(line.strip()) >= _LINE}
    for piece in sorted(pieces, key=len, reverse=True):
        if len(piece) >= _SHORT:
            text = text.replace(piece, MASK)
        elif piece.strip():
            text = re.sub(rf"(?<!\w){re.escape(piece)}(?!\w)", MASK, text)
    return text


# a diff line that sets a secret-named key: "password = x", "api_token: x", "auth_pass x", and
# "auth": HAProxy's "stats auth user:password", nginx's auth_basic_user_file
_ASSIGNMENT = re.compile(
    rf"^(?P<key>.*?[\w.-]*(?:{SECRET_NAME.pattern}|auth)[\w.-]*\s*(?:[=:]|\s)\s*)(?P<value>\S.*)$",
    re.IGNORECASE | re.MULTILINE,
)


def mask_assignments(text: str) -> str:
    """Each value set to a secret-named key written as ``********``: an old secret a diff
    removes is not in the inventory any more, so :func:`mask` cannot know it."""
    return _ASSIGNMENT.sub(lambda found: found["key"] + MASK, text)


def host_ranges(hosts: Iterable[str]) -> str:
    """``db1`` DASH ``db3`` for three or more hosts numbered in a row, else a comma list, sorted."""
    def key(name: str) -> tuple[str, int, str]:
        found = _NUMBERED.match(name)
        return (found["stem"], int(found["number"]), name) if found else (name, -1, name)

    names = sorted(set(hosts), key=key)
    parts: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= 3:
            parts.append(f"{run[0]}{DASH}{run[-1]}")
        else:
            parts.extend(run)
        run.clear()

    for name in names:
        if run:
            last, this = key(run[-1]), key(name)
            if not (this[0] == last[0] and last[1] >= 0 and this[1] == last[1] + 1):
                flush()
        run.append(name)
    flush()
    return ", ".join(parts)


@dataclass(frozen=True)
class Service:
    """One service on one host that the run would restart, reload, start or stop."""

    host: str
    name: str
    action: str  # restarted, reloaded, started, stopped
    drained: bool = False
    one_at_a_time: bool = False
    balancers: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """How, in the words of the plan: 'restarted one at a time, drained (on lb1, lb2)'."""
        if self.action != "restarted":
            return self.action
        if self.one_at_a_time and self.drained:
            where = f" (on {', '.join(self.balancers)})" if self.balancers else ""
            return f"restarted one at a time, drained{where}"
        if self.one_at_a_time:
            return "restarted one at a time, not drained"
        return "restarted at once, not drained"


@dataclass
class HostPlan:
    name: str
    tasks: list[dict[str, Any]] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    recap: dict[str, int] = field(default_factory=dict)

    @property
    def changes(self) -> bool:
        return bool(self.tasks or self.services)


@dataclass
class Plan:
    playbook: str
    hosts: dict[str, HostPlan]
    complete: bool
    check_mode: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def changed_hosts(self) -> list[str]:
        return [name for name, host in self.hosts.items() if host.changes]

    def service_lines(self) -> list[tuple[str, str, str]]:
        """(hosts, service, kind) with the hosts that share a service and a kind together."""
        grouped: dict[tuple[str, str], list[str]] = {}
        for host in self.hosts.values():
            for service in host.services:
                grouped.setdefault((service.name, service.kind), []).append(host.name)
        lines = [(host_ranges(names), name, kind) for (name, kind), names in grouped.items()]
        return sorted(lines, key=lambda line: (line[1], line[0]))

    def to_json(self) -> dict[str, Any]:
        return {
            "playbook": self.playbook,
            "complete": self.complete,
            "warnings": self.warnings,
            "changed_hosts": self.changed_hosts,
            "unchanged_hosts": [name for name in self.hosts if name not in self.changed_hosts],
            "services": [{"hosts": hosts, "service": name, "kind": kind}
                         for hosts, name, kind in self.service_lines()],
            "hosts": {
                name: {
                    "tasks": host.tasks,
                    "services": [
                        {"service": s.name, "action": s.action, "kind": s.kind, "drained": s.drained,
                         "one_at_a_time": s.one_at_a_time, "balancers": list(s.balancers)}
                        for s in host.services
                    ],
                    "failures": host.failures,
                    "recap": host.recap,
                }
                for name, host in self.hosts.items()
            },
        }


def _service_name(name: str) -> str:
    return name.removesuffix(".service")


def build(raw: Mapping[str, Any]) -> Plan:
    """The plan from what the callback wrote."""
    recap: Mapping[str, Mapping[str, int]] = raw.get("recap", {})
    hosts = {name: HostPlan(name, recap=dict(counts)) for name, counts in sorted(recap.items())}

    def host(name: str) -> HostPlan:
        return hosts.setdefault(name, HostPlan(name))

    for event in raw.get("events", []):
        plan = host(event["host"])
        if event["status"] in ("failed", "unreachable"):
            said = f"{event['task']}: {event['status']}: {event.get('message', '')}"
            plan.failures.append(said.rstrip(": "))
            continue
        plan.tasks.append({
            "task": event["task"],
            "action": event["action"],
            "handler": event["handler"],
            "hidden": event["hidden"],
            "diff_withheld": bool(event.get("diff_withheld", False)),
            "diffs": [_ANSI.sub("", diff) for diff in event.get("diffs", [])],
        })
        for service in event.get("services", []):
            plan.services.append(Service(event["host"], _service_name(service["name"]), service["state"]))
    for published in raw.get("published", []):
        host(str(published["host"])).services.append(Service(
            host=str(published["host"]),
            name=_service_name(str(published["service"])),
            action=str(published.get("action", "restarted")),
            drained=bool(published.get("drained", False)),
            one_at_a_time=bool(published.get("one_at_a_time", False)),
            balancers=tuple(str(b) for b in published.get("balancers", [])),
        ))
    for plan in hosts.values():
        plan.services = list(dict.fromkeys(plan.services))  # once each, in order
    complete = not any(plan.failures for plan in hosts.values()) and not any(
        counts.get("failures", 0) or counts.get("unreachable", 0) for counts in recap.values())
    return Plan(str(raw.get("playbook", "")), hosts, complete, bool(raw.get("check_mode", False)),
                [str(w) for w in raw.get("warnings", [])])


def _indent(text: str, by: str) -> str:
    return "\n".join(by + line if line else line for line in text.rstrip("\n").splitlines())


def _host_lines(host: HostPlan) -> list[str]:
    """One host's services, then its tasks with their diffs."""
    out = [f"  service: {service.name} {service.kind}" for service in host.services]
    for task in host.tasks:
        what = " (handler)" if task["handler"] else ""
        out.append(f"  - {task['task']} [{task['action']}]{what}")
        if task["hidden"]:
            out.append("      (no_log: the task's output and diff are hidden)")
        elif task["diff_withheld"]:
            out.append("      (diff: false: the role keeps this diff out of every output, e.g. a file "
                       "with a secret)")
        out.extend(_indent(diff, "      ") for diff in task["diffs"])
    return out


def render_text(plan: Plan, title: str) -> str:
    """The plan for a person."""
    out = [title]
    changed = plan.changed_hosts
    unchanged = [name for name in plan.hosts if name not in changed]
    if not plan.complete:
        out.append("THE PLAN IS INCOMPLETE: a task failed or a host was unreachable (see below and "
                   "ansible.log); what follows is only what the run reached.")
    out.extend(f"WARNING: {warning}" for warning in plan.warnings)
    if not changed:
        out.append(f"No host would change ({len(plan.hosts)} checked).")
    else:
        out.append(f"{len(changed)} of {len(plan.hosts)} hosts would change: {host_ranges(changed)}")
    out.append("")
    out.append("Services restarted, reloaded, started or stopped:")
    lines = plan.service_lines()
    out.extend(f"  {hosts}: {name} {kind}" for hosts, name, kind in lines)
    if not lines:
        out.append("  none")
    for name in changed:
        out.append("")
        out.append(f"== {name}: {len(plan.hosts[name].tasks)} task(s) would change")
        out.extend(_host_lines(plan.hosts[name]))
    failed = {name: host.failures for name, host in plan.hosts.items() if host.failures}
    if failed:
        out.append("")
        out.append("Failures:")
        for name, failures in failed.items():
            out.extend(f"  {name}: {failure}" for failure in failures)
    if unchanged:
        out.append("")
        out.append(f"No change: {host_ranges(unchanged)}")
    return "\n".join(out) + "\n"


def render_markdown(plan: Plan, title: str) -> str:
    """The plan for a pull request: the summary in the open, each host folded."""
    changed = plan.changed_hosts
    out = [f"### {title}", ""]
    if not plan.complete:
        out += ["**The plan is incomplete**: a task failed or a host was unreachable.", ""]
    out += [f"**Warning**: {warning}" for warning in plan.warnings]
    if not changed:
        out.append(f"No host would change ({len(plan.hosts)} checked).")
    else:
        out.append(f"{len(changed)} of {len(plan.hosts)} hosts would change: {host_ranges(changed)}")
    out += ["", "| hosts | service | how |", "|---|---|---|"]
    out += [f"| {hosts} | {name} | {kind} |" for hosts, name, kind in plan.service_lines()]
    if not plan.service_lines():
        out.append("| | | no service restarted or reloaded |")
    for name in changed:
        host = plan.hosts[name]
        body = "\n".join(_host_lines(host)).replace("```", "'''")
        out += ["", f"<details><summary>{name}: {len(host.tasks)} task(s)</summary>", "", "```diff",
                body, "```", "", "</details>"]
    return "\n".join(out) + "\n"


def run(
    inventory: str,
    playbook: str,
    out: Path,
    limit: str | None = None,
    extra_vars: Sequence[str] = (),
) -> tuple[int, Path]:
    """ansible-playbook --check --diff with the callback; its output goes to out/ansible.log."""
    out.mkdir(parents=True, exist_ok=True)
    raw = out / "callback.json"
    raw.unlink(missing_ok=True)
    enabled = [c for c in os.environ.get("ANSIBLE_CALLBACKS_ENABLED", "").split(",") if c.strip()]
    env = {
        **os.environ,
        "ANSIBLE_CALLBACKS_ENABLED": ",".join([*enabled, "heroes_plan"]),
        "ANSIBLE_CALLBACK_PLUGINS": ":".join(
            p for p in (os.environ.get("ANSIBLE_CALLBACK_PLUGINS"), str(ROOT / "plugins/callback")) if p),
        "HEROES_PLAN_JSON": str(raw),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    }
    # the virtualenv's, also when its bin/ is not on PATH
    ansible_playbook = shutil.which("ansible-playbook") or str(Path(sys.executable).with_name(
        "ansible-playbook"))
    command = [ansible_playbook, "-i", inventory, playbook, "--check", "--diff"]
    if limit:
        command += ["--limit", limit]
    for extra in extra_vars:
        command += ["-e", extra]
    with (out / "ansible.log").open("w", encoding="utf-8") as log:
        proc = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False, cwd=ROOT, env=env)
    return proc.returncode, raw


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="What a playbook would change (--check --diff), per host, with the restarts it "
                    "implies; converges nothing.")
    parser.add_argument("--inventory", "-i", required=True)
    parser.add_argument("--playbook", default="playbooks/site.yml")
    parser.add_argument("--limit", "-l")
    parser.add_argument("--extra-vars", "-e", action="append", default=[],
                        help="as ansible-playbook's -e (to preview a change without editing a file)")
    parser.add_argument("--out", type=Path, default=Path("plan"))
    parser.add_argument("--detailed-exitcode", action="store_true",
                        help="exit 2 when the complete plan has a change")
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    code, raw_path = run(args.inventory, args.playbook, args.out, args.limit, args.extra_vars)
    log = args.out / "ansible.log"
    if not raw_path.exists():
        print(f"heroes-plan: {args.playbook} did not run (exit {code}); the end of {log}:", file=sys.stderr)
        print(_indent("\n".join(log.read_text(encoding="utf-8").splitlines()[-25:]), "  "), file=sys.stderr)
        return 3
    plan = build(json.loads(raw_path.read_text(encoding="utf-8")))
    if code != 0 and plan.complete:  # ansible-playbook failed without a task failing
        plan.complete = False
    limit = f" --limit {args.limit}" if args.limit else ""
    extra = "".join(f" -e {e.split('=')[0]}=…" for e in args.extra_vars)
    title = (f"Plan: {args.playbook} --check --diff on {args.inventory}{limit}{extra} "
             f"({started:%Y-%m-%d %H:%M} UTC)")
    text = render_text(plan, title)
    (args.out / "plan.txt").write_text(text, encoding="utf-8")
    (args.out / "plan.md").write_text(render_markdown(plan, title), encoding="utf-8")
    (args.out / "plan.json").write_text(
        json.dumps({"title": title, **plan.to_json()}, indent=2) + "\n", encoding="utf-8")
    raw_path.unlink()
    print(text, end="")
    print(f"(written: {args.out}/plan.txt, plan.md, plan.json; the run's output: {log})")
    if not plan.complete:
        return 1
    return 2 if args.detailed_exitcode and plan.changed_hosts else 0


if __name__ == "__main__":
    sys.exit(main())
