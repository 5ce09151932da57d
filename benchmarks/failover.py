"""Benchmark: the failover tier of the running lab (`make lab`), measured from its client container.

Four measurements, each against a baseline taken in the same run:

* **failover gap** — a probe (new TCP connection + ``SELECT 1`` every 50 ms through the VIP)
  records the longest gap between two answers while the VIP holder lb1 dies: ``clean``
  (keepalived stopped) and ``hard`` (``docker kill``: the machine is gone, kernel included;
  ``docker pause`` is not used because a frozen container's kernel still answers ARP and TCP).
  Baseline: the same probe with nothing failing (its own jitter).
* **spurious transitions** — VRRP transitions logged by the notify hook on lb1/lb2 while both
  cores are saturated (busy loops on the host) for ``--stress-seconds``; baseline: the same
  time idle.
* **maintenance** — web-style clients (connect, short read/write transaction, disconnect)
  through the VIP: steady-state throughput, then throughout
  ``playbooks/maintenance/galera-rolling-restart.yml`` (all three nodes, the writer included);
  failed transactions and throughput as a ratio of steady state. A client with one persistent
  connection runs beside them: its errors are reported separately.
* **HAProxy overhead** — sysbench ``oltp_read_write`` through the VIP against straight to the
  writer node (db1), same settings, same run: ratio of transactions per second. A third side,
  a plain ``socat`` forwarder on lb1, measures what the extra hop itself costs when client,
  proxy and database share two cores; HAProxy against it is HAProxy's own share.

    make lab && .venv/bin/python benchmarks/failover.py --json benchmarks/results/failover.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from report import finish

ROOT = Path(__file__).resolve().parents[1]
VIP = "172.30.0.20"
PROBE = "/usr/local/bin/heroes-loadprobe"
STOP = "/tmp/heroes-loadprobe.stop"


CLIENT = "172.30.0.100"  # inventory/lab/host_vars/client.yml


def container(host: str) -> str:
    return f"heroes-lab-{host}"


def sh(*argv: str, check: bool = True) -> str:
    return subprocess.run(argv, check=check, capture_output=True, text=True).stdout


def dexec(host: str, command: str, check: bool = True) -> str:
    return sh("docker", "exec", container(host), "sh", "-c", command, check=check)


def vault(group: str, key: str) -> str:
    out = subprocess.run(["ansible-vault", "view", str(ROOT / f"inventory/lab/group_vars/{group}/vault.yml")],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    match = re.search(rf"^{key}:\s*(\S+)", out, re.M)
    if not match:
        raise SystemExit(f"{key} not in the lab vault of {group}")
    return match.group(1)


def holders() -> list[str]:
    command = "ip -4 -o addr show dev eth0"
    return [lb for lb in ("lb1", "lb2") if f" {VIP}/" in dexec(lb, command, check=False)]


def wait(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return bool(predicate())


class Client:
    def __init__(self, password: str) -> None:
        self.password = password
        sh("docker", "cp", str(ROOT / "src/heroes_infra/loadprobe.py"), f"{container('client')}:{PROBE}")

    def start(self, mode: str, options: str, out: str, port: int = 3306) -> None:
        dexec("client", f"rm -f {STOP} {out}; PROBE_PASSWORD='{self.password}' nohup python3 {PROBE} {mode} "
                        f"--host {VIP} --port {port} --user probe --database heroes_probe {options} "
                        f"> {out} 2>&1 &")

    def finish(self, *outs: str) -> list[dict[str, Any]]:
        dexec("client", f"touch {STOP}")
        results = []
        for out in outs:
            wait(lambda o=out: "}" in dexec("client", f"cat {o}", check=False), 60)
            results.append(json.loads(dexec("client", f"cat {out}").strip().splitlines()[-1]))
        return results


def failover_gap(client: Client, mode: str) -> float:
    client.start("probe", "--interval 0.05 --duration 120", "/tmp/bench-probe.json")
    time.sleep(2)
    if mode == "clean":
        dexec("lb1", "systemctl stop keepalived")
    elif mode == "hard":
        sh("docker", "kill", container("lb1"))
    if mode != "none":
        if not wait(lambda: f" {VIP}/" in dexec("lb2", "ip -4 -o addr show dev eth0"), 10):
            raise SystemExit("the VIP did not move to lb2")
        time.sleep(2)
        if mode == "clean":
            dexec("lb1", "systemctl start keepalived")
        else:
            sh("docker", "start", container("lb1"))
        if not wait(lambda: holders() == ["lb1"], 90):
            raise SystemExit(f"after failback the VIP is on {holders()}, expected exactly lb1")
    time.sleep(2)
    return float(client.finish("/tmp/bench-probe.json")[0]["longest_gap"])


def transitions() -> int:
    command = "journalctl -t heroes-keepalived --no-pager -q -o cat"
    return sum(len(dexec(lb, command, check=False).splitlines()) for lb in ("lb1", "lb2"))


def _busy(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def spurious(seconds: float, stress: bool) -> int:
    before = transitions()
    if stress:
        workers = [multiprocessing.Process(target=_busy, args=(seconds,)) for _ in range(os.cpu_count() or 2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    else:
        time.sleep(seconds)
    return transitions() - before


def maintenance(client: Client, steady_seconds: float) -> dict[str, Any]:
    options = "--workers 4 --rate 10 --duration 900"
    client.start("web", f"{options} --duration {steady_seconds}", "/tmp/bench-steady.json")
    time.sleep(steady_seconds + 1)
    steady = client.finish("/tmp/bench-steady.json")[0]
    client.start("web", options, "/tmp/bench-web.json")
    client.start("persistent", "--interval 0.05 --duration 900", "/tmp/bench-persistent.json")
    time.sleep(2)
    began = time.monotonic()
    proc = subprocess.run(["ansible-playbook", "-i", "inventory/lab",
                           "playbooks/maintenance/galera-rolling-restart.yml"],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    elapsed = time.monotonic() - began
    time.sleep(2)
    web, persistent = client.finish("/tmp/bench-web.json", "/tmp/bench-persistent.json")
    if proc.returncode != 0:
        raise SystemExit("rolling restart failed:\n" + (proc.stdout + proc.stderr)[-2000:])
    steady_rate = steady["ok"] / steady["seconds"]
    during = web["per_second"][2: 2 + int(elapsed)]
    during_rate = sum(during) / max(1, len(during))
    return {"steady_tps": round(steady_rate, 1), "maintenance_tps": round(during_rate, 1),
            "ratio": round(during_rate / steady_rate, 3), "transactions": web["ok"] + web["failed"],
            "failed": web["failed"], "errors": web["errors"], "restart_seconds": round(elapsed, 1),
            "persistent_errors": persistent["failed"], "persistent_error_codes": persistent["errors"]}


def sysbench(action: str, target: str, password: str, threads: int, seconds: int = 0) -> float:
    host, _, port = target.partition(":")
    common = (f"--db-driver=mysql --mysql-host={host} --mysql-port={port or 3306} --mysql-user=probe "
              f"--mysql-password={password} "
              f"--mysql-db=heroes_probe --tables=2 --table-size=10000 --threads={threads}")
    if action != "run":
        dexec("client", f"sysbench oltp_read_write {common} {action} >/dev/null 2>&1",
              check=action == "prepare")
        return 0.0
    out = dexec("client", f"sysbench oltp_read_write {common} --time={seconds} --report-interval=0 run")
    match = re.search(r"transactions:\s+\d+\s+\(([\d.]+) per sec", out)
    if not match:
        raise SystemExit("sysbench printed no transaction rate:\n" + out[-1500:])
    return float(match.group(1))


def overhead(password: str, threads: int, seconds: int, rounds: int) -> dict[str, Any]:
    """sysbench straight to the writer (db1), through the VIP (HAProxy on lb1), and through the
    simplest possible hop on lb1 (socat forwarding to db1: what any proxy costs on these two shared
    cores), in rotating order so that drift hits every side alike; medians compared."""
    writer = "172.30.0.11:3306"
    targets = {"direct": writer, "vip": f"{VIP}:3306", "socat": "172.30.0.21:3399"}
    # The lab's firewall lets only the balancers reach db1's MariaDB: for the "direct" side, db1
    # is opened to the client (whose probe account exists: the balancers pass its address on by
    # the PROXY protocol) for the benchmark's duration only. socat on lb1 passes no address, so
    # the probe user gets an account from lb1 for that time too.
    hop = "172.30.0.21"
    opened = f"ip saddr {CLIENT} tcp dport 3306 accept comment \"benchmark direct side\""
    dexec("db1", f"nft insert rule inet heroes input {opened}")
    dexec("db1", f"mariadb -e \"CREATE USER IF NOT EXISTS probe@'{hop}' IDENTIFIED BY '{password}'; "
                 f"GRANT ALL ON heroes_probe.* TO probe@'{hop}'\"")
    try:
        sysbench("cleanup", writer, password, threads)
        sysbench("prepare", writer, password, threads)
        sh("docker", "exec", "-d", container("lb1"), "socat", "TCP-LISTEN:3399,fork,reuseaddr",
           f"TCP:{writer}")
        runs: dict[str, list[float]] = {side: [] for side in targets}
        sides = list(targets)
        try:
            for i in range(rounds):
                for side in sides[i % 3:] + sides[:i % 3]:
                    runs[side].append(sysbench("run", targets[side], password, threads, seconds))
        finally:
            dexec("lb1", "pkill -f 'socat TCP-LISTEN:3399'", check=False)
            sysbench("cleanup", writer, password, threads)
    finally:
        dexec("db1", f"mariadb -e \"DROP USER IF EXISTS probe@'{hop}'\"", check=False)
        dexec("db1", "systemctl reload heroes-firewall", check=False)
    median = {side: statistics.median(values) for side, values in runs.items()}
    return {"threads": threads, "seconds": seconds, "runs": runs, "direct_tps": median["direct"],
            "vip_tps": median["vip"], "socat_tps": median["socat"],
            "ratio": round(median["vip"] / median["direct"], 3),
            "socat_ratio": round(median["socat"] / median["direct"], 3),
            "haproxy_vs_socat": round(median["vip"] / median["socat"], 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="failover runs per mode")
    parser.add_argument("--stress-seconds", type=float, default=180)
    parser.add_argument("--steady-seconds", type=float, default=30)
    parser.add_argument("--sysbench-seconds", type=int, default=20)
    parser.add_argument("--sysbench-rounds", type=int, default=3, help="runs per side, rotating order")
    parser.add_argument("--sysbench-threads", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["gap", "spurious", "maintenance", "overhead"])
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/failover.json")
    args = parser.parse_args()
    if holders() != ["lb1"]:
        raise SystemExit(f"the lab must be up with lb1 holding {VIP} (make lab); holders: {holders()}")
    password = vault("galera", "vault_galera_probe_password")
    client = Client(password)
    result: dict[str, Any] = {}
    rows: list[tuple[str, str, str, str]] = []
    if "gap" not in args.skip:
        base = max(failover_gap(client, "none") for _ in range(args.runs))
        for mode in ("clean", "hard"):
            gaps = [failover_gap(client, mode) for _ in range(args.runs)]
            result[f"gap_{mode}"] = {"runs": gaps, "max": max(gaps), "baseline_max": base}
            rows.append((f"failover gap, {mode} (max of {args.runs})", f"{max(gaps):.2f} s",
                         f"{base:.2f} s no failure", f"{max(gaps) / base:.1f}x"))
    if "spurious" not in args.skip:
        idle = spurious(args.stress_seconds, stress=False)
        busy = spurious(args.stress_seconds, stress=True)
        result["spurious"] = {"seconds": args.stress_seconds, "idle": idle, "saturated": busy,
                              "holders_after": holders()}
        rows.append((f"VRRP transitions, cores saturated {args.stress_seconds:.0f} s", str(busy),
                     f"{idle} idle", "-"))
    if "maintenance" not in args.skip:
        m = maintenance(client, args.steady_seconds)
        result["maintenance"] = m
        rows.append(("rolling restart: failed web transactions", f"{m['failed']} of {m['transactions']}",
                     "-", "-"))
        rows.append(("rolling restart: throughput", f"{m['maintenance_tps']} tps",
                     f"{m['steady_tps']} tps steady", f"{m['ratio']:.2f}"))
        rows.append(("persistent connection: errors", str(m["persistent_errors"]), "-", "-"))
    if "overhead" not in args.skip:
        result["overhead"] = []
        for threads in args.sysbench_threads:
            o = overhead(password, threads, args.sysbench_seconds, args.sysbench_rounds)
            result["overhead"].append(o)
            rows.append((f"sysbench via VIP, {threads} threads (median of {args.sysbench_rounds})",
                         f"{o['vip_tps']:.0f} tps", f"{o['direct_tps']:.0f} tps direct", f"{o['ratio']:.2f}"))
            rows.append((f"sysbench via socat on lb1, {threads} threads", f"{o['socat_tps']:.0f} tps",
                         f"{o['direct_tps']:.0f} tps direct", f"{o['socat_ratio']:.2f}"))
            rows.append((f"HAProxy against the bare hop, {threads} threads", f"{o['vip_tps']:.0f} tps",
                         f"{o['socat_tps']:.0f} tps socat", f"{o['haproxy_vs_socat']:.2f}"))
    finish(("measurement", "value", "baseline", "ratio"), rows, result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
