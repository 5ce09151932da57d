#!/usr/bin/python3
"""Matomo's web installer, driven over HTTPS from the Matomo host itself (roles/matomo).

Matomo has no unattended installer and its console has no install command, so the role walks
the installer's pages as a browser would, with one session cookie: systemCheck, databaseSetup,
tablesCreation, setupSuperUser, firstWebsiteSetup, trackingCode, finished. Every step's answer
is checked; a page that shows Matomo's error box stops the run with that error.

With the argument ``sites`` it makes the inventory's sites (``"sites": [{"name", "url"}, ...]``
in the same JSON) exist in Matomo through its reporting API, and prints what it added or
renamed as JSON.

Input: JSON on stdin (secrets never on the command line)::

    {"connect": "127.0.0.1", "port": 443, "server_name": "matomo.example.org",
     "certificate": "<PEM the vhost serves>",   # pinned: the answer must come from that vhost
     "database": {"host": "192.0.2.20", "port": 3306, "user": "matomo", "password": "...",
                  "name": "matomo", "prefix": "matomo_"},
     "superuser": {"login": "admin", "password": "...", "email": "admin@example.org"},
     "site": {"name": "Heroes", "url": "https://example.org"}, "timezone": "UTC",
     "restart": false}   # true: an install stopped midway; Matomo's unfinished tables are dropped

The connection goes to ``connect`` (this host's nginx) with ``server_name`` as TLS SNI and Host
header, so no name resolution is needed. Exit 0 when Matomo says it is installed; 1 with a
message naming the step otherwise.
"""

from __future__ import annotations

import html
import http.client
import json
import re
import socket
import ssl
import sys
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

STEPS = ("systemCheck", "databaseSetup", "tablesCreation", "setupSuperUser", "firstWebsiteSetup",
         "trackingCode", "finished")
ERROR_BOX = re.compile(r'<div[^>]*class="[^"]*alert-danger[^"]*"[^>]*>(.*?)</div>', re.S | re.I)
TAG = re.compile(r"<[^>]+>")
SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)


class InstallError(RuntimeError):
    """A step of the installer failed; the message names it and carries Matomo's words."""


def page_error(body: str) -> str:
    """Matomo's error box on a page, as plain text ("" when there is none)."""
    found = ERROR_BOX.search(body)
    if not found:
        return ""
    return " ".join(html.unescape(TAG.sub(" ", found.group(1))).split())


class Session:
    """One cookie jar, one host: HTTPS to ``connect`` with ``server_name`` as SNI and Host."""

    def __init__(self, connect: str, port: int, server_name: str, certificate: str | None,
                 timeout: float = 120.0) -> None:
        self.connect, self.port, self.server_name, self.timeout = connect, port, server_name, timeout
        self.cookies: dict[str, str] = {}
        self.context: ssl.SSLContext | None = None
        if certificate is not None:
            # the served certificate itself is the trust anchor (it is this host's own vhost)
            self.context = ssl.create_default_context(cadata=certificate)
            self.context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN

    def _connection(self) -> http.client.HTTPConnection:
        if self.context is None:  # plain HTTP: the unit tests' double only
            return http.client.HTTPConnection(self.connect, self.port, timeout=self.timeout)
        context = self.context
        server_name = self.server_name

        class Pinned(http.client.HTTPSConnection):
            def connect(self) -> None:
                sock = socket.create_connection((self.host, self.port), self.timeout)
                self.sock = context.wrap_socket(sock, server_hostname=server_name)

        return Pinned(self.connect, self.port, timeout=self.timeout, context=context)

    def request(self, action: str, query: Mapping[str, str] | None = None,
                form: Mapping[str, str] | None = None) -> tuple[int, str, str]:
        """GET (or POST ``form``) index.php?module=Installation&action=...; (status, location, body)."""
        return self.send({"module": "Installation", "action": action, **(query or {})}, form)

    def api(self, method: str, **params: str) -> Any:
        """Matomo's reporting API (POST, JSON); Matomo's own error answer raises InstallError."""
        status, _location, body = self.send({"module": "API"}, {"method": method, "format": "json", **params})
        try:
            answer = json.loads(body)
        except ValueError:
            raise InstallError(f"{method}: HTTP {status}, not JSON: {body[:200]!r}") from None
        if isinstance(answer, dict) and answer.get("result") == "error":
            raise InstallError(f"{method}: Matomo says: {answer.get('message', '')}")
        return answer

    def send(self, params: Mapping[str, str], form: Mapping[str, str] | None) -> tuple[int, str, str]:
        path = "/index.php?" + urllib.parse.urlencode(params)
        headers = {"Host": self.server_name, "User-Agent": "heroes-matomo-install"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = self._connection()
        try:
            conn.request("POST" if form is not None else "GET", path, body=body, headers=headers)
            answer = conn.getresponse()
            text = answer.read().decode("utf-8", "replace")
            for value in answer.headers.get_all("Set-Cookie") or []:
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            return answer.status, answer.headers.get("Location", ""), text
        finally:
            conn.close()


def page_text(body: str, secrets: Iterable[str] = (), limit: int = 300) -> str:
    """The start of a page as plain text (scripts and styles dropped), each of ``secrets`` written
    as ***: what an unexpected answer (PHP's fatal error, a proxy's page) says, safe to print."""
    text = " ".join(html.unescape(TAG.sub(" ", SCRIPT.sub(" ", body))).split())
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text[:limit] + ("..." if len(text) > limit else "")


def expect(step: str, result: tuple[int, str, str], redirect: bool, secrets: Iterable[str] = ()) -> None:
    """A step went well when Matomo moves on (302) or, for a page, shows it without an error.
    Any other answer stops the run with the page's own words (``secrets`` never among them)."""
    status, _location, body = result
    error = page_error(body)
    if error:
        raise InstallError(f"{step}: Matomo says: {page_text(error, secrets)}")
    wanted = (302, 303) if redirect else (200,)
    if status not in wanted:
        said = page_text(body, secrets)
        raise InstallError(f"{step}: expected HTTP {' or '.join(map(str, wanted))}, got {status}"
                           + (f"; the page says: {said}" if said else " (an empty page)"))


def install(spec: Mapping[str, Any], session: Session) -> None:
    db, user, site = spec["database"], spec["superuser"], spec["site"]
    secrets = (str(db["password"]), str(user["password"]))
    host = db["host"] if int(db.get("port", 3306)) == 3306 else f"{db['host']}:{db['port']}"
    expect("systemCheck", session.request("systemCheck"), redirect=False, secrets=secrets)
    expect("databaseSetup", session.request("databaseSetup", form={
        "type": "InnoDB", "host": host, "username": db["user"], "password": db["password"],
        "dbname": db["name"], "tables_prefix": db["prefix"], "adapter": "PDO\\MYSQL",
        "schema": "Mariadb"}), redirect=True, secrets=secrets)
    # an install stopped midway left Matomo's tables without a superuser or a site: start them over
    query = {"deleteTables": "1"} if spec.get("restart") else {}
    tables = session.request("tablesCreation", query=query)
    # the page's script mentions #eraseAllTables always; the link itself is there only for tables
    # that existed before
    if 'id="eraseAllTables"' in tables[2]:
        raise InstallError(f"tablesCreation: the database {db['name']} already holds Matomo tables "
                           f"(prefix {db['prefix']}); the role restarts an unfinished install only")
    expect("tablesCreation", tables, redirect=False, secrets=secrets)
    expect("setupSuperUser", session.request("setupSuperUser", form={
        "login": user["login"], "password": user["password"], "password_bis": user["password"],
        "email": user["email"]}), redirect=True, secrets=secrets)
    website = session.request("firstWebsiteSetup", form={
        "siteName": site["name"], "url": site["url"], "timezone": spec.get("timezone", "UTC"),
        "ecommerce": "0"})
    expect("firstWebsiteSetup", website, redirect=True, secrets=secrets)
    # the site's id is the database's: on Galera, auto_increment_offset is the node's place in the
    # cluster, so the first site is not always 1 (Matomo names it in the redirect to the next step)
    idsite = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(website[1]).query)).get("site_idSite", "")
    if not idsite.isdigit():
        raise InstallError(f"firstWebsiteSetup: no site id in the redirect to the next step ({website[1]!r})")
    names = {"site_idSite": idsite, "site_name": site["name"]}
    expect("trackingCode", session.request("trackingCode", query=names), redirect=False, secrets=secrets)
    expect("finished", session.request("finished", query=names, form={"anonymise_ip": "1"}), redirect=True,
           secrets=secrets)


def _url(text: str) -> str:
    return text.strip().rstrip("/").lower()


def ensure_sites(spec: Mapping[str, Any], session: Session) -> dict[str, list[str]]:
    """The inventory's sites in Matomo, matched by their main URL: the missing ones added, the
    renamed ones renamed; a site Matomo has beyond them is left alone (it holds visits). The
    API token this needs is made for the run and expires within the hour."""
    user = spec["superuser"]
    token = str(session.api("UsersManager.createAppSpecificTokenAuth", userLogin=user["login"],
                            passwordConfirmation=user["password"], description="heroes-infra converge",
                            expireHours="1")["value"])
    existing = session.api("SitesManager.getAllSites", token_auth=token)
    sites = existing.values() if isinstance(existing, dict) else existing
    by_url = {_url(str(site["main_url"])): site for site in sites}
    done: dict[str, list[str]] = {"added": [], "renamed": []}
    for wanted in spec["sites"]:
        site = by_url.get(_url(wanted["url"]))
        if site is None:
            session.api("SitesManager.addSite", siteName=wanted["name"], urls=wanted["url"], token_auth=token)
            done["added"].append(wanted["url"])
        elif site["name"] != wanted["name"]:
            session.api("SitesManager.updateSite", idSite=str(site["idsite"]), siteName=wanted["name"],
                        token_auth=token)
            done["renamed"].append(wanted["url"])
    return done


def main(argv: list[str]) -> int:
    """``heroes-matomo-install [sites]``: the installer (default), or the inventory's sites."""
    spec = json.load(sys.stdin)
    plain = "--plain-http-for-tests" in argv
    session = Session(spec["connect"], int(spec["port"]), spec["server_name"],
                      None if plain else spec["certificate"])
    try:
        if "sites" in argv:
            print(json.dumps(ensure_sites(spec, session)))
            return 0
        install(spec, session)
    except (InstallError, OSError, http.client.HTTPException, KeyError) as exc:
        print(f"heroes-matomo-install: {exc}", file=sys.stderr)
        return 1
    print("heroes-matomo-install: installed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
