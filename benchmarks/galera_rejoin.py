"""Benchmark: how long a rejoining Galera node holds every commit, with Galera's own timers
against the ones the inventory sets (``galera_provider_options``), in the same run.

When a node leaves or joins, the group-communication layer agrees on a new view, and no node
commits until it has. Web-style clients through the database VIP (connect, INSERT, SELECT,
COMMIT, disconnect: ``heroes-loadprobe web``) see it as their longest stall. Each run restarts
one backup node (``db2``: not the writer, so no failover is in the figure) through the drained
restart path (``playbooks/maintenance/galera-rolling-restart.yml --limit db2``) and takes the
clients' longest stall.

* **baseline** — ``galera_provider_options: {}``: Galera's defaults (``evs.*`` as shipped);
* **inventory** — the options the inventory sets, or with ``--candidate '{"evs.x": "PT0.1S"}'``
  other options to try (the inventory's are put back at the end).

Each setting is applied with ``playbooks/database.yml`` first (the role's handler restarts the
nodes the drained way); the inventory's setting is applied again at the end, whatever happened.
The ratio is the inventory's median stall over the baseline's.

    make lab && PATH=.venv/bin:$PATH python benchmarks/galera_rejoin.py --runs 6
    # on a kept full-stack scenario instead of the lab (molecule converge -s full-stack):
    ... galera_rejoin.py --inventory ~/.ansible/tmp/molecule.*.full-stack/inventory --prefix ''
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from failover import vault  # the lab vault's values, read with ansible-vault
from report import finish

ROOT = Path(__file__).resolve().parents[1]
VIP = "172.30.0.20"
PROBE = "/usr/local/bin/heroes-loadprobe"
STOP = "/tmp/heroes-loadprobe.stop"
OUT = "/tmp/bench-rejoin.json"


class Lab:
    """The containers and the inventory the benchmark acts on."""

    def __init__(self, inventory: str, prefix: str) -> None:
        self.inventory = inventory
        self.prefix = prefix

    def dexec(self, host: str, command: str, check: bool = True) -> str:
        return subprocess.run(["docker", "exec", f"{self.prefix}{host}", "sh", "-c", command],
                              check=check, capture_output=True, text=True).stdout

    def playbook(self, path: str, *extra: str) -> float:
        began = time.monotonic()
        proc = subprocess.run(["ansible-playbook", "-i", self.inventory, *extra, path],
                              capture_output=True, text=True, cwd=ROOT, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"{path} failed:\n" + (proc.stdout + proc.stderr)[-2500:])
        return time.monotonic() - began

    def provider_options(self) -> dict[str, str]:
        """wsrep_provider_options as db1 runs them, the evs.* items."""
        out = self.dexec("db1", "mariadb -N -B -e 'SELECT @@wsrep_provider_options'")
        items = (item.partition("=") for item in out.split(";"))
        return {k.strip(): v.strip() for k, _, v in items if k.strip().startswith("evs.")}


def rejoin(lab: Lab, password: str) -> dict[str, Any]:
    """One restart of db2 under web clients: their longest stall, failures, the restart's time."""
    lab.dexec("client", f"rm -f {STOP} {OUT}; PROBE_PASSWORD='{password}' nohup python3 {PROBE} web "
                        f"--host {VIP} --user probe --database heroes_probe --workers 4 --rate 10 "
                        f"--duration 600 > {OUT} 2>&1 &")
    time.sleep(3)
    seconds = lab.playbook("playbooks/maintenance/galera-rolling-restart.yml", "--limit", "db2")
    time.sleep(3)
    lab.dexec("client", f"touch {STOP}")
    deadline = time.monotonic() + 60
    while "}" not in lab.dexec("client", f"cat {OUT}", check=False) and time.monotonic() < deadline:
        time.sleep(0.5)
    web = json.loads(lab.dexec("client", f"cat {OUT}").strip().splitlines()[-1])
    return {"stall": web["longest_stall"], "failed": web["failed"], "ok": web["ok"],
            "restart_seconds": round(seconds, 1)}


def measure(lab: Lab, password: str, label: str, extra: list[str], runs: int) -> dict[str, Any]:
    lab.playbook("playbooks/database.yml", *extra)
    options = lab.provider_options()
    results = [rejoin(lab, password) for _ in range(runs)]
    stalls = [r["stall"] for r in results]
    print(f"{label}: stalls {stalls}", flush=True)
    return {"provider_options": options, "runs": results, "stalls": stalls,
            "median": statistics.median(stalls), "max": max(stalls),
            "failed": sum(r["failed"] for r in results)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=6, help="restarts of db2 per setting")
    parser.add_argument("--inventory", default="inventory/lab")
    parser.add_argument("--prefix", default="heroes-lab-", help="the containers' name prefix")
    parser.add_argument("--candidate", type=json.loads, default=None,
                        help="galera_provider_options to measure instead of the inventory's (JSON)")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/galera_rejoin.json")
    args = parser.parse_args()
    lab = Lab(args.inventory, args.prefix)
    password = vault("galera", "vault_galera_probe_password")
    source = str(ROOT / "src/heroes_infra/loadprobe.py")
    subprocess.run(["docker", "cp", source, f"{args.prefix}client:{PROBE}"], check=True)
    defaults = ["-e", json.dumps({"galera_provider_options": {}})]
    candidate = ["-e", json.dumps({"galera_provider_options": args.candidate})] if args.candidate else []
    try:
        base = measure(lab, password, "baseline", defaults, args.runs)
        tuned = measure(lab, password, "candidate" if args.candidate else "inventory", candidate,
                        args.runs)
    finally:
        lab.playbook("playbooks/database.yml")
    ratio = tuned["median"] / base["median"] if base["median"] else float("nan")
    rows = [
        (f"stall, median of {args.runs}", f"{tuned['median']:.3f} s", f"{base['median']:.3f} s",
         f"{ratio:.2f}"),
        (f"stall, max of {args.runs}", f"{tuned['max']:.3f} s", f"{base['max']:.3f} s",
         f"{tuned['max'] / base['max']:.2f}" if base["max"] else "-"),
        ("failed web transactions", str(tuned["failed"]), str(base["failed"]), "-"),
    ]
    label = "candidate" if args.candidate else "inventory"
    finish(("rejoin of db2 under web clients", label, "baseline (defaults)", "ratio"), rows,
           {"baseline": base, "inventory": tuned, "ratio_median": round(ratio, 3)}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
