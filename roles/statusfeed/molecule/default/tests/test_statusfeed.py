"""The status feed on Debian 12 and 13 against a test double of Cachet's API v1 (prepare.yml)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from typing import Any

import testinfra.utils.ansible_runner

Host = Any

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("statusfeed")

ATOM = "{http://www.w3.org/2005/Atom}"
FEEDS = ("/var/www/statusfeed/feed.atom", "/var/www/statusfeed/feed.rss")


def test_the_timer_is_active_and_the_configuration_is_the_feeds_own(host: Host) -> None:
    timer = host.service("heroes-statusfeed.timer")
    assert timer.is_running and timer.is_enabled
    config = host.file("/etc/heroes-statusfeed/config.toml")
    assert (config.user, config.group, config.mode) == ("root", "heroes-statusfeed", 0o640)
    assert config.content_string.startswith("#")
    assert 'timezone = "Europe/Berlin"' in config.content_string
    assert not host.file("/etc/heroes-statusfeed/token").exists


def test_the_first_run_wrote_both_feeds_as_the_feeds_user(host: Host) -> None:
    for path in FEEDS:
        feed = host.file(path)
        assert (feed.user, feed.mode) == ("heroes-statusfeed", 0o644), path
    root = ET.fromstring(host.file(FEEDS[0]).content_string)
    ids = [e.findtext(f"{ATOM}id") for e in root.iter(f"{ATOM}entry")]
    assert len(ids) == 10 and "tag:status.lab,2026-10-25:incident/5/update/52" in ids
    links = [link.get("href") for link in root.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert links == ["https://status.lab/feeds/feed.atom"]
    # Cachet's local times (Europe/Berlin), in UTC: 25 October 04:00 CET is 03:00Z
    update = next(e for e in root.iter(f"{ATOM}entry") if str(e.findtext(f"{ATOM}id")).endswith("update/53"))
    assert update.findtext(f"{ATOM}updated") == "2026-10-25T03:00:00+00:00"
    rss = ET.fromstring(host.file(FEEDS[1]).content_string)
    assert len(rss.findall("channel/item")) == 10


def test_an_api_failure_fails_the_unit_and_keeps_the_last_good_feeds(host: Host) -> None:
    before = [host.file(path).sha256sum for path in FEEDS]
    host.check_output("echo error > /run/cachet-double.fail")
    try:
        since = host.check_output("date '+%Y-%m-%d %H:%M:%S'")
        run = host.run("systemctl start heroes-statusfeed.service")
        assert run.rc != 0
        journal = host.check_output(f"journalctl -u heroes-statusfeed -o cat --since '{since}'")
        lines = [line for line in journal.splitlines() if line.startswith("heroes-statusfeed:")]
        assert len(lines) == 1, journal
        assert "HTTP 500" in lines[0] and "the last good feeds are kept" in lines[0], journal
        assert [host.file(path).sha256sum for path in FEEDS] == before
    finally:
        host.run("rm -f /run/cachet-double.fail; systemctl reset-failed heroes-statusfeed.service")
    # the API back: the next run succeeds, with answers not modified since and feeds unchanged
    assert host.run("systemctl start heroes-statusfeed.service").rc == 0
    journal = host.check_output("journalctl -u heroes-statusfeed -o cat -n 50")
    last = [line for line in journal.splitlines() if line.startswith("heroes-statusfeed:")][-1]
    assert "not modified" in last and last.endswith("feeds unchanged"), last
    assert [host.file(path).sha256sum for path in FEEDS] == before
