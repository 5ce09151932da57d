"""The download client of the mirror's failover tests (heroes_infra.downloadprobe), against
test doubles of a mirror (tests/unit/httpdoubles.py)."""

from __future__ import annotations

import socket
from pathlib import Path

from heroes_infra.downloadprobe import parse, run
from tests.unit.httpdoubles import CutShortHandler, NoRangeHandler, serve


def tree(root: Path) -> Path:
    root.mkdir()
    (root / "heroes-mirror-check.txt").write_text("heroes mirror on web1\n")
    (root / "big.bin").write_bytes(bytes(range(256)) * 400)
    return root


def probe(base: str, *extra: str) -> dict[str, object]:
    return run(parse(["--base", base, "--host", "mirror.lab", "--large", "/big.bin",
                      "--range", "1000-1999", "--interval", "0.01", "--duration", "0.5", *extra]))


def test_a_healthy_mirror_answers_every_request_and_names_itself(tmp_path: Path) -> None:
    with serve(tree(tmp_path / "t")) as base:
        report = probe(base)
    assert report["failed"] == 0 and isinstance(report["ok"], int) and report["ok"] > 10
    assert report["served_by"] == {"web1": report["ok"] // 2}
    assert isinstance(report["longest_gap"], float) and report["longest_gap"] < 0.3


def test_a_body_cut_short_is_a_failure(tmp_path: Path) -> None:
    with serve(tree(tmp_path / "t"), CutShortHandler) as base:
        report = probe(base)
    assert report["ok"] == 0 and isinstance(report["failures"], list)
    assert "announced" in report["failures"][0]["error"] or "IncompleteRead" in report["failures"][0]["error"]


def test_a_server_without_ranges_fails_the_range_requests(tmp_path: Path) -> None:
    with serve(tree(tmp_path / "t"), NoRangeHandler) as base:
        report = probe(base)
    assert isinstance(report["failures"], list) and report["failures"]
    assert all(f["url"] == "/big.bin bytes=1000-1999" and f["error"].startswith("status 200")
               for f in report["failures"])


def test_no_server_is_all_failures_and_the_whole_run_one_gap() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens on it once closed
    report = probe(f"http://127.0.0.1:{port}")
    assert report["ok"] == 0 and isinstance(report["failed"], int) and report["failed"] > 0
    assert isinstance(report["longest_gap"], float) and report["longest_gap"] >= 0.5
