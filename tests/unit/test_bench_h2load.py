"""The h2load benchmark reads h2load's summary right (benchmarks/web_h2load.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import web_h2load

SUMMARY = """starting benchmark...
spawning thread #0: 10 total client(s). 100000 total requests
TLS Protocol: TLSv1.3

finished in 1.25s, 79844.85 req/s, 16.90MB/s
requests: 100000 total, 100000 started, 100000 done, 99990 succeeded, 10 failed, 10 errored, 0 timeout
status codes: 99980 2xx, 0 3xx, 10 4xx, 0 5xx
traffic: 21.17MB (22200490) total, 8.49MB (8900000) headers (space savings 43.67%), 10.97MB (11500000) data
"""


def test_the_summary_gives_rate_bytes_and_what_did_not_succeed() -> None:
    parsed = web_h2load.parse_h2load(SUMMARY)
    assert parsed["seconds"] == 1.25 and parsed["req_per_s"] == 79844.85
    assert parsed["bytes"] == 22200490 and parsed["mb_per_s"] == pytest.approx(22200490 / 1.25 / 1e6)
    assert parsed["not_2xx"] == 20 and parsed["failed"] == 20


@pytest.mark.parametrize(("text", "seconds"), [("720us", 0.00072), ("300.84ms", 0.30084), ("2.5s", 2.5)])
def test_every_unit_of_the_finished_line(text: str, seconds: float) -> None:
    parsed = web_h2load.parse_h2load(SUMMARY.replace("finished in 1.25s", f"finished in {text}"))
    assert parsed["seconds"] == pytest.approx(seconds)


def test_output_that_is_no_summary_is_refused() -> None:
    with pytest.raises(ValueError, match="not an h2load summary"):
        web_h2load.parse_h2load("h2load: command not found\n")


def test_the_figure_is_mb_per_s_for_the_large_file_and_req_per_s_otherwise() -> None:
    parsed = web_h2load.parse_h2load(SUMMARY)
    by_key = {w.key: w for w in web_h2load.WORKLOADS}
    assert web_h2load.figure(parsed, by_key["large_file"]) == parsed["mb_per_s"]
    assert web_h2load.figure(parsed, by_key["small_h2"]) == parsed["req_per_s"]


def test_lighttpd_gets_the_tls_settings_of_the_role() -> None:
    tls = {"ciphers": "ECDHE-ECDSA-AES128-GCM-SHA256", "groups": "X25519:prime256v1"}
    conf = web_h2load.lighttpd_conf(tls, "172.30.0.31")
    assert '"CipherString" => "ECDHE-ECDSA-AES128-GCM-SHA256"' in conf
    assert '"Groups" => "X25519:prime256v1"' in conf and 'server.bind = "172.30.0.31"' in conf
