"""The connect probe against servers that misbehave the way a moved VIP makes them."""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from heroes_infra import loadprobe
from heroes_infra.loadprobe import probe


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A test double: a TCP listener that accepts connections and never says a word (a MySQL
    client then waits for the server's greeting, as on a connection cut by a VIP move)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                held.append(conn)
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def args(port: int, **extra: object) -> argparse.Namespace:
    values = {"host": "127.0.0.1", "port": port, "user": "probe", "password": "", "database": "probe",
              "interval": 0.05, "duration": 1.5, "answer_timeout": 0.0, "stop_file": "/nonexistent/stop",
              "table": "probe_events"}
    values.update(extra)
    return argparse.Namespace(**values)


def test_a_silent_server_costs_an_attempt_ten_intervals_not_five_seconds(silent_server: int) -> None:
    began = time.monotonic()
    result = probe(args(silent_server))
    elapsed = time.monotonic() - began
    assert result["ok"] == 0
    # 1.5 s of 0.5 s attempts: three failures, and the probe ends on time
    assert result["failed"] >= 2, result
    assert elapsed < 2.5, elapsed


def test_the_answer_timeout_can_be_set(silent_server: int) -> None:
    began = time.monotonic()
    result = probe(args(silent_server, duration=0.2, answer_timeout=1.0))
    assert (result["ok"], result["failed"]) == (0, 1)
    # nothing answered: the whole run is the gap
    assert 0.9 < result["longest_gap"] < 2.0
    assert 0.9 < time.monotonic() - began < 2.0


class FlakyServer:
    """A test double for the MySQL connection: answers the first ``answers`` attempts, then
    every attempt fails (a server that dies and does not come back before the run ends)."""

    def __init__(self, answers: int) -> None:
        self.answers = answers
        self.calls = 0
        self.lastrowid = 0
        self.lock = threading.Lock()
        self.queries: list[str] = []
        self.tables: set[str] = set()

    def connect(self, *_: object) -> FlakyServer:
        self.calls += 1
        if self.calls > self.answers:
            raise ConnectionRefusedError(111, "refused")
        return self

    def cursor(self) -> contextlib.nullcontext[Any]:
        return contextlib.nullcontext(self)

    def execute(self, query: str, params: object = None) -> None:
        self.queries.append(query)
        self.params = params
        if query.startswith("INSERT"):
            with self.lock:
                self.lastrowid += 1
        if query.startswith("CREATE TABLE"):
            self.tables.add(query.split("`")[1])

    def commit(self) -> None:
        return None

    def fetchone(self) -> tuple[Any] | None:
        if "information_schema.tables" in self.queries[-1]:
            return (1,) if isinstance(self.params, tuple) and self.params[0] in self.tables else None
        return (1,)

    def close(self) -> None:
        return None


def test_an_outage_that_lasts_to_the_end_is_the_longest_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    server = FlakyServer(answers=3)
    monkeypatch.setattr(loadprobe, "_connect", server.connect)
    result = probe(args(0, duration=1.0))
    assert result["ok"] == 3 and result["failed"] > 5
    # three answers in the first 0.15 s, then nothing until the end of the 1 s run
    assert result["longest_gap"] > 0.75, result


def test_a_steady_server_has_short_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    server = FlakyServer(answers=10_000)
    monkeypatch.setattr(loadprobe, "_connect", server.connect)
    result = probe(args(0, duration=0.5))
    assert result["failed"] == 0 and result["ok"] >= 5
    assert result["longest_gap"] < 0.2, result


def test_longest_gap_counts_the_start_and_the_end() -> None:
    assert loadprobe.longest_gap(0.0, [1.0, 1.5, 4.0], 4.2) == 2.5
    assert loadprobe.longest_gap(0.0, [0.2, 0.4], 3.0) == 2.6
    assert loadprobe.longest_gap_from(0.0, [1.0, 1.5, 4.0], 4.2) == (2.5, 1.5)
    assert loadprobe.longest_gap_from(5.0, [], 5.0) == (0.0, 5.0)
    assert loadprobe.longest_gap(0.0, [], 2.0) == 2.0


def test_web_writes_the_ids_it_got_a_commit_for(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    server = FlakyServer(answers=25)  # the table's creation, then 24 transactions, then refusals
    monkeypatch.setattr(loadprobe, "_connect", server.connect)
    ack = tmp_path / "ack.json"
    run = args(0, duration=1.0, workers=2, rate=40.0, ack_file=str(ack))
    began = time.time()
    result = loadprobe.web(run)
    ids = json.loads(ack.read_text())
    assert result["ok"] == 24 and len(ids) == 24 and len(set(ids)) == 24
    assert result["failed"] > 0
    # the refusals last to the end of the run: the longest stall reaches it
    assert result["longest_stall"] > 0.3, result
    # it began when the refusals did: after the start, before the end minus its length
    assert began <= result["longest_stall_from"] <= time.time() - result["longest_stall"] + 0.05, result
    assert result["failures"] and all(began <= at <= time.time() for at, _ in result["failures"]), result


def test_web_writes_the_table_it_is_told_and_refuses_a_name_that_is_not_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    server = FlakyServer(answers=5)
    monkeypatch.setattr(loadprobe, "_connect", server.connect)
    loadprobe.web(args(0, duration=0.3, workers=1, rate=20.0, table="legacy_hits", ack_file=""))
    assert server.queries[1].startswith("CREATE TABLE IF NOT EXISTS `legacy_hits`")
    assert any(q.startswith("INSERT INTO `legacy_hits`") for q in server.queries)
    assert not any("probe_events" in q for q in server.queries)
    with pytest.raises(SystemExit):
        loadprobe.main(["web", "--host", "h", "--user", "u", "--database", "d", "--table", "x`; DROP"])


def test_pool_keeps_its_connections_and_says_where_it_committed_last(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    server = FlakyServer(answers=3)  # the table's creation and two connections, then refusals
    monkeypatch.setattr(loadprobe, "_connect", server.connect)
    ack = tmp_path / "ack.json"
    began = time.time()
    result = loadprobe.pool(args(0, duration=0.5, workers=2, rate=20.0, ack_file=str(ack)))
    # two connections kept for the whole run: about 10 commits each, no reconnect needed
    assert server.calls == 3, server.calls
    assert result["failed"] == 0 and result["ok"] >= 12, result
    assert result["commits"] == {"1": result["ok"]}
    assert began < result["last_commit"]["1"] <= time.time()
    assert len(json.loads(ack.read_text())) == result["ok"]


class DeadlockingServer(FlakyServer):
    """A test double whose kept connection answers a few transactions, then every INSERT fails
    with a deadlock (1213), as Galera says when it refused a write at certification."""

    def __init__(self, commits: int) -> None:
        super().__init__(answers=10_000)
        self.commits = commits

    def execute(self, query: str, params: object = None) -> None:
        if query.startswith("INSERT") and self.lastrowid >= self.commits:
            raise RuntimeError(1213, "Deadlock found when trying to get lock")
        super().execute(query, params)

    def fetchone(self) -> tuple[Any] | None:
        return ("db2",) if self.queries[-1] == "SELECT @@hostname" else super().fetchone()


def test_pool_names_the_server_and_the_time_of_its_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    server = DeadlockingServer(commits=3)
    monkeypatch.setattr(loadprobe, "_connect", server.connect)
    began = time.time()
    result = loadprobe.pool(args(0, duration=0.3, workers=1, rate=20.0, ack_file=""))
    assert result["ok"] == 3 and result["errors"].keys() == {"1213"}, result
    first = result["failures"][0]
    # the first failure was on the connection that had committed on db2; after it the
    # connection is new and has not committed yet
    assert first[1:] == ["1213", "db2"] and began <= first[0] <= time.time(), result
    assert all(f[1:] == ["1213", ""] for f in result["failures"][1:]), result


def test_a_probe_sends_no_ddl_when_its_table_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CREATE TABLE, even IF NOT EXISTS, is DDL: under Galera it aborts the writes in flight
    on that table (a pool's, beside the web clients). Only a missing table is created."""
    server = FlakyServer(answers=100)
    monkeypatch.setattr(loadprobe, "_connect", server.connect)
    loadprobe.web(args(0, duration=0.2, workers=1, rate=20.0, ack_file=""))
    loadprobe.pool(args(0, duration=0.2, workers=1, rate=20.0, ack_file=""))
    creates = [q for q in server.queries if q.startswith("CREATE")]
    assert len(creates) == 1 and server.tables == {"probe_events"}, server.queries
