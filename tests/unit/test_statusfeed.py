"""heroes-statusfeed (src/heroes_infra/statusfeed.py) against a test double of Cachet's API v1
(tests/unit/cachet_double.py); its feeds read back with feedparser and as XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import feedparser
import pytest

from heroes_infra import statusfeed
from tests.unit.cachet_double import MESSAGE, CachetDouble, incident, sample, serve, update

ATOM = "{http://www.w3.org/2005/Atom}"


def cachet() -> CachetDouble:
    return sample()


def settings(api: str, tmp_path: Path, **over: Any) -> dict[str, Any]:
    base = {"api_url": api, "site_url": "https://status.lab/", "title": "Heroes status",
            "atom_file": str(tmp_path / "www/feed.atom"), "rss_file": str(tmp_path / "www/feed.rss"),
            "atom_url": "https://status.lab/feed.atom", "rss_url": "https://status.lab/feed.rss",
            "entries": 50, "timezone": "Europe/Berlin", "timeout": 1, "state_dir": str(tmp_path / "state")}
    return {**base, **over}


def toml(config: dict[str, Any]) -> str:
    """The configuration as the role writes it: a header comment, then key = JSON value."""
    lines = ["# Ansible managed"] + [f"{key} = {json.dumps(value)}" for key, value in config.items()
                                     if value is not None]
    return "\n".join(lines) + "\n"


def run(tmp_path: Path, config: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    path = tmp_path / "config.toml"
    path.write_text(toml(config))
    rc = statusfeed.main(["--config", str(path)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_one_entry_per_incident_update_and_maintenance_over_every_page(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    double = cachet()
    with serve(double) as api:
        rc, out, err = run(tmp_path, settings(api, tmp_path), capsys)
    assert rc == 0, err
    assert "10 entries (5 incidents, 4 updates, 1 maintenance)" in out
    # the incidents' three pages were all fetched
    assert sum(1 for path, _ in double.requests if path.startswith("/api/v1/incidents?")) == 3
    for name, kind in (("feed.atom", "atom10"), ("feed.rss", "rss20")):
        parsed = feedparser.parse((tmp_path / "www" / name).read_bytes())
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert parsed.version == kind
        ids = [e.id for e in parsed.entries]
        assert len(ids) == 10 and len(set(ids)) == 10
        assert "tag:status.lab,2026-10-25:incident/5/update/52" in ids
        assert "tag:status.lab,2026-10-30:schedule/9" in ids
        titles = [e.title for e in parsed.entries]
        assert "News site errors: Identified" in titles and "Maintenance: Galera upgrade (Upcoming)" in titles
        links = {e.id: e.link for e in parsed.entries}
        assert links["tag:status.lab,2026-10-25:incident/5/update/51"] == "https://status.lab/incidents/5#update-51"


def test_the_entries_kept_are_the_newest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with serve(cachet()) as api:
        rc, _, err = run(tmp_path, settings(api, tmp_path, entries=3), capsys)
    assert rc == 0, err
    parsed = feedparser.parse((tmp_path / "www/feed.atom").read_bytes())
    kept = [e.id.split(":")[-1] for e in parsed.entries]
    assert kept == ["schedule/9", "incident/5/update/53", "incident/5"]


def test_local_times_get_the_instance_timezone_dst_included(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    with serve(cachet()) as api:
        rc, _, err = run(tmp_path, settings(api, tmp_path), capsys)
    assert rc == 0, err
    root = ET.fromstring((tmp_path / "www/feed.atom").read_bytes())
    entries = root.iter(f"{ATOM}entry")
    by_id = {str(e.findtext(f"{ATOM}id")).removeprefix("tag:status.lab,"): e for e in entries}
    # winter time (+01:00)
    assert by_id["2026-01-10:incident/1"].findtext(f"{ATOM}updated") == "2026-01-10T09:00:00+00:00"
    # 29 March 2026: 01:30 is still winter time, 03:30 summer time (+02:00)
    matomo = by_id["2026-03-29:incident/3"]
    assert matomo.findtext(f"{ATOM}published") == "2026-03-29T00:30:00+00:00"
    assert matomo.findtext(f"{ATOM}updated") == "2026-03-29T01:30:00+00:00"
    # 25 October 2026: 02:30 happens twice; the first (summer) reading is taken
    assert by_id["2026-10-25:incident/5"].findtext(f"{ATOM}published") == "2026-10-25T00:30:00+00:00"
    assert by_id["2026-10-25:incident/5/update/53"].findtext(f"{ATOM}updated") == "2026-10-25T03:00:00+00:00"
    # the RSS dates say the same instants
    rss = feedparser.parse((tmp_path / "www/feed.rss").read_bytes())
    first = next(e for e in rss.entries if e.id.endswith("incident/1"))
    assert first.published == "Sat, 10 Jan 2026 08:00:00 +0000"  # 09:00 CET


def test_html_and_non_ascii_messages_are_carried_whole(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    with serve(cachet()) as api:
        rc, _, err = run(tmp_path, settings(api, tmp_path), capsys)
    assert rc == 0, err
    root = ET.fromstring((tmp_path / "www/feed.atom").read_bytes())
    contents = [e.find(f"{ATOM}content") for e in root.iter(f"{ATOM}entry")]
    carried = [c for c in contents if c is not None and c.text == MESSAGE]
    assert len(carried) == 2 and all(c.get("type") == "html" for c in carried)
    rss = ET.fromstring((tmp_path / "www/feed.rss").read_bytes())
    assert sum(1 for d in rss.iter("description") if d.text == MESSAGE) == 2


def test_the_atom_feed_keeps_the_rules_feedparser_does_not_check(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    with serve(cachet()) as api:
        rc, _, err = run(tmp_path, settings(api, tmp_path), capsys)
    assert rc == 0, err
    root = ET.fromstring((tmp_path / "www/feed.atom").read_bytes())
    assert root.findtext(f"{ATOM}id") == "tag:status.lab,1970-01-01:statusfeed"
    # the feed's updated is its newest entry's (the maintenance, created 30 October 08:00 CET)
    assert root.findtext(f"{ATOM}updated") == "2026-10-30T07:00:00+00:00"
    selfs = [link for link in root.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert [link.get("href") for link in selfs] == ["https://status.lab/feed.atom"]
    for entry in root.iter(f"{ATOM}entry"):
        for child in ("id", "updated", "title"):
            assert len(entry.findall(f"{ATOM}{child}")) == 1, (child, ET.tostring(entry))


def test_the_deleted_component_and_the_component_filter(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    with serve(cachet()) as api:
        rc, _, err = run(tmp_path, settings(api, tmp_path), capsys)
        assert rc == 0, err
        parsed = feedparser.parse((tmp_path / "www/feed.atom").read_bytes())
        old = next(e for e in parsed.entries if e.id.endswith("incident/4"))
        assert [t.term for t in old.tags] == ["component 7 (deleted)"]
        matomo = next(e for e in parsed.entries if e.id.endswith("incident/3"))
        assert [t.term for t in matomo.tags] == ["Matomo: Major Outage"]
        rc, _, err = run(tmp_path, settings(api, tmp_path, components=["Mirror"]), capsys)
    assert rc == 0, err
    parsed = feedparser.parse((tmp_path / "www/feed.atom").read_bytes())
    assert sorted(e.id.split(":")[-1] for e in parsed.entries if "incident" in e.id) == [
        "incident/1", "incident/5", "incident/5/update/51", "incident/5/update/52", "incident/5/update/53"]


def test_a_second_run_sends_conditional_requests_and_changes_no_byte(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    double = cachet()
    with serve(double) as api:
        rc, _, err = run(tmp_path, settings(api, tmp_path), capsys)
        assert rc == 0, err
        atom = tmp_path / "www/feed.atom"
        first, mtime = atom.read_bytes(), atom.stat().st_mtime_ns
        double.requests.clear()
        rc, out, err = run(tmp_path, settings(api, tmp_path), capsys)
    assert rc == 0, err
    assert all("if-none-match" in headers for _, headers in double.requests)
    assert f"from {len(double.requests)} requests ({len(double.requests)} not modified)" in out
    assert "feeds unchanged" in out
    assert atom.read_bytes() == first and atom.stat().st_mtime_ns == mtime


def test_the_same_input_gives_the_same_bytes_without_a_cache(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    outputs = []
    for run_dir in ("a", "b"):
        with serve(cachet()) as api:
            rc, _, err = run(tmp_path, settings(api, tmp_path / run_dir, state_dir=None), capsys)
        assert rc == 0, err
        outputs.append(((tmp_path / run_dir / "www/feed.atom").read_bytes(),
                        (tmp_path / run_dir / "www/feed.rss").read_bytes()))
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize(("fail", "message"), [
    ("error", "HTTP 500"),
    ("slow", "timed out"),
    ("json", "the answer is not JSON"),
    ("schema", "no 'data' list in the answer"),
    ("foreign-next", "a link outside"),
    ("redirect-away", "HTTP 302"),
])
def test_an_api_failure_keeps_the_last_good_feeds(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  fail: str, message: str) -> None:
    double = cachet()
    with serve(double) as api:
        rc, _, err = run(tmp_path, settings(api, tmp_path), capsys)
        assert rc == 0, err
        feeds = [tmp_path / "www/feed.atom", tmp_path / "www/feed.rss"]
        before = [(p.read_bytes(), p.stat().st_mtime_ns) for p in feeds]
        double.fail, double.etags = fail, False
        double.slow_seconds = 2.5
        rc, out, err = run(tmp_path, settings(api, tmp_path), capsys)
    assert rc == 1 and out == ""
    assert len(err.splitlines()) == 1 and message in err and "the last good feeds are kept" in err, err
    assert [(p.read_bytes(), p.stat().st_mtime_ns) for p in feeds] == before
    assert sorted(p.name for p in (tmp_path / "www").iterdir()) == ["feed.atom", "feed.rss"]


def test_the_token_is_sent_and_never_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret-cachet-token\n")
    double = cachet()
    with serve(double) as api:
        rc, out, err = run(tmp_path, settings(api, tmp_path, token_file=str(token)), capsys)
        assert rc == 0, err
        assert {h.get("x-cachet-token") for _, h in double.requests} == {"s3cret-cachet-token"}
        double.fail = "error"
        rc, out2, err2 = run(tmp_path, settings(api, tmp_path, token_file=str(token)), capsys)
    assert rc == 1
    assert "s3cret" not in out + err + out2 + err2


@pytest.mark.parametrize(("over", "message"), [
    ({"timezone": "Mars/Olympus"},
     "timezone must be an IANA time zone such as Europe/Berlin, got 'Mars/Olympus'"),
    ({"api_url": "status.lab/api/v1"}, "api_url must be an http(s) URL"),
    ({"entries": 0}, "entries must be a whole number from 1 to 10000, got 0"),
    ({"atom_file": "feed.atom"}, "atom_file must be an absolute path, got 'feed.atom'"),
    ({"components": "Mirror"}, "components must be a list of component names or ids"),
    ({"colour": "blue"}, "unknown configuration keys ['colour']"),
    ({"title": ["Heroes"]}, "title must be a non-empty string, got ['Heroes']"),
])
def test_bad_configuration_is_named_before_anything_is_fetched(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], over: dict[str, Any], message: str) -> None:
    double = cachet()
    with serve(double) as api:
        rc, _, err = run(tmp_path, settings(api, tmp_path, **over), capsys)
    assert rc == 2 and message in err, err
    assert double.requests == [] and not (tmp_path / "www").exists()


def test_a_configuration_that_is_not_toml_is_named(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text("api_url: https://status.lab/api/v1\n")
    assert statusfeed.main(["--config", str(path)]) == 2
    assert f"configuration {path}: " in capsys.readouterr().err


def test_an_update_is_titled_with_its_incidents_whole_name(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    double = CachetDouble(
        incidents=[incident(1, "Mirror slow (EU)", "2026-05-01 10:00:00", "2026-05-01 11:00:00")],
        updates={1: [update(11, 1, 2, "2026-05-01 10:30:00")]})
    with serve(double) as api:
        rc, _, err = run(tmp_path, settings(api, tmp_path), capsys)
    assert rc == 0, err
    parsed = feedparser.parse((tmp_path / "www/feed.atom").read_bytes())
    assert [e.title for e in parsed.entries] == ["Mirror slow (EU) (Fixed)", "Mirror slow (EU): Identified"]
