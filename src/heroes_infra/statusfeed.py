"""Atom and RSS feeds of a Cachet status page, from Cachet's JSON API v1 (as Cachet 2.4 serves it).

Newer Cachet versions dropped their feeds; this publishes them again. One entry per incident,
**one per incident update**, and one per scheduled maintenance, newest first:

    heroes-statusfeed --config /etc/heroes-statusfeed/config.toml

The configuration (TOML, written by roles/statusfeed) holds:

    api_url       Cachet's API root, e.g. https://status.example.org/api/v1
    site_url      the status page, e.g. https://status.example.org/ (entries without a permalink
                  link there; its host names the tag: ids)
    title         the feeds' title
    atom_file, rss_file   where the feeds are written (temp file + rename, so a reader never sees
                  half a feed; a file whose content did not change is not rewritten)
    atom_url, rss_url     where they are served (the feeds' own links)
    entries       how many entries a feed keeps (the newest)
    components    names or ids of the components whose incidents are published ([] = all)
    timezone      the Cachet instance's timezone (Cachet writes local times without an offset)
    timeout       seconds per API request
    state_dir     where the validators and bodies of the last answers are kept, for conditional
                  requests (If-None-Match / If-Modified-Since)
    token_file    optional: a file holding an API token (sent as X-Cachet-Token)

On any failure of the API (a timeout, an HTTP error, JSON that does not parse, a schema that
changed) the last good feeds stay as they are, one line on standard error says what failed, and
the exit status is 1. Bad configuration exits with 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import sys
import tempfile
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import feedgenerator

# The incidents' status numbers (Cachet's translations, English).
INCIDENT_STATUS = {0: "Scheduled", 1: "Investigating", 2: "Identified", 3: "Watching", 4: "Fixed"}
SCHEDULE_STATUS = {0: "Upcoming", 1: "In Progress", 2: "Complete"}
MAX_PAGES = 1000
USER_AGENT = "heroes-statusfeed (heroes-infra)"
CACHET_TIME = "%Y-%m-%d %H:%M:%S"


class ApiError(Exception):
    """The API did not give what the feeds need; the last good feeds stay."""


class ConfigError(Exception):
    """The configuration is not usable; nothing was fetched."""


@dataclass(frozen=True)
class Config:
    api_url: str
    site_url: str
    title: str
    atom_file: Path
    rss_file: Path
    atom_url: str
    rss_url: str
    entries: int = 50
    components: tuple[str, ...] = ()
    timezone: str = "UTC"
    timeout: float = 10.0
    state_dir: Path | None = None
    token_file: Path | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def authority(self) -> str:
        return urllib.parse.urlsplit(self.site_url).hostname or "localhost"


def _url(value: Any, name: str) -> str:
    parts = urllib.parse.urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http(s) URL such as https://status.example.org/, got {value!r}")
    return str(value)


def load_config(data: Mapping[str, Any]) -> Config:
    """The configuration checked: each error names the key and the expected form."""
    known = set(Config.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown configuration keys {unknown}; known: {sorted(known)}")
    for key in ("api_url", "site_url", "title", "atom_file", "rss_file", "atom_url", "rss_url"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ConfigError(f"{key} must be a non-empty string, got {data.get(key)!r}")
    entries = data.get("entries", 50)
    if not isinstance(entries, int) or isinstance(entries, bool) or not 1 <= entries <= 10000:
        raise ConfigError(f"entries must be a whole number from 1 to 10000, got {entries!r}")
    components = data.get("components", [])
    if not isinstance(components, list) or not all(isinstance(c, str | int) for c in components):
        raise ConfigError(f"components must be a list of component names or ids, got {components!r}")
    timeout = data.get("timeout", 10)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout <= 300:
        raise ConfigError(f"timeout must be a number of seconds from 0 to 300, got {timeout!r}")
    timezone = data.get("timezone", "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigError(
            f"timezone must be an IANA time zone such as Europe/Berlin, got {timezone!r}") from None
    for key in ("atom_file", "rss_file"):
        if not Path(data[key]).is_absolute():
            raise ConfigError(f"{key} must be an absolute path, got {data[key]!r}")
    return Config(
        api_url=_url(data["api_url"], "api_url").rstrip("/"), site_url=_url(data["site_url"], "site_url"),
        title=data["title"], atom_file=Path(data["atom_file"]), rss_file=Path(data["rss_file"]),
        atom_url=_url(data["atom_url"], "atom_url"), rss_url=_url(data["rss_url"], "rss_url"),
        entries=entries, components=tuple(str(c) for c in components), timezone=timezone,
        timeout=float(timeout),
        state_dir=Path(data["state_dir"]) if data.get("state_dir") else None,
        token_file=Path(data["token_file"]) if data.get("token_file") else None)


@dataclass
class HttpCache:
    """Validators and bodies of the last good answers, by URL, for conditional requests."""

    path: Path | None
    entries: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None) -> HttpCache:
        if path is None or not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return cls(path)  # a cache that cannot be read is only a cache: start afresh
        return cls(path, data if isinstance(data, dict) else {})

    def save(self, used: set[str]) -> None:
        if self.path is not None:
            kept = {url: self.entries[url] for url in sorted(used) if url in self.entries}
            write_atomically(self.path, json.dumps(kept, sort_keys=True).encode())


class _SameOrigin(urllib.request.HTTPRedirectHandler):
    """Redirects are followed only on the same scheme, host and port: urllib would send the
    token's header along to wherever a redirect points."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> urllib.request.Request | None:
        if urllib.parse.urlsplit(newurl)[:2] != urllib.parse.urlsplit(req.full_url)[:2]:
            return None  # urllib then raises the 3xx as an HTTPError
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class Api:
    """GET requests to Cachet's API: token, timeout, conditional requests, pagination."""

    def __init__(self, config: Config, cache: HttpCache, token: str | None) -> None:
        self.config, self.cache, self.token = config, cache, token
        self.used: set[str] = set()
        self.requests = 0
        self.not_modified = 0
        base = urllib.parse.urlsplit(config.api_url)
        self.origin = (base.scheme, base.netloc)
        self.opener = urllib.request.build_opener(_SameOrigin())

    def get(self, url: str) -> Any:
        if urllib.parse.urlsplit(url)[:2] != self.origin:
            # a next_page elsewhere would be sent the token: refused
            raise ApiError(f"{url}: a link outside {self.config.api_url} (schema changed?)")
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if self.token:
            headers["X-Cachet-Token"] = self.token
        cached = self.cache.entries.get(url)
        if cached and cached.get("etag"):
            headers["If-None-Match"] = cached["etag"]
        if cached and cached.get("last_modified"):
            headers["If-Modified-Since"] = cached["last_modified"]
        request = urllib.request.Request(url, headers=headers)
        self.requests += 1
        try:
            with self.opener.open(request, timeout=self.config.timeout) as response:
                body = response.read().decode("utf-8")
                etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
        except urllib.error.HTTPError as err:
            if err.code == 304 and cached is not None:
                self.not_modified += 1
                body, etag, modified = cached["body"], cached.get("etag"), cached.get("last_modified")
            else:
                raise ApiError(f"{url}: HTTP {err.code} {err.reason}") from None
        except (TimeoutError, urllib.error.URLError, OSError, UnicodeDecodeError) as err:
            reason = getattr(err, "reason", err)
            raise ApiError(f"{url}: {reason or type(err).__name__}") from None
        try:
            data = json.loads(body)
        except ValueError as err:
            raise ApiError(f"{url}: the answer is not JSON ({err})") from None
        self.used.add(url)
        if etag or modified:
            self.cache.entries[url] = {"body": body, "etag": etag or "", "last_modified": modified or ""}
        return data

    def pages(self, path: str, query: Mapping[str, str]) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list, following meta.pagination.links.next_page."""
        url: str | None = f"{self.config.api_url}/{path}?{urllib.parse.urlencode(query)}"
        seen: set[str] = set()
        while url is not None:
            if url in seen or len(seen) >= MAX_PAGES:
                raise ApiError(f"{url}: pagination loops or passes {MAX_PAGES} pages")
            seen.add(url)
            page = self.get(url)
            if not isinstance(page, dict) or not isinstance(page.get("data"), list):
                raise ApiError(f"{url}: no 'data' list in the answer (schema changed?)")
            for item in page["data"]:
                if not isinstance(item, dict):
                    raise ApiError(f"{url}: an item of 'data' is not an object (schema changed?)")
                yield item
            links = ((page.get("meta") or {}).get("pagination") or {}).get("links") or {}
            url = links.get("next_page") if isinstance(links, dict) else None
            if url is not None and not isinstance(url, str):
                raise ApiError(f"{url!r}: next_page is not a URL (schema changed?)")


def _field(item: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    value = item.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ApiError(f"{what} has no valid '{key}' (got {value!r}; schema changed?)")
    return value


def _status(item: Mapping[str, Any], names: Mapping[int, str]) -> str:
    """Cachet's own words for the status, or its number's English name."""
    human = item.get("human_status")
    if isinstance(human, str) and human:
        return human
    number = item.get("status")
    return names.get(number, "") if isinstance(number, int) else ""


def cachet_time(value: Any, zone: ZoneInfo, what: str) -> dt.datetime:
    """Cachet's local 'YYYY-MM-DD HH:MM:SS' in the instance's timezone, as an aware UTC time.
    In the hour repeated when DST ends the first (summer) reading is taken."""
    if not isinstance(value, str):
        raise ApiError(f"{what}: a time is {value!r}, not 'YYYY-MM-DD HH:MM:SS' (schema changed?)")
    try:
        local = dt.datetime.strptime(value, CACHET_TIME)
    except ValueError:
        raise ApiError(f"{what}: the time {value!r} is not 'YYYY-MM-DD HH:MM:SS' (schema changed?)") from None
    return local.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)


@dataclass(frozen=True)
class Entry:
    kind: str  # incident, update, maintenance
    tag: str
    title: str
    link: str
    published: dt.datetime
    updated: dt.datetime
    content: str
    categories: tuple[str, ...]


def _tag(config: Config, day: dt.datetime, path: str) -> str:
    """A tag: URI (RFC 4151) that does not change between runs: host, creation date, path."""
    return f"tag:{config.authority},{day.date().isoformat()}:{path}"


def collect(config: Config, api: Api) -> list[Entry]:
    """The entries of the feeds, newest first, at most config.entries."""
    zone = config.zone
    components: dict[int, Mapping[str, Any]] = {}
    for item in api.pages("components", {"per_page": "100"}):
        components[_field(item, "id", int, "a component")] = item
    wanted = set(config.components)

    def component_of(incident: Mapping[str, Any]) -> tuple[bool, tuple[str, ...]]:
        cid = incident.get("component_id") or 0
        if not isinstance(cid, int):
            raise ApiError(f"incident {incident.get('id')}: component_id {cid!r} (schema changed?)")
        comp = components.get(cid)
        if cid == 0:
            return not wanted, ()
        if comp is None:  # deleted since: the incident stays, named by id
            return not wanted or str(cid) in wanted, (f"component {cid} (deleted)",)
        name = str(comp.get("name", cid))
        status = comp.get("status_name") or comp.get("status")
        label = f"{name}: {status}" if status not in (None, "") else name
        return not wanted or name in wanted or str(cid) in wanted, (label,)

    entries: list[Entry] = []
    incidents = []
    for incident in api.pages("incidents", {"per_page": "100", "sort": "id", "order": "desc"}):
        iid = _field(incident, "id", int, "an incident")
        what = f"incident {iid}"
        include, categories = component_of(incident)
        if not include or incident.get("visible", 1) in (0, False):
            continue
        name = _field(incident, "name", str, what)
        status = _status(incident, INCIDENT_STATUS)
        created = cachet_time(incident.get("created_at"), zone, what)
        occurred = incident.get("occurred_at") or incident.get("scheduled_at") or incident.get("created_at")
        link = incident.get("permalink") or urllib.parse.urljoin(config.site_url, f"incidents/{iid}")
        entry = Entry("incident", _tag(config, created, f"incident/{iid}"),
                      f"{name} ({status})" if status else name, str(link),
                      cachet_time(occurred, zone, what), cachet_time(incident.get("updated_at"), zone, what),
                      str(incident.get("message") or ""), categories)
        incidents.append((entry, incident, name))
        entries.append(entry)
    # the updates of the incidents that can still be among the newest entries
    incidents.sort(key=lambda pair: (pair[0].updated, pair[0].tag), reverse=True)
    for entry, incident, name in incidents[: config.entries]:
        iid = incident["id"]
        updates = incident.get("updates")
        if not isinstance(updates, list):
            updates = list(api.pages(f"incidents/{iid}/updates", {"per_page": "100"}))
        for update in updates:
            uid = _field(update, "id", int, f"an update of incident {iid}")
            what = f"update {uid} of incident {iid}"
            status = _status(update, INCIDENT_STATUS)
            created = cachet_time(update.get("created_at"), zone, what)
            link = update.get("permalink") or f"{entry.link}#update-{uid}"
            changed = cachet_time(update.get("updated_at") or update.get("created_at"), zone, what)
            entries.append(Entry("update", _tag(config, created, f"incident/{iid}/update/{uid}"),
                                 f"{name}: {status}" if status else f"{name}: update", str(link), created,
                                 changed, str(update.get("message") or ""), entry.categories))
    for schedule in api.pages("schedules", {"per_page": "100"}):
        sid = _field(schedule, "id", int, "a scheduled maintenance")
        what = f"scheduled maintenance {sid}"
        name = _field(schedule, "name", str, what)
        status = _status(schedule, SCHEDULE_STATUS)
        created = cachet_time(schedule.get("created_at"), zone, what)
        start = cachet_time(schedule.get("scheduled_at") or schedule.get("created_at"), zone, what)
        link = schedule.get("permalink") or urllib.parse.urljoin(config.site_url, f"schedules/{sid}")
        entries.append(Entry("maintenance", _tag(config, created, f"schedule/{sid}"),
                             f"Maintenance: {name} ({status})" if status else f"Maintenance: {name}",
                             str(link), start, cachet_time(schedule.get("updated_at"), zone, what),
                             str(schedule.get("message") or ""), ("maintenance",)))
    entries.sort(key=lambda e: (e.updated, e.published, e.tag), reverse=True)
    return entries[: config.entries]


class _Fixed:
    """Feeds whose own date is their newest entry's (the same input gives the same bytes)."""

    newest: dt.datetime

    def latest_post_date(self) -> dt.datetime:
        return self.newest


class AtomFeed(_Fixed, feedgenerator.Atom1Feed):  # type: ignore[misc]
    pass


class RssFeed(_Fixed, feedgenerator.Rss201rev2Feed):  # type: ignore[misc]
    pass


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def render(config: Config, entries: Sequence[Entry]) -> tuple[bytes, bytes]:
    """The Atom and the RSS feed of the entries, as bytes (UTF-8)."""
    out = []
    for cls, url in ((AtomFeed, config.atom_url), (RssFeed, config.rss_url)):
        feed = cls(title=config.title, link=config.site_url,
                   description=f"{config.title}: incidents and maintenance",
                   feed_url=url, feed_guid=_tag(config, EPOCH, "statusfeed"), language="en")
        feed.newest = max((e.updated for e in entries), default=EPOCH)
        for e in entries:
            # Atom carries the message as content, RSS as the description (escaped HTML both)
            atom = cls is AtomFeed
            feed.add_item(title=e.title, link=e.link, description=None if atom else e.content,
                          content=e.content if atom else None, unique_id=e.tag, pubdate=e.published,
                          updateddate=e.updated, categories=list(e.categories))
        buffer = io.StringIO()
        feed.write(buffer, "utf-8")
        out.append(buffer.getvalue().encode("utf-8"))
    return out[0], out[1]


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> bool:
    """Write through a temp file in the same directory and a rename; False when unchanged."""
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def run(config: Config) -> str:
    """Fetch, render and publish; the summary line. Raises ApiError with nothing written."""
    token = None
    if config.token_file is not None:
        try:
            token = config.token_file.read_text().strip() or None
        except OSError as err:
            raise ConfigError(f"token_file {config.token_file}: {err.strerror}") from None
    cache = HttpCache.load(config.state_dir / "http-cache.json" if config.state_dir else None)
    api = Api(config, cache, token)
    entries = collect(config, api)
    atom, rss = render(config, entries)
    changed = [str(p) for p, data in ((config.atom_file, atom), (config.rss_file, rss))
               if write_atomically(p, data)]
    cache.save(api.used)
    kinds = {k: sum(1 for e in entries if e.kind == k) for k in ("incident", "update", "maintenance")}
    return (f"{len(entries)} entries ({kinds['incident']} incidents, {kinds['update']} updates, "
            f"{kinds['maintenance']} maintenance) from {api.requests} requests "
            f"({api.not_modified} not modified); "
            + (f"written: {', '.join(changed)}" if changed else "feeds unchanged"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="heroes-statusfeed", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="the configuration (TOML)")
    args = parser.parse_args(argv)
    try:
        config = load_config(tomllib.loads(args.config.read_text()))
    except (OSError, ValueError, ConfigError) as err:
        print(f"heroes-statusfeed: configuration {args.config}: {err}", file=sys.stderr)
        return 2
    try:
        print(f"heroes-statusfeed: {run(config)}")
    except ConfigError as err:
        print(f"heroes-statusfeed: configuration {args.config}: {err}", file=sys.stderr)
        return 2
    except ApiError as err:
        print(f"heroes-statusfeed: {err}; the last good feeds are kept", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"heroes-statusfeed: writing the feeds: {err}; the last good feeds are kept", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
