"""Cross-tier checks on the whole lab converged by playbooks/site.yml."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansiblerun import playbook, recap, why

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


# Under --check with a changed stats and SST password, the only tasks that may report a change:
# the files that carry those secrets, the SST account's password, and what follows from them
# (the restart mark and the restart path's message, HAProxy's reload).
SECRET_TASKS = {
    "haproxy : Write the HAProxy configuration",
    "haproxy : Reload haproxy",
    "galera : Write the SST credentials",
    "galera : Create the directory of the restart mark",
    "galera : Mark the node for a restart",
    "galera : Create the users",
    "galera : Create the SST user on the anchor (it replicates to every joiner)",
}


def test_check_diff_on_the_converged_lab_changes_only_what_a_changed_secret_touches_and_prints_no_secret(
) -> None:
    """One `site.yml --check --diff` on the converged lab, with a real change of every
    secret-bearing template (the stats and SST passwords): the hosts those secrets do not reach
    report changed=0, the others report only the tasks that render or set the secrets, and
    neither the old (vault) nor the new values are printed."""
    canaries = {
        "haproxy_stats_password": "diff-canary-stats-7f3a9c",
        "galera_sst_password": "diff-canary-sst-51be02",
    }
    extra = " ".join(f"{k}={v}" for k, v in canaries.items())
    proc = run_site("--check", "--diff", "-e", extra)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, why(proc)
    hosts = recap(out)
    assert set(hosts) == {"app1", "db1", "db2", "db3", "lb1", "lb2", "legacy1", "web1", "web2"}, hosts
    changed = changed_tasks(out)
    for name, counts in hosts.items():
        assert counts["failed"] == 0, (name, counts)
        if name in ("lb1", "lb2", "db1", "db2", "db3"):
            # the change is real: every balancer's haproxy.cfg and every node's SST settings
            assert counts["changed"] >= 1, (name, counts)
            assert changed.get(name, set()) <= SECRET_TASKS, (name, changed.get(name))
        else:
            assert counts["changed"] == 0, (name, counts, changed.get(name))
    secrets = lab_secrets()
    assert secrets, "the lab vault holds no value to look for"
    for secret in [*canaries.values(), *secrets]:
        assert secret not in out
