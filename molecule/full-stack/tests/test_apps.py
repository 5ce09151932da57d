"""The applications on the whole lab: the news site and the status feed on web1 (Debian 12) and
web2 (Debian 13), served by nginx over TLS and http2 behind the mirror VIP; the status feed reads
the status page's API (a test double of Cachet's on the client, prepare ran
playbooks/lab/status-page.yml); the front page opened in Debian's chromium on the client."""

from __future__ import annotations

import functools
import shlex
import shutil
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest
from ansiblerun import playbook, why
from labhosts import CA_FILE, MIRROR_VIP, ROOT, WEBS, Host, node, with_ca

NEWS = ROOT / "news/lab"
SCREENSHOT = Path("/tmp/heroes-news-front-page.png")  # docs/news-front-page.png is one of these
ATOM = "application/atom+xml"
RSS = "application/rss+xml"


@functools.cache
def client() -> Host:
    return with_ca(node("client"))


def curl(url: str, address: str, *options: str) -> tuple[dict[str, str], str]:
    """GET url from the client with its name resolved to address: (headers, body); the
    pseudo-header ':status' and ':version' hold the status and the HTTP version."""
    name = urlsplit(url).hostname
    out = client().check_output(
        f"curl -sS --http2 --cacert {CA_FILE} --resolve {name}:443:{address} -D - {' '.join(options)} "
        f"-w '\\n--heroes-%{{http_version}}--' {shlex.quote(url)}")
    head, _, rest = out.partition("\r\n\r\n")
    body, _, version = rest.rpartition("\n--heroes-")
    lines = head.splitlines()
    headers = {":status": lines[0].split()[1], ":version": version.strip("-")}
    headers.update((k.strip().lower(), v.strip()) for k, v in (line.split(":", 1) for line in lines[1:]))
    return headers, body


def release(web: str) -> str:
    return str(node(web).file("/srv/news/current").linked_to)


def posts_with(tmp_path: Path, name: str, text: str) -> Path:
    posts = tmp_path / "posts"
    shutil.copytree(NEWS, posts)
    (posts / name).write_text(text)
    return posts


@pytest.mark.parametrize("web", sorted(WEBS))
def test_the_news_site_and_its_feeds_are_served_over_h2_with_their_types(web: str) -> None:
    headers, body = curl("https://news.lab/", WEBS[web])
    assert (headers[":status"], headers[":version"]) == ("200", "2"), headers
    assert headers["content-type"].startswith("text/html") and "strict-transport-security" in headers
    assert "max-age=300" in headers["cache-control"]
    titles = [line.split(":", 1)[1].strip() for post in NEWS.glob("*.md")
              for line in post.read_text().splitlines() if line.startswith("Title:")]
    assert titles and all(title in body for title in titles), body[:2000]
    for path, kind, entries in (("feeds/all.atom", ATOM, "entries"), ("feeds/all.rss", RSS, "entries")):
        headers, text = curl(f"https://news.lab/{path}", WEBS[web])
        assert headers[":status"] == "200" and headers["content-type"] == kind, (path, headers)
        feed = feedparser.parse(text)
        assert not feed.bozo, (path, feed.bozo_exception)
        assert sorted(e.title for e in feed[entries]) == sorted(titles)
        assert all(e.link.startswith("https://news.lab/posts/") for e in feed[entries])


@pytest.mark.parametrize("web", sorted(WEBS))
def test_the_status_feeds_are_served_with_their_types_from_the_status_pages_api(web: str) -> None:
    timer = node(web).service("heroes-statusfeed.timer")
    assert timer.is_running and timer.is_enabled
    for name, kind in (("feed.atom", ATOM), ("feed.rss", RSS)):
        headers, text = curl(f"https://statusfeed.lab/{name}", WEBS[web])
        assert (headers[":status"], headers[":version"]) == ("200", "2"), headers
        assert headers["content-type"] == kind, headers
        feed = feedparser.parse(text)
        assert not feed.bozo, feed.bozo_exception
        # the double's sample: five incidents, four updates, one maintenance
        assert len(feed.entries) == 10
        ids = {e.id for e in feed.entries}
        assert "tag:status.lab,2026-10-25:incident/5/update/52" in ids, ids
        assert all(e.link.startswith("https://status.lab/") for e in feed.entries)
    atom = feedparser.parse(curl("https://statusfeed.lab/feed.atom", WEBS[web])[1])
    assert [link.href for link in atom.feed.links if link.rel == "self"] == ["https://statusfeed.lab/feed.atom"]


@pytest.mark.parametrize("url", ["https://news.lab/", "https://news.lab/feeds/all.atom",
                                 "https://statusfeed.lab/feed.atom", "https://statusfeed.lab/feed.rss"])
def test_a_conditional_get_of_an_unchanged_file_gets_304(url: str) -> None:
    validators = {}
    for web, address in sorted(WEBS.items()):
        headers, _ = curl(url, address)
        assert headers[":status"] == "200", (web, headers)
        etag, modified = headers["etag"], headers["last-modified"]
        validators[web] = (etag, modified)
        for condition in (f"If-None-Match: {etag}", f"If-Modified-Since: {modified}"):
            again, body = curl(url, address, "-H", shlex.quote(condition))
            assert again[":status"] == "304" and body == "", (web, condition, again)
    if url.startswith("https://news.lab/"):
        # a release's files carry its build's time on every host: after the VIP moves, a
        # client's conditional GET still gets 304 (each host writes its own status feeds)
        assert validators["web1"] == validators["web2"], validators


def test_a_failed_build_leaves_the_live_site_and_a_rollback_switches_back(tmp_path: Path) -> None:
    live = {web: release(web) for web in WEBS}
    front = {web: curl("https://news.lab/", address)[1] for web, address in WEBS.items()}
    # a post without a title: the play stops on the controller, no host is touched
    bad = posts_with(tmp_path / "bad", "untitled.md", "Date: 2026-12-06 10:00\n\nNo title.\n")
    proc = playbook("playbooks/web.yml", "--tags", "news", "-e", f"news_content_dir={bad}")
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "untitled.md: no title" in " ".join((proc.stdout + proc.stderr).split()), why(proc)
    assert {web: release(web) for web in WEBS} == live
    assert {web: curl("https://news.lab/", address)[1] for web, address in WEBS.items()} == front
    # a new post: a new release on both hosts, served at once
    good = posts_with(tmp_path / "good", "lab-rollback.md", "Title: A post to roll back\n"
                      "Date: 2026-12-06 11:00\nTags: lab\n\nIt goes away again.\n")
    proc = playbook("playbooks/web.yml", "--tags", "news", "-e", f"news_content_dir={good}")
    assert proc.returncode == 0, why(proc)
    new = {web: release(web) for web in WEBS}
    assert len(set(new.values())) == 1 and set(new.values()).isdisjoint(live.values()), (live, new)
    for address in WEBS.values():
        assert curl("https://news.lab/posts/a-post-to-roll-back.html", address)[0][":status"] == "200"
    # one command back: the release before, on every host; the new post is gone
    proc = playbook("playbooks/web/news-rollback.yml")
    assert proc.returncode == 0, why(proc)
    assert {web: release(web) for web in WEBS} == live
    for web, address in WEBS.items():
        assert curl("https://news.lab/posts/a-post-to-roll-back.html", address)[0][":status"] == "404"
        assert curl("https://news.lab/", address)[1] == front[web]


class Links(HTMLParser):
    """href and src of every element of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.extend(value for key, value in attrs if key in ("href", "src") and value)


def png_size_and_colours(data: bytes) -> tuple[int, int, int]:
    """Width, height and the number of distinct bytes of the decompressed image data: a page
    that rendered nothing is one colour."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    width, height = struct.unpack(">II", data[16:24])
    chunks, at = [], 8
    while at < len(data):
        length = struct.unpack(">I", data[at:at + 4])[0]
        if data[at + 4:at + 8] == b"IDAT":
            chunks.append(data[at + 8:at + 8 + length])
        at += 12 + length
    return width, height, len(set(zlib.decompress(b"".join(chunks))))


def test_the_front_page_renders_in_chromium_and_every_link_on_it_resolves() -> None:
    browser = client()
    chromium = (f"chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
                f"--host-resolver-rules='MAP news.lab {MIRROR_VIP}' --window-size=1280,1024")
    # the page as the browser built it, scripts and all, over TLS the lab CA (in the browser's
    # own certificate store, not curl's) verifies
    dom = browser.run(f"timeout 120 {chromium} --dump-dom https://news.lab/")
    assert dom.rc == 0 and "</html>" in dom.stdout, dom.stderr[-2000:]
    assert "<article>" in dom.stdout and "Heroes news (lab)" in dom.stdout, dom.stdout[:2000]
    assert "ERR_CERT" not in dom.stdout + dom.stderr
    parser = Links()
    parser.feed(dom.stdout)
    links = sorted({urljoin("https://news.lab/", link).split("#")[0] for link in parser.found})
    assert len(links) >= 8, links
    for link in links:
        assert urlsplit(link).hostname == "news.lab", link
        status = curl(link, MIRROR_VIP, "-o", "/dev/null")[0][":status"]
        assert status == "200", (link, status)
    shot = browser.run(f"rm -f /tmp/news.png; timeout 120 {chromium} --hide-scrollbars "
                       "--screenshot=/tmp/news.png https://news.lab/")
    assert shot.rc == 0, shot.stderr[-2000:]
    data = bytes.fromhex(browser.check_output("od -An -v -tx1 /tmp/news.png | tr -d ' \\n'"))
    width, height, colours = png_size_and_colours(data)
    assert (width, height) == (1280, 1024) and colours > 16, (width, height, colours)
    SCREENSHOT.write_bytes(data)
