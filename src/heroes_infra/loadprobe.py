"""Web-style MySQL clients and a connect probe, for the failover tests and benchmarks.

Runs on the lab's client container (Python + PyMySQL only; copied there as one file).

``web``: workers that each, at a steady rate, connect, run a short read/write transaction
(BEGIN; INSERT; SELECT; COMMIT) and disconnect — what PHP applications do — until the stop
file appears or the duration ends. Prints JSON: ok, failed, error codes, per-second throughput,
and the longest stall (the longest time without any completed transaction, the run's start and
end included), with the wall-clock times where it began and of the first 50 failures (to line
them up with the servers' logs). With ``--ack-file`` it writes the ids of every row whose COMMIT the server
acknowledged (JSON list): a fault test then checks that each of them is on every node.
``--table`` names the table written (default ``probe_events``, created as InnoDB when missing;
a table that exists is used as it is, whatever its engine).

``persistent``: one connection kept open, ``SELECT 1`` every interval; on an error it counts
it and reconnects (what a client with a connection pool sees).

``pool``: ``--workers`` connections kept open (an application's connection pool), each running
the web transaction (INSERT; SELECT @@hostname; COMMIT) every ``1/--rate`` seconds; on an error
it counts it and reconnects. Besides ok/failed/errors and ``--ack-file`` it prints, per node
that committed, how many commits and the wall-clock time of the last one (``last_commit``): a
test then sees whether a pool went on writing on a node that was no longer the writer. Its
first 50 failures come with their wall-clock time, error code and the server the connection had
committed on (``failures``).

``probe``: one TCP connect + ``SELECT 1`` every interval (a new connection each time); prints
the longest gap between two successful probes, in seconds (from the start to the first
success and from the last success to the end count too: an outage that lasts to the end of the
run is the longest gap, not none). Each attempt gets ``--answer-timeout``
seconds for the server's replies (default 10 intervals): a connection that a VIP move cut in
the middle (its segments now reach the other balancer, which drops them) counts as one failed
attempt instead of stalling the probe for the 5 s read timeout of the other modes.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any


def _connect(args: argparse.Namespace, timeout: float, answer_timeout: float = 5) -> Any:
    import pymysql  # Debian: python3-pymysql

    return pymysql.connect(host=args.host, port=args.port, user=args.user, password=args.password,
                           database=args.database, connect_timeout=timeout, read_timeout=answer_timeout,
                           write_timeout=answer_timeout, autocommit=False)


def _code(exc: BaseException) -> str:
    first = exc.args[0] if exc.args else None
    return str(first) if isinstance(first, int) else type(exc).__name__


def _table_name(value: str) -> str:
    if not value.replace("_", "").isalnum() or not value.isascii():
        raise argparse.ArgumentTypeError(f"--table must be letters, digits and _ (got {value!r})")
    return value


def _ensure_table(args: argparse.Namespace) -> None:
    """Create the table when it is missing, and only then: a CREATE TABLE, even IF NOT EXISTS on
    a table that exists, is DDL, which Galera runs in total order isolation and which aborts the
    transactions in flight on that table on every node (error 1213): a probe started beside
    another (the web clients and a pool) would fail the other's writes. Seen on the lab: a
    pool's three connections failed in the same millisecond when the web probe started."""
    setup = _connect(args, 5)
    with setup.cursor() as cur:
        cur.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() "
                    "AND table_name = %s", (args.table,))
        if cur.fetchone() is None:
            cur.execute(f"CREATE TABLE IF NOT EXISTS `{args.table}` (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
                        "worker INT NOT NULL, at DOUBLE NOT NULL) ENGINE=InnoDB")
    setup.commit()
    setup.close()


def web(args: argparse.Namespace) -> dict[str, Any]:
    lock = threading.Lock()
    ok = 0
    errors: Counter[str] = Counter()
    per_second: Counter[int] = Counter()
    acknowledged: list[int] = []
    completed: list[float] = []
    failures: list[list[Any]] = []  # [wall-clock time, code] of the first 50
    start = time.monotonic()
    stop_at = start + args.duration
    table = args.table
    _ensure_table(args)

    def worker(number: int) -> None:
        nonlocal ok
        interval = 1.0 / args.rate
        next_at = time.monotonic() + number * interval / args.workers
        while time.monotonic() < stop_at and not os.path.exists(args.stop_file):
            now = time.monotonic()
            if now < next_at:
                time.sleep(next_at - now)
            next_at += interval
            try:
                conn = _connect(args, 2)
                try:
                    with conn.cursor() as cur:
                        cur.execute(f"INSERT INTO `{table}` (worker, at) VALUES (%s, %s)",
                                    (number, time.time()))
                        row_id = int(cur.lastrowid)
                        cur.execute(f"SELECT COUNT(*) FROM `{table}` WHERE worker = %s", (number,))
                        cur.fetchone()
                    conn.commit()
                finally:
                    conn.close()
                done = time.monotonic()
                with lock:
                    ok += 1
                    per_second[int(done - start)] += 1
                    acknowledged.append(row_id)
                    completed.append(done)
            except Exception as exc:
                with lock:
                    errors[_code(exc)] += 1
                    if len(failures) < 50:
                        failures.append([round(time.time(), 3), _code(exc)])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    end = time.monotonic()
    elapsed = end - start
    seconds = [per_second.get(s, 0) for s in range(int(elapsed))]
    if args.ack_file:
        with open(args.ack_file, "w") as out:
            json.dump(sorted(acknowledged), out)
    stall, stall_from = longest_gap_from(start, sorted(completed), end)
    # where the stall began, as wall-clock time: to line it up with the servers' logs
    wall = time.time() - (time.monotonic() - stall_from)
    return {"ok": ok, "failed": sum(errors.values()), "errors": dict(errors), "seconds": round(elapsed, 2),
            "per_second": seconds, "longest_stall": round(stall, 3), "longest_stall_from": round(wall, 3),
            "failures": failures}


def longest_gap(start: float, times: Sequence[float], end: float) -> float:
    """The longest time between start, each of the sorted times, and end."""
    return longest_gap_from(start, times, end)[0]


def longest_gap_from(start: float, times: Sequence[float], end: float) -> tuple[float, float]:
    """The longest gap between start, each of the sorted times, and end, and where it begins."""
    points = [start, *times, end]
    return max(((b - a, a) for a, b in itertools.pairwise(points)), default=(0.0, start))


def probe(args: argparse.Namespace) -> dict[str, Any]:
    start = time.monotonic()
    last_ok = start
    longest = 0.0
    ok = failed = 0
    while time.monotonic() - start < args.duration and not os.path.exists(args.stop_file):
        began = time.monotonic()
        try:
            conn = _connect(args, args.interval * 4, args.answer_timeout or args.interval * 10)
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
                    cur.fetchone()
            finally:
                conn.close()
            now = time.monotonic()
            longest = max(longest, now - last_ok)
            last_ok = now
            ok += 1
        except Exception:
            failed += 1
        time.sleep(max(0.0, args.interval - (time.monotonic() - began)))
    # An outage that lasts to the end of the run is a gap too: from the last success to the end.
    longest = max(longest, time.monotonic() - last_ok)
    return {"ok": ok, "failed": failed, "longest_gap": round(longest, 3)}


def persistent(args: argparse.Namespace) -> dict[str, Any]:
    start = time.monotonic()
    ok = 0
    errors: Counter[str] = Counter()
    conn: Any = None
    while time.monotonic() - start < args.duration and not os.path.exists(args.stop_file):
        began = time.monotonic()
        try:
            if conn is None:
                conn = _connect(args, 2)
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchone()
            ok += 1
        except Exception as exc:
            errors[_code(exc)] += 1
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
            conn = None
        time.sleep(max(0.0, args.interval - (time.monotonic() - began)))
    return {"ok": ok, "failed": sum(errors.values()), "errors": dict(errors)}


def pool(args: argparse.Namespace) -> dict[str, Any]:
    lock = threading.Lock()
    errors: Counter[str] = Counter()
    commits: Counter[str] = Counter()
    last_commit: dict[str, float] = {}
    acknowledged: list[int] = []
    failures: list[list[Any]] = []  # [wall-clock time, code, server of the connection] of the first 50
    stop_at = time.monotonic() + args.duration
    table = args.table
    _ensure_table(args)

    def worker(number: int) -> None:
        interval = 1.0 / args.rate
        conn: Any = None
        on = ""  # the server the connection reached
        while time.monotonic() < stop_at and not os.path.exists(args.stop_file):
            began = time.monotonic()
            try:
                if conn is None:
                    on = ""
                    conn = _connect(args, 2)
                with conn.cursor() as cur:
                    cur.execute(f"INSERT INTO `{table}` (worker, at) VALUES (%s, %s)", (number, time.time()))
                    row_id = int(cur.lastrowid)
                    cur.execute("SELECT @@hostname")
                    server = on = str(cur.fetchone()[0])
                conn.commit()
                with lock:
                    commits[server] += 1
                    last_commit[server] = time.time()
                    acknowledged.append(row_id)
            except Exception as exc:
                with lock:
                    errors[_code(exc)] += 1
                    if len(failures) < 50:
                        failures.append([round(time.time(), 3), _code(exc), on])
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
                conn = None
            time.sleep(max(0.0, interval - (time.monotonic() - began)))
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if args.ack_file:
        with open(args.ack_file, "w") as out:
            json.dump(sorted(acknowledged), out)
    return {"ok": sum(commits.values()), "failed": sum(errors.values()), "errors": dict(errors),
            "commits": dict(commits), "last_commit": {k: round(v, 3) for k, v in last_commit.items()},
            "failures": failures}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="heroes-loadprobe", description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["web", "probe", "persistent", "pool"])
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, default=3306)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", default=os.environ.get("PROBE_PASSWORD", ""))
    parser.add_argument("--database", required=True)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rate", type=float, default=25.0,
                        help="web, pool: transactions per second per worker")
    parser.add_argument("--interval", type=float, default=0.05, help="probe: seconds between probes")
    parser.add_argument("--answer-timeout", type=float, default=0.0,
                        help="probe: seconds an attempt waits for replies (default: 10 intervals)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds at most")
    parser.add_argument("--ack-file", default="",
                        help="web, pool: write the ids of the rows whose COMMIT was acknowledged here (JSON)")
    parser.add_argument("--table", default="probe_events", type=_table_name,
                        help="web, pool: the table written (created as InnoDB when missing)")
    parser.add_argument("--stop-file", default="/tmp/heroes-loadprobe.stop",
                        help="stop when this file exists")
    args = parser.parse_args(argv)
    result = {"web": web, "probe": probe, "persistent": persistent, "pool": pool}[args.mode](args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
