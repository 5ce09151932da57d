"""A test double of Cachet's JSON API v1 (as Cachet 2.4 serves it), for heroes-statusfeed's tests.

Cachet itself cannot be installed here. This serves the documented shapes: lists under ``data``
with ``meta.pagination`` (total, count, per_page, current_page, total_pages, links.next_page and
previous_page), local times 'YYYY-MM-DD HH:MM:SS' without an offset, incidents, their updates
(``/incidents/{id}/updates``), components and schedules. It pages by its own ``page_size``
whatever per_page asks, sends an ETag and answers If-None-Match with 304, and can be told to fail:
an HTML error page, a slow answer, JSON that does not parse, or a changed schema.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class CachetDouble:
    incidents: list[dict[str, Any]] = field(default_factory=list)
    updates: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    components: list[dict[str, Any]] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 2
    fail: str = ""  # "", "error", "slow", "json", "schema", "foreign-next"
    slow_seconds: float = 3.0
    etags: bool = True
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    base: str = ""

    def listing(self, path: str) -> list[dict[str, Any]] | None:
        parts = path.strip("/").split("/")
        if parts[:2] != ["api", "v1"]:
            return None
        rest = parts[2:]
        if rest == ["incidents"]:
            return sorted(self.incidents, key=lambda i: -int(i["id"]))
        if rest == ["components"]:
            return self.components
        if rest == ["schedules"]:
            return self.schedules
        if len(rest) == 3 and rest[0] == "incidents" and rest[2] == "updates":
            return sorted(self.updates.get(int(rest[1]), []), key=lambda u: u["created_at"], reverse=True)
        return None

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, str, str]:
        """(status, content type, body) for a GET."""
        if self.fail == "error":
            html = "<html><body><h1>Whoops, looks like something went wrong.</h1></body></html>"
            return 500, "text/html", html
        items = self.listing(path)
        if items is None:
            return 404, "application/json", json.dumps({"errors": [{"status": 404, "title": "Not Found"}]})
        if self.fail == "json":
            return 200, "application/json", '{"data": [{"id": 1, '
        if self.fail == "schema":
            return 200, "application/json", json.dumps({"incidents": items})
        page = int(query.get("page", "1"))
        pages = max(1, -(-len(items) // self.page_size))
        chunk = items[(page - 1) * self.page_size: page * self.page_size]

        def link(number: int) -> str | None:
            if not 1 <= number <= pages:
                return None
            if self.fail == "foreign-next":
                return f"http://elsewhere.example{path}?page={number}"
            return f"{self.base}{path}?{urllib.parse.urlencode({**query, 'page': str(number)})}"

        body = {"meta": {"pagination": {
            "total": len(items), "count": len(chunk), "per_page": self.page_size, "current_page": page,
            "total_pages": pages, "links": {"next_page": link(page + 1), "previous_page": link(page - 1)}}},
            "data": chunk}
        return 200, "application/json", json.dumps(body)


@contextmanager
def serve(double: CachetDouble) -> Iterator[str]:
    """The double on 127.0.0.1 (a free port); yields its API root, .../api/v1."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            double.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            if double.fail == "slow":
                time.sleep(double.slow_seconds)
            status, ctype, body = double.answer(url.path, query)
            data = body.encode()
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            if status == 200 and double.etags and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            if status == 200 and double.etags:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    double.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{double.base}/api/v1"
    finally:
        server.shutdown()
        server.server_close()
