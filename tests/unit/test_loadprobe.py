"""The connect probe against servers that misbehave the way a moved VIP makes them."""

from __future__ import annotations

import argparse
import socket
import threading
import time
from collections.abc import Iterator

import pytest

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


def args(port: int, **extra: float) -> argparse.Namespace:
    values = {"host": "127.0.0.1", "port": port, "user": "probe", "password": "", "database": "probe",
              "interval": 0.05, "duration": 1.5, "answer_timeout": 0.0, "stop_file": "/nonexistent/stop"}
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
    assert result == {"ok": 0, "failed": 1, "longest_gap": 0.0}
    assert 0.9 < time.monotonic() - began < 2.0
