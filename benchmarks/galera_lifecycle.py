"""Benchmark: the Galera cluster's lifecycle on the running lab (`make lab`).

Three timings, each with a baseline from the same run:

* **bootstrap** — db1..db3 removed and recreated empty (the base role applied, not timed), then
  ``playbooks/database.yml`` timed: install, configure, bootstrap, two joins by SST, accounts,
  the agent. Baseline: the same playbook again on the running cluster (it changes nothing).
* **rolling restart** — ``playbooks/maintenance/galera-rolling-restart.yml`` (drains on both
  balancers, restart, Synced, ready — for all three nodes). Baseline: one plain
  ``systemctl restart mariadb`` of one node until it is Synced again; ratio = rolling / (3 x that).
* **full-outage recovery** — every node stopped cleanly, then
  ``playbooks/maintenance/galera-recover.yml`` timed until all three are Synced. Baseline: the
  same playbook on the running cluster.

    make lab && PATH=.venv/bin:$PATH python benchmarks/galera_lifecycle.py
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path
from typing import Any

from report import finish

ROOT = Path(__file__).resolve().parents[1]
NODES = ("db1", "db2", "db3")


def dexec(host: str, command: str) -> str:
    return subprocess.run(["docker", "exec", f"heroes-lab-{host}", "sh", "-c", command],
                          check=True, capture_output=True, text=True).stdout


def playbook(path: str, *extra: str) -> float:
    began = time.monotonic()
    proc = subprocess.run(["ansible-playbook", "-i", "inventory/lab", *extra, path],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    elapsed = time.monotonic() - began
    if proc.returncode != 0:
        raise SystemExit(f"{path} failed:\n" + (proc.stdout + proc.stderr)[-2500:])
    return elapsed


def state(host: str) -> str:
    try:
        out = dexec(host, "mariadb -N -B -e \"SHOW GLOBAL STATUS LIKE 'wsrep_local_state_comment'\"")
    except subprocess.CalledProcessError:
        return "down"
    return out.split("\t")[-1].strip()


def all_synced() -> bool:
    return all(state(n) == "Synced" for n in NODES)


def single_restart(host: str) -> float:
    began = time.monotonic()
    dexec(host, "systemctl restart mariadb")
    while state(host) != "Synced":
        if time.monotonic() - began > 300:
            raise SystemExit(f"{host} not Synced 300 s after a restart")
        time.sleep(0.2)
    return time.monotonic() - began


def bootstrap() -> tuple[float, float]:
    for name in NODES:
        subprocess.run(["docker", "rm", "-f", f"heroes-lab-{name}"], check=True, capture_output=True)
    playbook("playbooks/lab/up.yml")
    playbook("playbooks/base.yml", "--limit", "galera")
    timed = playbook("playbooks/database.yml")
    if not all_synced():
        raise SystemExit("after database.yml not every node is Synced")
    return timed, playbook("playbooks/database.yml")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", nargs="*", default=[], choices=["bootstrap", "rolling", "recovery"])
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/galera_lifecycle.json")
    args = parser.parse_args()
    if not all_synced():
        raise SystemExit("the lab's Galera cluster must be up with every node Synced (make lab)")
    result: dict[str, Any] = {}
    rows: list[tuple[str, float, str, float, str]] = []
    if "bootstrap" not in args.skip:
        timed, base = bootstrap()
        result["bootstrap"] = {"seconds": round(timed, 1), "converge_unchanged_seconds": round(base, 1)}
        rows.append(("bootstrap 3 empty nodes (database.yml)", timed, "same playbook, nothing to do",
                     base, f"{timed / base:.1f}x"))
    if "rolling" not in args.skip:
        single = single_restart("db3")
        rolling = playbook("playbooks/maintenance/galera-rolling-restart.yml")
        result["rolling_restart"] = {"seconds": round(rolling, 1), "single_restart_seconds": round(single, 1)}
        rows.append(("rolling restart, drains included", rolling, "3 x one plain restart to Synced",
                     3 * single, f"{rolling / (3 * single):.1f}x"))
    if "recovery" not in args.skip:
        base = playbook("playbooks/maintenance/galera-recover.yml")
        for name in ("db3", "db2", "db1"):
            dexec(name, "systemctl stop mariadb")
        timed = playbook("playbooks/maintenance/galera-recover.yml")
        if not all_synced():
            raise SystemExit("after the recovery not every node is Synced")
        result["recovery"] = {"seconds": round(timed, 1), "running_cluster_seconds": round(base, 1)}
        rows.append(("full-outage recovery (galera-recover.yml)", timed, "same playbook, cluster running",
                     base, f"{timed / base:.1f}x"))
    shown = [(name, f"{value:.1f}", base_name, f"{base_value:.1f}", ratio)
             for name, value, base_name, base_value, ratio in rows]
    finish(("measurement", "seconds", "baseline", "seconds", "ratio"), shown, result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
