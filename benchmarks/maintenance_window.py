"""Benchmark: what a maintenance window costs the lab's clients, against the same clients'
steady state, in the same run.

Three clients run on the lab's client container for each phase: web-style database transactions
through the database VIP (``heroes-loadprobe web``: connect, INSERT, SELECT, COMMIT, disconnect;
2 s connect timeout), a download client on the mirror VIP (``heroes-downloadprobe``), and a reader
of the news site's Atom feed through the mirror VIP (curl, 20 s timeout, a read counts only when
the whole feed arrived). For each client the figure is its longest client-visible gap: the
database clients' longest stall, the downloads' longest time without a finished download, the
feed's longest read.

* **steady** — the clients alone for ``--steady`` seconds: the baseline;
* **drain + restore** — ``playbooks/maintenance/domain-drain.yml -e domain=hypervisor:hv-b``,
  then ``-e action=restore`` (hv-b: db2, web1 with the mirror VIP, legacy1);
* **patch window** — ``playbooks/lab/patch-canary.yml`` publishes an update (a test double,
  asking for a restart on db2 and web1), then ``playbooks/maintenance/patch-window.yml`` over the
  whole lab.

The ratio is a phase's longest gap over the steady state's. Failures are counted, not timed.

    make lab && PATH=.venv/bin:$PATH python benchmarks/maintenance_window.py
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml
from failover import vault  # the lab vault's values, read with ansible-vault
from report import finish

ROOT = Path(__file__).resolve().parents[1]
DB_VIP, MIRROR_VIP = "172.30.0.20", "172.30.0.30"
CA = "/usr/local/share/ca-certificates/heroes-lab-ca.crt"
LOADPROBE, DOWNLOADPROBE = "/usr/local/bin/heroes-loadprobe", "/usr/local/bin/heroes-downloadprobe"
DOMAIN = "hypervisor:hv-b"


class Lab:
    """The lab's client container and the playbooks, run as an operator would (Ansible's own
    strategy: the drain and the patch window restart machines under the run)."""

    def __init__(self, inventory: str, prefix: str) -> None:
        self.inventory, self.prefix = inventory, prefix

    def dexec(self, command: str, check: bool = True) -> str:
        return subprocess.run(["docker", "exec", f"{self.prefix}client", "sh", "-c", command],
                              check=check, capture_output=True, text=True).stdout

    def playbook(self, path: str, *extra: str) -> float:
        began = time.monotonic()
        proc = subprocess.run(["ansible-playbook", "-i", self.inventory, *extra, path], cwd=ROOT,
                              capture_output=True, text=True, check=False,
                              env={**os.environ, "ANSIBLE_STRATEGY": "linear"})
        if proc.returncode != 0:
            raise SystemExit(f"{path} failed:\n" + (proc.stdout + proc.stderr)[-2500:])
        return time.monotonic() - began


class Clients:
    """The three clients, started together and stopped together."""

    def __init__(self, lab: Lab, password: str) -> None:
        self.lab, self.password = lab, password

    def start(self) -> None:
        self.lab.dexec(
            "rm -f /tmp/bm-*; "
            f"PROBE_PASSWORD={shlex.quote(self.password)} nohup python3 {LOADPROBE} web --host {DB_VIP} "
            "--user probe --database heroes_probe --workers 4 --rate 10 --duration 3600 "
            "--stop-file /tmp/bm-db.stop > /tmp/bm-db.json 2>&1 & "
            f"nohup python3 {DOWNLOADPROBE} --base http://{MIRROR_VIP} --host mirror.lab "
            "--large /pool/heroes-big.bin --range 1000-65535 --stop-file /tmp/bm-dl.stop "
            "--out /tmp/bm-dl.json > /dev/null 2>&1 &")
        loop = ("while [ ! -e /tmp/bm-feed.stop ]; do out=$(mktemp); "
                f"if took=$(curl -fsS --max-time 20 --cacert {CA} --resolve news.lab:443:{MIRROR_VIP} "
                "-o $out -w '%{time_total}' https://news.lab/feeds/all.atom) && grep -q '</feed>' $out; "
                "then echo \"ok $took\"; else echo failed; fi >> /tmp/bm-feed.log; rm -f $out; "
                "sleep 0.2; done")
        self.lab.dexec(f"nohup sh -c {shlex.quote(loop)} > /dev/null 2>&1 &")
        time.sleep(3)

    def finish(self) -> dict[str, dict[str, Any]]:
        time.sleep(3)
        self.lab.dexec("touch /tmp/bm-db.stop /tmp/bm-dl.stop /tmp/bm-feed.stop")
        deadline = time.monotonic() + 60
        outs = ("/tmp/bm-db.json", "/tmp/bm-dl.json")
        while time.monotonic() < deadline and not all("}" in self.lab.dexec(f"cat {out}", check=False)
                                                      for out in outs):
            time.sleep(0.5)
        db = json.loads(self.lab.dexec("cat /tmp/bm-db.json").strip().splitlines()[-1])
        dl = json.loads(self.lab.dexec("cat /tmp/bm-dl.json"))
        reads = self.lab.dexec("cat /tmp/bm-feed.log").split("\n")
        times = [float(line.split()[1]) for line in reads if line.startswith("ok ")]
        return {
            "database": {"gap": db["longest_stall"], "ok": db["ok"], "failed": db["failed"]},
            "downloads": {"gap": dl["longest_gap"], "ok": dl["ok"], "failed": dl["failed"]},
            "feed": {"gap": max(times, default=0.0), "ok": len(times),
                     "failed": sum(1 for line in reads if line.startswith("failed"))},
        }


def steady_state(seconds: float) -> dict[str, float]:
    time.sleep(seconds)
    return {"steady": seconds}


def phase(clients: Clients, act: Any) -> dict[str, Any]:
    """The clients around ``act`` (a callable returning its figures)."""
    clients.start()
    try:
        figures = act()
    finally:
        seen = clients.finish()
    return {"seconds": figures, "clients": seen}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", default="inventory/lab")
    parser.add_argument("--prefix", default="heroes-lab-", help="the containers' name prefix")
    parser.add_argument("--steady", type=float, default=60.0, help="seconds of the baseline")
    parser.add_argument("--window-id", default=f"bench-{int(time.time())}")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/maintenance_window.json")
    args = parser.parse_args()
    lab = Lab(args.inventory, args.prefix)
    for source, dest in (("loadprobe.py", LOADPROBE), ("downloadprobe.py", DOWNLOADPROBE)):
        subprocess.run(["docker", "cp", str(ROOT / "src/heroes_infra" / source),
                        f"{args.prefix}client:{dest}"], check=True)
    # the lab CA (public: inventory/lab/group_vars/all/lab_pki.yml), for the feed reader's curl
    ca = yaml.safe_load((ROOT / "inventory/lab/group_vars/all/lab_pki.yml").read_text())["lab_ca_cert"]
    lab.dexec(f"printf '%s' {shlex.quote(ca)} > {CA}")
    clients = Clients(lab, vault("galera", "vault_galera_probe_password"))
    drain = ["-e", f"domain={DOMAIN}"]
    results = {
        "steady": phase(clients, lambda: steady_state(args.steady)),
        "drain": phase(clients, lambda: {
            "drain": round(lab.playbook("playbooks/maintenance/domain-drain.yml", *drain), 1),
            "restore": round(lab.playbook("playbooks/maintenance/domain-drain.yml", *drain, "-e",
                                          "action=restore"), 1)}),
    }
    lab.playbook("playbooks/lab/patch-canary.yml", "-e", "lab_patch_canary_confirm=yes",
                 "-e", json.dumps({"lab_patch_canary_restart": ["db2", "web1"]}))
    results["window"] = phase(clients, lambda: {"window": round(lab.playbook(
        "playbooks/maintenance/patch-window.yml", "-e", f"patch_window_id={args.window_id}"), 1)})
    steady = results["steady"]["clients"]
    rows = []
    for name, label in (("drain", f"drain + restore of {DOMAIN}"), ("window", "patch window, whole lab")):
        took = ", ".join(f"{k} {v:.0f} s" for k, v in results[name]["seconds"].items())
        for client, seen in results[name]["clients"].items():
            base = steady[client]["gap"]
            ratio = f"{seen['gap'] / base:.1f}" if base else "-"
            rows.append((f"{label} ({took})" if client == "database" else "", client,
                         f"{seen['gap']:.2f} s", f"{base:.2f} s", ratio,
                         f"{seen['failed']} of {seen['ok'] + seen['failed']}"))
    finish(("phase", "client", "longest gap", "steady state", "ratio", "failed"), rows, results, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
