"""A download client for the mirror's failover tests and benchmarks (stdlib only).

Runs on the lab's client container (copied there as one file). In a loop, each on a new
connection, as a package manager fetches: a small file (the one that names the host serving
it), then a byte range of a larger file (a resumed download), until the stop file appears, the
duration ends, or SIGTERM. A request fails on a connection error, a timeout, an unexpected
status, or a body shorter than announced; it is not retried. Prints (and with ``--out`` writes)
JSON: ok, failed, the first 50 failures with their wall-clock time, the longest gap (the longest
time without a completed request, the run's start and end included), and how many answers each
host gave (from the small file's content).

    heroes-downloadprobe --base http://172.30.0.30 --host mirror.lab \\
        --small /heroes-mirror-check.txt --large /pool/big.bin --range 1000-65535 \\
        --stop-file /tmp/dl.stop --out /tmp/dl.json
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Tally:
    started: float = field(default_factory=time.monotonic)
    ok: int = 0
    failed: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    served_by: Counter[str] = field(default_factory=Counter)
    last_ok: float = field(default_factory=time.monotonic)
    longest_gap: float = 0.0

    def success(self, now: float) -> None:
        self.ok += 1
        self.longest_gap = max(self.longest_gap, now - self.last_ok)
        self.last_ok = now

    def failure(self, url: str, error: str) -> None:
        self.failed += 1
        if len(self.failures) < 50:
            self.failures.append({"wall": round(time.time(), 3), "url": url, "error": error})

    def report(self, now: float) -> dict[str, Any]:
        return {"ok": self.ok, "failed": self.failed, "failures": self.failures,
                "longest_gap": round(max(self.longest_gap, now - self.last_ok), 3),
                "seconds": round(now - self.started, 3), "served_by": dict(self.served_by)}


class Failed(Exception):
    """One request failed; the message says how."""


def get(base: str, host: str, path: str, timeout: float,
        byte_range: str = "") -> tuple[int, dict[str, str], bytes]:
    url = urllib.parse.urlsplit(base)
    cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    conn = cls(url.hostname or "", url.port, timeout=timeout)
    headers = {"Host": host, "Connection": "close"}
    if byte_range:
        headers["Range"] = f"bytes={byte_range}"
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        announced = response.getheader("Content-Length")
        if announced is not None and int(announced) != len(body):
            raise Failed(f"body of {len(body)} bytes, {announced} announced")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    except (OSError, http.client.HTTPException) as exc:
        raise Failed(f"{type(exc).__name__}: {exc}") from exc
    finally:
        conn.close()


def expected_range_length(byte_range: str) -> int | None:
    first, _, last = byte_range.partition("-")
    return int(last) - int(first) + 1 if first and last else None


def one_round(args: argparse.Namespace, tally: Tally) -> None:
    try:
        status, _, body = get(args.base, args.host, args.small, args.timeout)
        if status != 200:
            raise Failed(f"status {status}")
        tally.served_by[body.decode("utf-8", "replace").strip().split()[-1] if body.strip() else "?"] += 1
        tally.success(time.monotonic())
    except Failed as exc:
        tally.failure(args.small, str(exc))
    if not args.large:
        return
    try:
        status, headers, body = get(args.base, args.host, args.large, args.timeout, args.range)
        want = expected_range_length(args.range)
        if status != 206 or not headers.get("content-range", "").startswith("bytes "):
            raise Failed(f"status {status}, Content-Range {headers.get('content-range')!r}")
        if want is not None and len(body) != want:
            raise Failed(f"range of {len(body)} bytes, {want} asked")
        tally.success(time.monotonic())
    except Failed as exc:
        tally.failure(f"{args.large} bytes={args.range}", str(exc))


def run(args: argparse.Namespace) -> dict[str, Any]:
    tally = Tally()
    stop = {"now": False}

    def on_term(signum: int, frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_term)
    end = tally.started + args.duration if args.duration > 0 else float("inf")
    while not stop["now"] and time.monotonic() < end:
        if args.stop_file and os.path.exists(args.stop_file):
            break
        one_round(args, tally)
        time.sleep(args.interval)
    return tally.report(time.monotonic())


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="http://address[:port] (the mirror VIP)")
    parser.add_argument("--host", required=True, help="the Host header")
    parser.add_argument("--small", default="/heroes-mirror-check.txt", help="a small file naming its server")
    parser.add_argument("--large", default="", help="a larger file, fetched by range (none: no ranges)")
    parser.add_argument("--range", default="1000-65535", help="the byte range of --large")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between rounds")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds for a request")
    parser.add_argument("--duration", type=float, default=0.0, help="seconds to run (0: until stopped)")
    parser.add_argument("--stop-file", default="", help="stop when this file appears")
    parser.add_argument("--out", default="", help="also write the JSON here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    report = run(args)
    text = json.dumps(report, sort_keys=True)
    if args.out:
        tmp = f"{args.out}.tmp"
        with open(tmp, "w") as fh:
            fh.write(text + "\n")
        os.replace(tmp, args.out)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
