"""Benchmark: heroes-statusfeed generating its feeds from a 1,000-incident paginated answer of
Cachet's API v1 (the test double of tests/unit/cachet_double.py on 127.0.0.1, pages of 100),
against fetching the same pages without making feeds, in the same run.

For 50 entries kept (the default) and for 1,000 (the whole history), three figures, each the
median of the rounds:

* **cold**: a first run (no cache): every page, the updates of the incidents kept, both feeds
  rendered and written;
* **warm**: the next run: every request conditional and answered 304, feeds unchanged;
* **fetch only** (the baseline): the same URLs fetched and parsed as JSON, nothing else.

    .venv/bin/python benchmarks/statusfeed.py --rounds 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from report import finish

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from heroes_infra import statusfeed  # noqa: E402
from tests.unit.cachet_double import CachetDouble, incident, serve, update  # noqa: E402

INCIDENTS = 1000


def history() -> CachetDouble:
    """1,000 incidents over ten days of 2026, each with two updates; ten components."""
    incidents, updates = [], {}
    for n in range(1, INCIDENTS + 1):
        day, minute = 1 + n % 28, n % 600
        created = f"2026-{1 + n % 12:02d}-{day:02d} {8 + minute // 60:02d}:{minute % 60:02d}:00"
        closed = created[:-2] + "30"
        incidents.append(incident(n, f"Incident {n}", created, closed, component=1 + n % 10,
                                  message=f"<p>Incident {n}: <b>degraded</b> &amp; under watch</p>"))
        updates[n] = [update(n * 10 + 1, n, 2, created[:-2] + "10"), update(n * 10 + 2, n, 4, closed)]
    components = [{"id": c, "name": f"Service {c}", "status": 1, "status_name": "Operational"}
                  for c in range(1, 11)]
    return CachetDouble(incidents=incidents, updates=updates, components=components, page_size=100)


def config(api: str, workdir: Path, entries: int) -> statusfeed.Config:
    return statusfeed.load_config({
        "api_url": api, "site_url": "https://status.lab/", "title": "Heroes status",
        "atom_file": str(workdir / "feed.atom"), "rss_file": str(workdir / "feed.rss"),
        "atom_url": "https://status.lab/feed.atom", "rss_url": "https://status.lab/feed.rss",
        "entries": entries, "timezone": "Europe/Berlin", "state_dir": str(workdir / "state")})


def fetch_only(double: CachetDouble, urls: list[str]) -> None:
    for url in urls:
        with urllib.request.urlopen(double.base + url, timeout=30) as response:
            json.loads(response.read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/statusfeed.json")
    args = parser.parse_args()
    double = history()
    result: dict[str, Any] = {"incidents": INCIDENTS, "page_size": double.page_size, "rounds": args.rounds,
                              "settings": {}}
    rows = []
    with serve(double) as api:
        for entries in (50, 1000):
            figures: dict[str, list[float]] = {"cold": [], "warm": [], "fetch_only": []}
            requests = 0
            for _ in range(args.rounds):
                with tempfile.TemporaryDirectory() as tmp:
                    conf = config(api, Path(tmp), entries)
                    double.requests.clear()
                    start = time.perf_counter()
                    summary = statusfeed.run(conf)
                    figures["cold"].append(time.perf_counter() - start)
                    urls = [path for path, _ in double.requests]
                    requests = len(urls)
                    start = time.perf_counter()
                    warm = statusfeed.run(conf)
                    figures["warm"].append(time.perf_counter() - start)
                    assert "feeds unchanged" in warm and f"({requests} not modified)" in warm, warm
                    start = time.perf_counter()
                    fetch_only(double, urls)
                    figures["fetch_only"].append(time.perf_counter() - start)
            medians = {k: statistics.median(v) for k, v in figures.items()}
            base = medians["fetch_only"]
            result["settings"][str(entries)] = {
                "requests": requests, "summary": summary, "median_seconds": medians, "runs": figures,
                "ratio_cold_to_fetch": medians["cold"] / base, "ratio_warm_to_fetch": medians["warm"] / base}
            rows.append((f"{entries} entries kept", str(requests), f"{medians['cold']:.3f}",
                         f"{medians['warm']:.3f}", f"{medians['fetch_only']:.3f}",
                         f"{medians['cold'] / medians['fetch_only']:.2f}",
                         f"{medians['warm'] / medians['fetch_only']:.2f}"))
    finish((f"{INCIDENTS} incidents, median of {args.rounds}", "requests", "cold (s)", "warm (s)",
            "fetch only (s)", "cold/fetch", "warm/fetch"), rows, result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
