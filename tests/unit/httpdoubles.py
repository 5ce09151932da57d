"""Test doubles of web servers for unit tests: Python's file server, quiet, with single byte
ranges (as lighttpd and nginx serve them), and one that cuts its bodies short."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class RangeFileHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        wanted = self.headers.get("Range", "")
        path = Path(self.translate_path(self.path))
        if not wanted.startswith("bytes=") or not path.is_file():
            super().do_GET()
            return
        data = path.read_bytes()
        first, _, last = wanted.removeprefix("bytes=").partition("-")
        start, end = int(first), min(int(last) if last else len(data) - 1, len(data) - 1)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self.wfile.write(data[start:end + 1])


class NoRangeHandler(RangeFileHandler):
    def do_GET(self) -> None:
        http.server.SimpleHTTPRequestHandler.do_GET(self)


class CutShortHandler(RangeFileHandler):
    """Announces 100 bytes, sends 10, closes: a connection cut in the middle of a body."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        self.wfile.write(b"0123456789")
        self.close_connection = True


@contextmanager
def running(server: http.server.ThreadingHTTPServer) -> Iterator[None]:
    """A server answering in a thread for the time of the block, then shut down and closed."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve(root: Path, handler: type[RangeFileHandler] = RangeFileHandler) -> Iterator[str]:
    bound = functools.partial(handler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), bound)
    with running(server):
        yield f"http://127.0.0.1:{server.server_address[1]}"
