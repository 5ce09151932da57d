"""A test double of Cachet's JSON API v1 (as Cachet 2.4 serves it), for heroes-statusfeed's tests.

Cachet itself cannot be installed here. This serves the documented shapes: lists under ``data``
with ``meta.pagination`` (total, count, per_page, current_page, total_pages, links.next_page and
previous_page), local times 'YYYY-MM-DD HH:MM:SS' without an offset, incidents, their updates
(``/incidents/{id}/updates``), components and schedules. It pages by its own ``page_size``
whatever per_page asks, sends an ETag and answers If-None-Match with 304, and can be told to fail:
an HTML error page, a slow answer, JSON that does not parse, or a changed schema.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class CachetDouble:
    incidents: list[dict[str, Any]] = field(default_factory=list)
    updates: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    components: list[dict[str, Any]] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 2
    fail: str = ""  # "", "error", "slow", "json", "schema", "foreign-next", "redirect-away"
    fail_file: Path | None = None  # when set, its content is the failure mode of each request
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

    def mode(self) -> str:
        if self.fail_file is not None and self.fail_file.exists():
            return self.fail_file.read_text().strip()
        return self.fail

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, str, str]:
        """(status, content type, body) for a GET."""
        fail = self.mode()
        if fail == "error":
            html = "<html><body><h1>Whoops, looks like something went wrong.</h1></body></html>"
            return 500, "text/html", html
        items = self.listing(path)
        if items is None:
            return 404, "application/json", json.dumps({"errors": [{"status": 404, "title": "Not Found"}]})
        if fail == "json":
            return 200, "application/json", '{"data": [{"id": 1, '
        if fail == "schema":
            return 200, "application/json", json.dumps({"incidents": items})
        page = int(query.get("page", "1"))
        pages = max(1, -(-len(items) // self.page_size))
        chunk = items[(page - 1) * self.page_size: page * self.page_size]

        def link(number: int) -> str | None:
            if not 1 <= number <= pages:
                return None
            if fail == "foreign-next":
                return f"http://elsewhere.example{path}?page={number}"
            return f"{self.base}{path}?{urllib.parse.urlencode({**query, 'page': str(number)})}"

        body = {"meta": {"pagination": {
            "total": len(items), "count": len(chunk), "per_page": self.page_size, "current_page": page,
            "total_pages": pages, "links": {"next_page": link(page + 1), "previous_page": link(page - 1)}}},
            "data": chunk}
        return 200, "application/json", json.dumps(body)


def make_server(double: CachetDouble, port: int = 0, bind: str = "127.0.0.1") -> ThreadingHTTPServer:
    """The double's HTTP server on bind (127.0.0.1 by default) and port (0: a free one)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            double.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            if double.mode() == "slow":
                time.sleep(double.slow_seconds)
            if double.mode() == "redirect-away":
                self.send_response(302)
                self.send_header("Location", f"http://elsewhere.example{self.path}")
                self.end_headers()
                return
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

    server = ThreadingHTTPServer((bind, port), Handler)
    server.daemon_threads = True
    double.base = f"http://{bind}:{server.server_address[1]}"
    return server


@contextmanager
def serve(double: CachetDouble) -> Iterator[str]:
    """The double on 127.0.0.1 (a free port), in a thread; yields its API root, .../api/v1."""
    # imported here: this file also runs alone on a scenario's host (main), without tests/
    from tests.unit.httpdoubles import running

    with running(make_server(double)):
        yield f"{double.base}/api/v1"


def incident(iid: int, name: str, created: str, updated: str, component: int = 0,
             **extra: Any) -> dict[str, Any]:
    return {"id": iid, "component_id": component, "name": name, "status": 4, "human_status": "Fixed",
            "visible": 1, "stickied": False, "message": f"incident {iid}", "occurred_at": created,
            "created_at": created, "updated_at": updated, "deleted_at": None, "user_id": 1,
            "permalink": f"https://status.lab/incidents/{iid}", **extra}


STATUS = {1: "Investigating", 2: "Identified", 3: "Watching", 4: "Fixed"}
MESSAGE = '<p>Überlast & <b>"Paketquellen"</b> ]]> <script>x</script> — 雪</p>'


def update(uid: int, iid: int, status: int, created: str, message: str = "") -> dict[str, Any]:
    return {"id": uid, "incident_id": iid, "status": status, "human_status": STATUS[status],
            "message": message or f"update {uid}", "user_id": 1, "created_at": created,
            "updated_at": created, "permalink": f"https://status.lab/incidents/{iid}#update-{uid}"}


def sample() -> CachetDouble:
    """Five incidents over three pages; incident 5 with three updates, one message with HTML and
    non-ASCII; incident 4 on a deleted component; one scheduled maintenance. Local times of an
    instance in Europe/Berlin, across both changes of daylight saving time in 2026."""
    return CachetDouble(
        incidents=[
            incident(1, "Mirror slow", "2026-01-10 09:00:00", "2026-01-10 10:00:00", component=1),
            incident(2, "Database failover", "2026-02-01 12:00:00", "2026-02-01 12:30:00", component=2),
            incident(3, "Matomo down", "2026-03-29 01:30:00", "2026-03-29 03:30:00", component=3),
            incident(4, "Old service", "2026-04-01 08:00:00", "2026-04-01 08:00:00", component=7),
            incident(5, "News site errors", "2026-10-25 02:30:00", "2026-10-25 04:00:00", component=1,
                     message=MESSAGE),
        ],
        updates={5: [update(51, 5, 1, "2026-10-25 02:40:00", MESSAGE),
                     update(52, 5, 2, "2026-10-25 03:10:00"), update(53, 5, 4, "2026-10-25 04:00:00")],
                 2: [update(21, 2, 4, "2026-02-01 12:30:00")]},
        components=[{"id": 1, "name": "Mirror", "status": 1, "status_name": "Operational"},
                    {"id": 2, "name": "Database", "status": 1, "status_name": "Operational"},
                    {"id": 3, "name": "Matomo", "status": 4, "status_name": "Major Outage"}],
        schedules=[{"id": 9, "name": "Galera upgrade", "message": "Rolling, no downtime expected.",
                    "status": 0, "human_status": "Upcoming", "scheduled_at": "2026-11-02 22:00:00",
                    "completed_at": None, "created_at": "2026-10-30 08:00:00",
                    "updated_at": "2026-10-30 08:00:00"}])


def main() -> None:
    """Serve the sample on an address and port until stopped (the statusfeed role's molecule
    scenario on 127.0.0.1, the lab's status page on the client)."""
    parser = argparse.ArgumentParser(description="a test double of Cachet's API v1 (the sample data)")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--bind", default="127.0.0.1", help="the address it listens on (and its links name)")
    parser.add_argument("--fail-file", type=Path, help="a file whose content is the failure mode")
    args = parser.parse_args()
    double = sample()
    double.fail_file = args.fail_file
    make_server(double, args.port, args.bind).serve_forever()


if __name__ == "__main__":
    main()
