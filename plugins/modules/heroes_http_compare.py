#!/usr/bin/python
"""Ansible module: compare two web servers URL by URL (status and body), read-only.

Used by the lighttpd -> nginx migration to show that the new server serves what the old one
does before anything is switched. Runs on the host that serves both (stdlib only).
"""

from __future__ import annotations

import hashlib
import html.parser
import http.client
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

DOCUMENTATION = r"""
---
module: heroes_http_compare
short_description: Compare two web servers URL by URL (status code and body checksum)
description:
  - Fetches each path from the old and the new server with the same Host header and compares
    the status code and the SHA-256 of the body; a directory listing (a path ending in /) is
    compared by the names it lists, since two servers render listings differently; a range
    request by status, Content-Range and body. Listings of the old server are crawled to find
    files, up to O(crawl).
  - Changes nothing; fails when any URL differs, naming it. Supports check mode.
options:
  old:
    description: Base URL of the server in service (e.g. http://127.0.0.1:80).
    type: str
    required: true
  new:
    description: Base URL of the server that is to replace it (e.g. http://127.0.0.1:8080).
    type: str
    required: true
  host:
    description: The Host header sent to both.
    type: str
    required: true
  paths:
    description: Paths to compare; those ending in / are listings, and are crawled.
    type: list
    elements: str
    default: [/]
  ranges:
    description: Range requests to compare, each a path and a byte range (C(0-99), C(100-)).
    type: list
    elements: dict
    default: []
  crawl:
    description: At most this many files found in the old server's listings are compared too.
    type: int
    default: 200
  timeout:
    description: Seconds for each request.
    type: float
    default: 10
author: heroes-infra
"""

RETURN = r"""
compared:
  description: Every URL compared, with both statuses and whether they agree.
  type: list
  returned: always
differences:
  description: The URLs that differ, each with why.
  type: list
  returned: always
"""


@dataclass
class Result:
    path: str
    kind: str  # file | listing | range
    old_status: int
    new_status: int
    same: bool
    why: str = ""


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)


def listing_names(body: bytes) -> list[str]:
    """The entries a directory listing names: relative links, unquoted, sorted; the parent,
    sort links (?C=...) and absolute links left out."""
    parser = _Links()
    parser.feed(body.decode("utf-8", "replace"))
    names = set()
    for href in parser.links:
        if href.startswith(("?", "/", "#")) or "://" in href or href in ("../", ".."):
            continue
        names.add(urllib.parse.unquote(href.split("?")[0]))
    return sorted(names)


def fetch(base: str, host: str, path: str, timeout: float,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET path; a connection closed before any response (an nginx worker that was reloading
    when it accepted it, as browsers meet and retry) is tried again, twice at most."""
    for attempt in range(3):
        try:
            return _fetch_once(base, host, path, timeout, headers)
        except (http.client.RemoteDisconnected, ConnectionResetError):
            if attempt == 2:
                raise
            time.sleep(0.2)
    raise AssertionError("unreachable")


def _fetch_once(base: str, host: str, path: str, timeout: float,
                headers: dict[str, str] | None) -> tuple[int, dict[str, str], bytes]:
    url = urllib.parse.urlsplit(base)
    cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    conn = cls(url.hostname or "127.0.0.1", url.port, timeout=timeout)
    try:
        conn.request("GET", urllib.parse.quote(path), headers={"Host": host, **(headers or {})})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def compare_path(old: str, new: str, host: str, path: str, timeout: float) -> tuple[Result, list[str]]:
    """One path; for a listing also the paths it names (for the crawl)."""
    o_status, _, o_body = fetch(old, host, path, timeout)
    n_status, _, n_body = fetch(new, host, path, timeout)
    if path.endswith("/") and o_status == 200:
        o_names, n_names = listing_names(o_body), listing_names(n_body)
        same = o_status == n_status and o_names == n_names
        why = "" if same else (f"status {o_status} != {n_status}" if o_status != n_status else
                               f"listed only by old: {sorted(set(o_names) - set(n_names))}, "
                               f"only by new: {sorted(set(n_names) - set(o_names))}")
        return Result(path, "listing", o_status, n_status, same, why), [path + n for n in o_names]
    same = o_status == n_status and digest(o_body) == digest(n_body)
    why = "" if same else (f"status {o_status} != {n_status}" if o_status != n_status else
                           f"body sha256 {digest(o_body)[:12]} != {digest(n_body)[:12]}")
    return Result(path, "file", o_status, n_status, same, why), []


def compare_range(old: str, new: str, host: str, path: str, byte_range: str, timeout: float) -> Result:
    header = {"Range": f"bytes={byte_range}"}
    o_status, o_headers, o_body = fetch(old, host, path, timeout, header)
    n_status, n_headers, n_body = fetch(new, host, path, timeout, header)
    o_cr, n_cr = o_headers.get("content-range", ""), n_headers.get("content-range", "")
    same = o_status == n_status and o_cr == n_cr and digest(o_body) == digest(n_body)
    why = "" if same else (f"status {o_status} != {n_status}" if o_status != n_status else
                           f"Content-Range {o_cr!r} != {n_cr!r}" if o_cr != n_cr else "body differs")
    return Result(f"{path} bytes={byte_range}", "range", o_status, n_status, same, why)


def compare(old: str, new: str, host: str, paths: Iterable[str], ranges: Iterable[dict[str, str]],
            crawl: int, timeout: float) -> list[Result]:
    results: list[Result] = []
    queue = list(paths)
    seen: set[str] = set()
    found = 0
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        result, more = compare_path(old, new, host, path, timeout)
        results.append(result)
        for item in more:
            if item not in seen and found < crawl:
                found += 1
                queue.append(item)
    for spec in ranges:
        results.append(compare_range(old, new, host, spec["path"], str(spec["range"]), timeout))
    return results


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(
        argument_spec={
            "old": {"type": "str", "required": True},
            "new": {"type": "str", "required": True},
            "host": {"type": "str", "required": True},
            "paths": {"type": "list", "elements": "str", "default": ["/"]},
            "ranges": {"type": "list", "elements": "dict", "default": []},
            "crawl": {"type": "int", "default": 200},
            "timeout": {"type": "float", "default": 10.0},
        },
        supports_check_mode=True,
    )
    p: dict[str, Any] = module.params
    for spec in p["ranges"]:
        if not isinstance(spec.get("path"), str) or not str(spec.get("range", "")).strip():
            module.fail_json(msg=f"ranges items must be {{path: /file, range: 0-99}} (got {spec})")
    try:
        results = compare(p["old"], p["new"], p["host"], p["paths"], p["ranges"], p["crawl"], p["timeout"])
    except OSError as exc:
        module.fail_json(msg=f"could not fetch from {p['old']} or {p['new']} (Host {p['host']}): {exc}")
    compared = [asdict(r) for r in results]
    differences = [r for r in compared if not r["same"]]
    if differences:
        names = "; ".join(f"{d['path']} ({d['why']})" for d in differences[:10])
        module.fail_json(msg=f"{len(differences)} of {len(compared)} URLs differ between {p['old']} and "
                             f"{p['new']}: {names}", compared=compared, differences=differences)
    module.exit_json(changed=False, compared=compared, differences=[],
                     msg=f"{len(compared)} URLs agree between {p['old']} and {p['new']}")


if __name__ == "__main__":
    main()
