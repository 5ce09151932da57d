"""Cross-tier checks on the whole lab converged by playbooks/site.yml."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansiblerun import playbook, recap

ROOT = Path(__file__).resolve().parents[3]
Host = Any


def inventory_dir() -> Path:
    return Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent


def run_site(*args: str) -> subprocess.CompletedProcess[str]:
    return playbook("playbooks/site.yml", *args)


def lab_secrets() -> list[str]:
    """Every value in the lab's vault files (decrypted with the lab-only password)."""
    values: list[str] = []
    for vault in sorted((ROOT / "inventory/lab").rglob("vault.yml")):
        out = subprocess.run(
            ["ansible-vault", "view", str(vault)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
        ).stdout
        values += [str(v) for v in (yaml.safe_load(out) or {}).values() if v not in (None, "")]
    return values


@pytest.fixture()
def name(host: Host) -> str:
    return str(host.ansible.get_variables()["inventory_hostname"])


def test_every_managed_host_has_the_base(host: Host, name: str) -> None:
    motd = host.file("/etc/motd")
    if name == "client":
        assert not motd.exists or "heroes-infra" not in motd.content_string
        return
    assert "is managed by heroes-infra" in motd.content_string
    assert host.file("/etc/systemd/journald.conf.d/50-heroes.conf").exists
    assert host.check_output("systemctl --failed --no-legend --plain") == ""


def test_host_has_its_lab_address(host: Host) -> None:
    address = host.ansible.get_variables()["host_address"]
    assert address in host.interface("eth0").addresses


def test_preflight_refuses_a_shared_ups_before_any_change() -> None:
    bad = (
        '{"failure_domain_hypervisors": {'
        '"hv-a": {"rack": "r1", "power": [{"feed": "a", "ups": "ups-1"}, {"feed": "b", "ups": "ups-1"}]},'
        '"hv-b": {"rack": "r2", "power": [{"feed": "a", "ups": "ups-1"}, {"feed": "b", "ups": "ups-2"}]},'
        '"hv-c": {"rack": "r3", "power": [{"feed": "c", "ups": "ups-3"}, {"feed": "d", "ups": "ups-4"}]}}}'
    )
    proc = run_site("-e", bad)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "hypervisor hv-a: all 2 power supplies hang on ups ups-1" in out
    assert all(c["changed"] == 0 for c in recap(out).values())
    assert "Base of every host" not in out


def changed_tasks(output: str) -> dict[str, set[str]]:
    """The tasks (and handlers) that reported 'changed' in a run's output, per host."""
    found: dict[str, set[str]] = {}
    task = ""
    for line in output.splitlines():
        header = re.match(r"^(?:TASK|RUNNING HANDLER) \[(.*)\] \*+$", line)
        if header:
            task = header.group(1)
            continue
        changed = re.match(r"^changed: \[([^\]]+)\]", line)
        if changed:
            found.setdefault(changed.group(1).split(" -> ")[0], set()).add(task)
    return found


# Under --check with a changed Galera option and changed stats and SST passwords, the only tasks
# that may report a change: the files that carry them, the SST account's password, and what
# follows from them (the restart mark, HAProxy's reload).
CHANGE_TASKS = {
    "haproxy : Write the HAProxy configuration",
    "haproxy : Reload haproxy",
    "galera : Write the Galera configuration",
    "galera : Write the SST credentials",
    "galera : Create the directory of the restart mark",
    "galera : Mark the node for a restart",
    "galera : Create the users",
    "galera : Create the SST user on the anchor (it replicates to every joiner)",
}


def heroes_plan(out: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], str, str]:
    """heroes-plan (what `make plan` runs) on the scenario's inventory: the process, plan.json,
    plan.txt and the run's own output (ansible.log)."""
    proc = subprocess.run(
        [sys.executable, "-m", "heroes_infra.plan", "-i", str(inventory_dir()), "--out", str(out), *args],
        capture_output=True, text=True, cwd=ROOT, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
    )
    log = (out / "ansible.log").read_text(encoding="utf-8") if (out / "ansible.log").exists() else ""
    if not (out / "plan.json").exists():
        return proc, {}, proc.stdout + proc.stderr, log
    data = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    return proc, data, (out / "plan.txt").read_text(encoding="utf-8"), log


def test_the_plan_of_a_galera_option_and_secrets_change_says_how_each_service_restarts_and_prints_no_secret(
    tmp_path: Path,
) -> None:
    """`make plan`'s heroes-plan (site.yml --check --diff) on the converged lab, with a changed
    Galera option (gcache.size) and a real change of every secret-bearing template (the stats
    and SST passwords): the hosts the change does not reach report changed=0, the others only
    the tasks that render or set it; the plan says that db1-db3 restart MariaDB one at a time,
    drained on both balancers, and that HAProxy reloads; neither the old (vault) nor the new
    secrets are in the plan (text, Markdown, JSON) nor in the run's output."""
    canaries = {
        "haproxy_stats_password": "diff-canary-stats-7f3a9c",
        "galera_sst_password": "diff-canary-sst-51be02",
    }
    extra = " ".join(f"{k}={v}" for k, v in canaries.items())
    proc, data, text, log = heroes_plan(tmp_path, "--detailed-exitcode", "-e", extra, "-e",
                                        "galera_gcache_size=300M")
    assert proc.returncode == 2, f"{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}\n{log[-3000:]}"
    hosts = recap(log)
    assert set(hosts) == {"app1", "db1", "db2", "db3", "lb1", "lb2", "legacy1", "web1", "web2"}, hosts
    changed = changed_tasks(log)
    for name, counts in hosts.items():
        assert counts["failed"] == 0, (name, counts)
        if name in ("lb1", "lb2", "db1", "db2", "db3"):
            # the change is real: every balancer's haproxy.cfg and every node's Galera settings
            assert counts["changed"] >= 1, (name, counts)
            assert changed.get(name, set()) <= CHANGE_TASKS, (name, changed.get(name))
        else:
            assert counts["changed"] == 0, (name, counts, changed.get(name))
    assert data["complete"] is True
    assert data["changed_hosts"] == ["db1", "db2", "db3", "lb1", "lb2"], data["changed_hosts"]
    services = {(line["hosts"], line["service"], line["kind"]) for line in data["services"]}
    assert services == {
        ("db1\N{EN DASH}db3", "mariadb", "restarted one at a time, drained (on lb1, lb2)"),
        ("lb1, lb2", "haproxy", "reloaded"),
    }, data["services"]
    assert "db1\N{EN DASH}db3: mariadb restarted one at a time, drained (on lb1, lb2)" in text, text
    assert "+wsrep_provider_options" in text and "gcache.size=300M" in text, text
    secrets = lab_secrets()
    assert secrets, "the lab vault holds no value to look for"
    written = [text, json.dumps(data), (tmp_path / "plan.md").read_text(encoding="utf-8"), log]
    for secret in [*canaries.values(), *secrets]:
        assert not any(secret in what for what in written)


def test_the_plan_of_no_change_says_no_host_would_change(tmp_path: Path) -> None:
    """heroes-plan with the repository as converged, on the failover tier's playbook (HAProxy and
    keepalived, whose handlers reload them): no host would change, no service is restarted."""
    proc, data, text, log = heroes_plan(tmp_path, "--detailed-exitcode",
                                        "--playbook", "playbooks/loadbalancer.yml")
    assert proc.returncode == 0, f"{text[-3000:]}\n{log[-3000:]}"
    assert data["complete"] is True and data["changed_hosts"] == [] and data["services"] == [], text
    assert sorted(data["unchanged_hosts"]) == ["lb1", "lb2", "web1", "web2"], text
    assert "No host would change (4 checked)." in text, text
