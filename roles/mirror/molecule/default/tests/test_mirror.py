"""Verify the mirror role: the tree served by nginx as a mirror should be, and a sync that never
shows metadata naming a package not there yet — not while it runs, not when it is stopped
midway — and never runs twice at once."""

from __future__ import annotations

import os
import shlex
import time
from typing import Any

import testinfra.utils.ansible_runner

Host = Any
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("mirror")
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
BIG = 48 * 1024 * 1024  # at the scenario's 20 MiB/s, a stage of 2 s or more
REPO = "/srv/upstream/repo"

# A reader of the metadata, as a package manager is: fetch repomd.xml, then every package it
# names; print each package that was missing (404) while the metadata named it.
READER = r"""
import re, sys, time, urllib.request, urllib.error
base = "http://127.0.0.1/repo/"
def get(path):
    req = urllib.request.Request(base + path, headers={"Host": "mirror.lab"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.read()
end = time.monotonic() + float(sys.argv[1])
reads = 0
while time.monotonic() < end:
    meta = get("repodata/repomd.xml").decode()
    for href in re.findall(r'href="([^"]+)"', meta):
        req = urllib.request.Request(base + href, method="HEAD", headers={"Host": "mirror.lab"})
        try:
            urllib.request.urlopen(req, timeout=5).close()
        except urllib.error.HTTPError as err:
            print("MISSING", href, err.code, flush=True)
    reads += 1
    time.sleep(0.02)
print("READS", reads, flush=True)
"""


def upstream(host: Host) -> Host:
    return host.get_host(f"ansible://mirror-upstream?ansible_inventory={INVENTORY}")


def http(host: Host, path: str, *args: str) -> str:
    return str(host.check_output(
        f"curl -sS -H 'Host: mirror.lab' {' '.join(shlex.quote(a) for a in args)} http://127.0.0.1{path}"))


def publish(up: Host, version: int) -> None:
    """Version 2: b-1 stays, a-1 goes, c-2 (large) and d-2 come; the metadata names b, c, d."""
    assert version == 2
    up.check_output(f"head -c {BIG} /dev/urandom > {REPO}/Packages/c-2.rpm")
    up.check_output(f"echo 'package d, version 2' > {REPO}/Packages/d-2.rpm")
    up.check_output(f"rm {REPO}/Packages/a-1.rpm")
    meta = ''.join(f'<location href="Packages/{p}"/>\n' for p in ("b-1.rpm", "c-2.rpm", "d-2.rpm"))
    up.check_output(f"printf '%s' {shlex.quote('<repomd>' + chr(10) + meta + '</repomd>' + chr(10))}"
                    f" > {REPO}/repodata/repomd.xml")


def named(host: Host) -> list[str]:
    meta = http(host, "/repo/repodata/repomd.xml")
    return [line.split('"')[1] for line in meta.splitlines() if "href=" in line]


def syncing(host: Host) -> bool:
    state = host.check_output("systemctl show -p ActiveState --value heroes-mirror-sync")
    return state in ("activating", "active", "deactivating")


def sync(host: Host) -> Any:
    return host.run("systemctl start heroes-mirror-sync")


def test_a_tree_laid_out_by_another_is_given_to_the_mirror_user(host: Host) -> None:
    for path in ("/srv/mirror/legacy", "/srv/mirror/legacy/root-owned.txt"):
        assert host.file(path).user == "mirror" and host.file(path).group == "mirror", path


def test_the_timer_is_active_and_the_first_sync_publishes_version_1(host: Host) -> None:
    timer = host.service("heroes-mirror-sync.timer")
    assert timer.is_running and timer.is_enabled
    assert sync(host).rc == 0
    assert named(host) == ["Packages/a-1.rpm", "Packages/b-1.rpm"]
    assert host.file("/srv/mirror/repo/Packages/a-1.rpm").user == "mirror"


def test_the_tree_is_served_as_a_mirror(host: Host) -> None:
    head = http(host, "/repo/Packages/a-1.rpm", "-D", "-", "-o", "/dev/null").lower()
    assert "content-type: application/x-rpm" in head and "cache-control: max-age=2592000" in head
    meta = http(host, "/repo/repodata/repomd.xml", "-D", "-", "-o", "/dev/null").lower()
    assert "cache-control: max-age=300" in meta
    assert http(host, "/repo/Packages/a-1.rpm", "-r", "8-16") == "a, versio"
    assert 'href="a-1.rpm"' in http(host, "/repo/Packages/")
    # the log is written a buffer at a time, at the latest nginx_access_log_flush (5 s) later,
    # and each worker has its buffer: the listing's line is looked for, not taken as the last
    deadline = time.monotonic() + 10
    log: list[str] = []
    while not log and time.monotonic() < deadline:
        time.sleep(0.5)
        lines = host.file("/var/log/nginx/mirror.access.log").content_string.splitlines()
        log = next((line.split() for line in reversed(lines) if '"/repo/Packages/"' in line), [])
    assert log[2:7] == ["http", "HTTP/1.1", "GET", '"/repo/Packages/"', "200"], log


def test_a_sync_stopped_midway_publishes_nothing_half_done(host: Host) -> None:
    up = upstream(host)
    publish(up, 2)
    assert host.run("systemctl start --no-block heroes-mirror-sync").rc == 0
    # stopped while stage 1 moves c-2 (48 MiB at 20 MiB/s)
    deadline = time.monotonic() + 10
    find = "find /srv/mirror -name '*c-2.rpm*'"
    while "c-2.rpm" not in host.run(find).stdout and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    assert host.run("systemctl stop heroes-mirror-sync").rc == 0
    # the published metadata is still version 1, and every package it names is there
    assert named(host) == ["Packages/a-1.rpm", "Packages/b-1.rpm"]
    for href in named(host):
        assert http(host, f"/repo/{href}", "-o", "/dev/null", "-w", "%{http_code}") == "200"
    # what the stopped stage had fetched is in rsync's staging, which is never served
    assert not host.file("/srv/mirror/repo/Packages/c-2.rpm").exists
    staged = host.run("find /srv/mirror -path '*.~tmp~*' -type f").stdout.split()
    assert staged, "the sync was not stopped midway: nothing is staged"
    for path in staged:
        url = path.removeprefix("/srv/mirror")
        assert http(host, url, "-o", "/dev/null", "-w", "%{http_code}") == "404", url


def test_a_reader_during_a_sync_never_sees_a_package_missing(host: Host) -> None:
    host.run(f"rm -f /tmp/reader.out; python3 -c {shlex.quote(READER)} 12 > /tmp/reader.out 2>&1 &")
    time.sleep(0.5)
    assert sync(host).rc == 0
    deadline = time.monotonic() + 20
    while "READS" not in host.run("cat /tmp/reader.out").stdout and time.monotonic() < deadline:
        time.sleep(0.5)
    out = host.check_output("cat /tmp/reader.out")
    assert "MISSING" not in out and "Traceback" not in out, out
    assert int(out.split("READS")[1]) > 50, out
    # version 2 is published whole, and a-1, gone upstream, is deleted
    assert named(host) == ["Packages/b-1.rpm", "Packages/c-2.rpm", "Packages/d-2.rpm"]
    assert host.file("/srv/mirror/repo/Packages/c-2.rpm").size == BIG
    assert not host.file("/srv/mirror/repo/Packages/a-1.rpm").exists


def test_one_sync_at_a_time(host: Host) -> None:
    up = upstream(host)
    up.check_output(f"head -c {BIG} /dev/urandom > {REPO}/Packages/e-3.rpm")
    assert host.run("systemctl start --no-block heroes-mirror-sync").rc == 0
    time.sleep(1.0)
    second = host.run("runuser -u mirror -- /usr/local/sbin/heroes-mirror-sync")
    assert second.rc == 75, second.stdout + second.stderr
    assert "another sync of /srv/mirror is running" in second.stderr
    deadline = time.monotonic() + 30
    while syncing(host) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert host.file("/srv/mirror/repo/Packages/e-3.rpm").size == BIG


def test_metadata_replaced_on_disk_is_served_at_once(host: Host) -> None:
    # nginx keeps open files for nginx_open_file_cache_valid (1 s) between looks at the disk;
    # repository metadata is exempt: a repomd.xml renamed over the old one is the next answer
    meta = "/srv/mirror/repo/repodata/repomd.xml"
    old = http(host, "/repo/repodata/repomd.xml")
    for _ in range(3):
        assert http(host, "/repo/repodata/repomd.xml") == old
    host.check_output(f"printf '<repomd>replaced</repomd>\\n' > {meta}.new && mv {meta}.new {meta}")
    assert http(host, "/repo/repodata/repomd.xml").strip() == "<repomd>replaced</repomd>"
    # while the rest of the tree is served from the cache
    conf = host.check_output("nginx -T 2>/dev/null")
    assert "open_file_cache max=10000 inactive=60s;" in conf and "open_file_cache off;" in conf
