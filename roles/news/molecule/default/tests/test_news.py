"""The news site's releases on Debian 12 and 13: built from the lab's sample posts, switched to by
one symlink, rolled back and forth by playbooks/web/news-rollback.yml."""

from __future__ import annotations

import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import testinfra.utils.ansible_runner

Host = Any
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("news")
ROOT = Path(__file__).resolve().parents[5]
ATOM = "{http://www.w3.org/2005/Atom}"
RELEASE = re.compile(r"^releases/[0-9a-f]{16}$")


def live(host: Host) -> str:
    return str(host.file("/srv/news/current").linked_to).removeprefix("/srv/news/")


def rollback(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANSIBLE_ROLES_PATH": str(ROOT / "roles"), "ANSIBLE_NOCOLOR": "1"}
    return subprocess.run(["ansible-playbook", "-i", INVENTORY, str(ROOT / "playbooks/web/news-rollback.yml"),
                           *args], capture_output=True, text=True, env=env, cwd=ROOT, check=False)


def test_current_is_a_whole_release(host: Host) -> None:
    assert host.file("/srv/news/current").is_symlink
    assert RELEASE.match(live(host)), live(host)
    release = f"/srv/news/{live(host)}"
    for page in ("index.html", "archives.html", "tags.html", "feeds/all.atom", "feeds/all.rss",
                 "posts/the-status-page-has-feeds-again.html", "tags/mirror.html", "theme/css/news.css"):
        assert host.file(f"{release}/{page}").is_file, page
    assert not host.file(f"{release}.partial").exists


def test_the_feeds_have_every_post_with_absolute_links(host: Host) -> None:
    feed = ET.fromstring(host.file("/srv/news/current/feeds/all.atom").content_string)
    entries = list(feed.iter(f"{ATOM}entry"))
    assert len(entries) == 4
    feeds = next(e for e in entries if e.findtext(f"{ATOM}title") == "The status page has feeds again")
    assert feeds.findtext(f"{ATOM}id") == \
        "tag:news.lab,2026-12-01:/posts/the-status-page-has-feeds-again.html"
    assert feeds.findtext(f"{ATOM}updated") == "2026-12-02T09:30:00+01:00"
    galera = host.file("/srv/news/current/posts/database-maintenance-without-downtime.html").content_string
    assert 'href="https://news.lab/posts/the-status-page-has-feeds-again.html"' in galera


def test_a_rollback_switches_back_and_forth(host: Host) -> None:
    release = live(host)
    older = "/srv/news/releases/0000000000000000"
    host.check_output(f"cp -a /srv/news/{release} {older} && touch -d 2020-01-01 {older}")
    try:
        plan = rollback("--check", "--limit", host.backend.get_hostname())
        assert plan.returncode == 0, plan.stdout + plan.stderr
        assert live(host) == release
        back = rollback("--limit", host.backend.get_hostname())
        assert back.returncode == 0, back.stdout + back.stderr
        assert live(host) == "releases/0000000000000000"
        forth = rollback("--limit", host.backend.get_hostname())
        assert forth.returncode == 0, forth.stdout + forth.stderr
        assert live(host) == release
    finally:
        host.run(f"ln -sfn {release} /srv/news/current.fix && mv -T /srv/news/current.fix /srv/news/current")
        host.run(f"rm -rf {older}")
