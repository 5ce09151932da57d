"""Benchmark: building the news site (heroes-newsbuild: the checks, then Pelican with the news
role's settings and theme) for 100, 1,000 and 10,000 generated posts, and a rebuild after one
post changed through Pelican's content cache against a full build of the same posts, in the same
run.

* full build time for each size, and the growth factor per 10x posts (target: no worse than
  linear, a factor of at most 10);
* at 1,000 posts: one post changed, rebuilt with the content cache (filled by the build before),
  against the full build without it (the baseline).

    .venv/bin/python benchmarks/news_build.py --rounds 3
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from report import finish

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "roles/news/templates/pelicanconf.py.j2"
SIZES = (100, 1000, 10000)
TAGS = ("database", "mirror", "web", "status", "maintenance", "community", "security", "release")


def settings(folder: Path) -> Path:
    """The role's settings template, rendered as the role would for the lab, beside its theme."""
    text = TEMPLATE.read_text().splitlines()[1:]  # the ansible_managed header
    values = {"{{ news_site_name | to_json }}": '"Heroes news"',
              "{{ news_site_url | to_json }}": '"https://news.lab"',
              "{{ news_timezone | to_json }}": '"Europe/Berlin"', "{{ news_default_lang | to_json }}": '"en"',
              "{{ news_per_page | int }}": "10", "{{ news_feed_items | int }}": "20"}
    rendered = []
    for line in text:
        for key, value in values.items():
            line = line.replace(key, value)
        rendered.append(line)
    if any("{{" in line for line in rendered):
        raise SystemExit(f"{TEMPLATE}: a placeholder this benchmark does not fill")
    subprocess.run(["cp", "-r", str(ROOT / "roles/news/files/theme"), str(folder / "theme")], check=True)
    path = folder / "pelicanconf.py"
    path.write_text("\n".join(rendered) + "\n")
    return path


def posts(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    for n in range(count):
        day = n % 28 + 1
        tags = ", ".join(TAGS[(n + k) % len(TAGS)] for k in range(2))
        (folder / f"post-{n:05d}.md").write_text(
            f"Title: Generated post {n}\nDate: 20{10 + n % 16}-{n % 12 + 1:02d}-{day:02d} {n % 24:02d}:00\n"
            f"Author: Infrastructure team\nTags: {tags}\n\n"
            f"Post {n} of the benchmark. It has *some* Markdown, a [link](https://example.org/{n}) and\n"
            "a second paragraph.\n\nThe second paragraph, so that summaries have something to cut.\n")


def build(conf: Path, content: Path, out: Path, cache: Path | None = None) -> float:
    command = [sys.executable, "-m", "heroes_infra.newsbuild", "--settings", str(conf), "--content",
               str(content), "--output", str(out)] + (["--cache", str(cache)] if cache else [])
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"build failed:\n{proc.stdout}{proc.stderr}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/news_build.json")
    args = parser.parse_args()
    result: dict[str, Any] = {"rounds": args.rounds, "full": {}, "incremental": {}}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        conf = settings(work)
        medians = {}
        for size in SIZES:
            content = work / f"posts-{size}"
            posts(content, size)
            runs = [build(conf, content, work / f"out-{size}-{r}") for r in range(args.rounds)]
            medians[size] = statistics.median(runs)
            result["full"][str(size)] = {"seconds": runs, "median": medians[size]}
        for small, large in itertools.pairwise(SIZES):
            factor = medians[large] / medians[small]
            result["full"][f"growth_{small}_to_{large}"] = factor
            rows.append((f"full build, {small:,} → {large:,} posts", f"{medians[small]:.2f} s",
                         f"{medians[large]:.2f} s", f"{factor:.2f}"))
        # one post changed at 1,000 posts: through the content cache, against a full build
        content, cache = work / "posts-1000", work / "cache"
        build(conf, content, work / "warm", cache)
        cached, full = [], []
        for r in range(args.rounds):
            post = content / f"post-{r:05d}.md"
            post.write_text(post.read_text() + f"\nChanged in round {r}.\n")
            cached.append(build(conf, content, work / f"cached-{r}", cache))
            full.append(build(conf, content, work / f"full-{r}"))
        ratio = statistics.median(cached) / statistics.median(full)
        result["incremental"] = {"posts": 1000, "cached": cached, "full": full, "ratio_cached_to_full": ratio}
        rows.append(("1,000 posts, one changed: cache / full", f"{statistics.median(cached):.2f} s",
                     f"{statistics.median(full):.2f} s", f"{ratio:.2f}"))
    finish((f"news build, median of {args.rounds}", "smaller / cached", "larger / full", "factor"),
           rows, result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
