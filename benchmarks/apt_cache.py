"""Benchmark: package installs in a lab container through the host's apt-cacher-ng (warm
cache) against fetching directly from the Debian mirror, in the same run.

It starts one throw-away container from a lab image, then alternates: `apt-get update` and
installing a fixed package set with the cache, and the same with the proxy off (DIRECT),
purging the container's own apt caches before every run. Prints a table and writes JSON.
Ratio = direct / cached wall time (above 1: the cache saves time).

    .venv/bin/python benchmarks/apt_cache.py --runs 3 --json benchmarks/results/apt_cache.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

PACKAGES = ("locales", "tzdata", "curl", "rsync", "lsof", "vim-tiny", "systemd-timesyncd")
CONTAINER = "heroes-bench-apt"
DOCKER_FLAGS = (
    "--cap-add",
    "SYS_ADMIN",
    "--security-opt",
    "seccomp=unconfined",
    "--tmpfs",
    "/run",
    "--tmpfs",
    "/run/lock",
    "--tmpfs",
    "/tmp",
    "-v",
    "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--cgroupns=host",
    "--stop-signal",
    "SIGRTMIN+3",
)


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def one_run(proxy_on: bool) -> float:
    opts = "" if proxy_on else "-o Acquire::http::Proxy-Auto-Detect= -o Acquire::http::Proxy=DIRECT"
    purge = (
        f"apt-get purge -y -qq {' '.join(PACKAGES)} >/dev/null 2>&1; apt-get clean; "
        "rm -rf /var/lib/apt/lists/*"
    )
    sh("docker", "exec", CONTAINER, "sh", "-c", purge)
    start = time.monotonic()
    sh(
        "docker",
        "exec",
        "-e",
        "DEBIAN_FRONTEND=noninteractive",
        CONTAINER,
        "sh",
        "-c",
        f"apt-get {opts} update -qq && apt-get {opts} install -y -qq --no-install-recommends "
        f"{' '.join(PACKAGES)}",
    )
    return time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", default="lab/debian12")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/apt_cache.json"))
    args = parser.parse_args(argv)

    subprocess.run(["docker", "rm", "-f", CONTAINER], capture_output=True, check=False)
    sh("docker", "run", "-d", "--name", CONTAINER, *DOCKER_FLAGS, args.image, "/sbin/init")
    try:
        time.sleep(3)
        one_run(True)  # warm the host's cache once; not measured
        cached: list[float] = []
        direct: list[float] = []
        for _ in range(args.runs):  # alternate so drift hits both sides alike
            cached.append(one_run(True))
            direct.append(one_run(False))
    finally:
        subprocess.run(["docker", "rm", "-f", CONTAINER], capture_output=True, check=False)

    result = {
        "image": args.image,
        "packages": list(PACKAGES),
        "runs": args.runs,
        "cached_s": cached,
        "direct_s": direct,
        "cached_median_s": statistics.median(cached),
        "direct_median_s": statistics.median(direct),
        "ratio_direct_over_cached": statistics.median(direct) / statistics.median(cached),
    }
    print(f"{'mode':8s} {'median s':>9s}  runs")
    print(f"{'cached':8s} {result['cached_median_s']:9.2f}  {', '.join(f'{t:.2f}' for t in cached)}")
    print(f"{'direct':8s} {result['direct_median_s']:9.2f}  {', '.join(f'{t:.2f}' for t in direct)}")
    print(f"ratio direct/cached: {result['ratio_direct_over_cached']:.2f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
