"""The migration's URL-by-URL comparison (plugins/modules/heroes_http_compare.py), against two
local HTTP servers (Python's http.server, test doubles of lighttpd and nginx)."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import load_file
from tests.unit.httpdoubles import serve

hc = load_file("plugins/modules/heroes_http_compare.py", "heroes_http_compare")


def tree(root: Path, extra: dict[str, bytes] | None = None) -> Path:
    files = {"repo/Packages/a-1.rpm": b"a" * 5000, "repo/repodata/repomd.xml": b"<repomd/>\n",
             "check.txt": b"hello\n", **(extra or {})}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


@pytest.fixture()
def old(tmp_path: Path) -> Iterator[str]:
    with serve(tree(tmp_path / "old")) as url:
        yield url


def test_two_servers_of_one_tree_agree_on_files_listings_and_ranges(old: str, tmp_path: Path) -> None:
    with serve(tree(tmp_path / "new")) as new:
        ranges = [{"path": "/repo/Packages/a-1.rpm", "range": "100-199"}]
        results = hc.compare(old, new, "mirror.lab", ["/", "/missing"], ranges, 200, 5)
        kinds = {(r.path, r.kind) for r in results}
        assert ("/repo/Packages/a-1.rpm", "file") in kinds and ("/repo/", "listing") in kinds
        assert ("/missing", "file") in kinds  # 404 on both: the same
        assert all(r.same for r in results), [r for r in results if not r.same]
        [ranged] = [r for r in results if r.kind == "range"]
        assert ranged.old_status == 206


def test_a_file_that_differs_is_named(old: str, tmp_path: Path) -> None:
    with serve(tree(tmp_path / "new", {"repo/repodata/repomd.xml": b"<repomd>new</repomd>\n"})) as new:
        results = hc.compare(old, new, "mirror.lab", ["/"], [], 200, 5)
        [diff] = [r for r in results if not r.same]
        assert diff.path == "/repo/repodata/repomd.xml" and "body sha256" in diff.why


def test_a_file_missing_from_the_new_server_is_named_in_its_listing(old: str, tmp_path: Path) -> None:
    new_root = tree(tmp_path / "new")
    (new_root / "check.txt").unlink()
    with serve(new_root) as new:
        results = hc.compare(old, new, "mirror.lab", ["/"], [], 200, 5)
        bad = {r.path: r.why for r in results if not r.same}
        assert "listed only by old: ['check.txt']" in bad["/"]
        assert bad["/check.txt"] == "status 200 != 404"


def test_the_crawl_is_bounded(old: str, tmp_path: Path) -> None:
    with serve(tree(tmp_path / "new")) as new:
        results = hc.compare(old, new, "mirror.lab", ["/"], [], 1, 5)
        assert len(results) == 2  # the root listing and the first entry it names


def test_listings_are_compared_by_the_names_they_list() -> None:
    nginx = (b'<html><body><h1>Index of /repo/</h1><hr><pre><a href="../">../</a>\n'
             b'<a href="Packages/">Packages/</a> 01-Jan-2026\n'
             b'<a href="a%20b.rpm">a b.rpm</a></pre></body></html>')
    lighttpd = (b'<table><tr><td><a href="../">Parent Directory</a>/</td></tr>'
                b'<tr><td><a href="Packages/">Packages</a>/</td></tr>'
                b'<tr><td><a href="a%20b.rpm">a b.rpm</a></td></tr><a href="?C=N;O=D">Name</a></table>')
    assert hc.listing_names(nginx) == hc.listing_names(lighttpd) == ["Packages/", "a b.rpm"]


def closing_server(closes: int) -> tuple[str, threading.Thread]:
    """A listener that closes its first `closes` connections without a response (an nginx
    worker reloading), then answers one request with 200 and "ok"."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve_them() -> None:
        with listener:
            for _ in range(closes):
                conn, _ = listener.accept()
                conn.close()
            conn, _ = listener.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    thread = threading.Thread(target=serve_them, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", thread


def test_a_connection_closed_before_any_response_is_tried_again() -> None:
    base, thread = closing_server(2)
    status, _, body = hc.fetch(base, "mirror.lab", "/", 5.0)
    assert (status, body) == (200, b"ok")
    thread.join(5)


def test_a_server_that_keeps_closing_is_an_error() -> None:
    base, _ = closing_server(3)
    # a close before the request was read is a FIN (RemoteDisconnected), after it an RST
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        hc.fetch(base, "mirror.lab", "/", 5.0)
