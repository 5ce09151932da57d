"""heroes-matomo-install against a double of Matomo's web installer (InstallerDouble: a plain-HTTP
server that answers the installer's steps as Matomo 5.3 did in the lab, ../shared/LAB.md). The
real installer runs in the full-stack scenario on app1."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import pytest

from heroes_infra.matomo_install import (
    STEPS,
    InstallError,
    Session,
    ensure_sites,
    install,
    page_error,
    page_text,
)

SPEC: dict[str, Any] = {
    "connect": "127.0.0.1", "port": 0, "server_name": "matomo.example", "certificate": "",
    "database": {"host": "192.0.2.20", "port": 3306, "user": "matomo", "password": "db-secret-123",
                 "name": "matomo", "prefix": "matomo_"},
    "superuser": {"login": "admin", "password": "admin-secret-1", "email": "admin@example.org"},
    "site": {"name": "Heroes", "url": "https://heroes.example"}, "timezone": "UTC", "restart": False,
}
REDIRECTS = {"databaseSetup", "setupSuperUser", "firstWebsiteSetup", "finished"}


class InstallerDouble(http.server.BaseHTTPRequestHandler):
    """Matomo's installer pages: a session cookie from the first answer on, a 302 after each
    accepted form, an error box when told to fail a step, the erase link when tables exist."""

    seen: ClassVar[list[tuple[str, str, dict[str, str], str]]] = []
    fail: ClassVar[str] = ""
    crash: ClassVar[str] = ""  # the step whose PHP dies: HTTP 500 and PHP's own words
    tables_exist: ClassVar[bool] = False
    # the reporting API's part: its sites, and the superuser's password
    sites: ClassVar[list[dict[str, str]]] = []
    password: ClassVar[str] = "admin-secret-1"

    def _api(self, form: dict[str, str]) -> Any:
        method = form["method"]
        if method == "UsersManager.createAppSpecificTokenAuth":
            if form.get("passwordConfirmation") != self.password:
                return {"result": "error", "message": "The current password you entered is not correct."}
            return {"value": "token-123"}
        if form.get("token_auth") != "token-123":
            return {"result": "error", "message": "You must be logged in to access this functionality."}
        if method == "SitesManager.getAllSites":
            return {site["idsite"]: site for site in self.sites}
        if method == "SitesManager.addSite":
            idsite = str(len(self.sites) + 1)
            self.sites.append({"idsite": idsite, "name": form["siteName"], "main_url": form["urls"]})
            return {"value": int(idsite)}
        if method == "SitesManager.updateSite":
            next(s for s in self.sites if s["idsite"] == form["idSite"])["name"] = form["siteName"]
            return {"result": "success", "message": "ok"}
        return {"result": "error", "message": f"unknown method {method}"}

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, form: dict[str, str]) -> None:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        action = query.get("action", "")
        self.seen.append((self.command, action, {**query, **form}, self.headers.get("Cookie", "")))
        # as Matomo's page: its script names the erase link whether the link is there or not
        body = f'<html><h2>{action}</h2><script>$("#eraseAllTables").click(function () {{}});</script>'

        status = 302 if action in REDIRECTS and self.command == "POST" else 200
        if action == self.fail:
            status = 200
            body += ('<div class="alert alert-danger">Error while trying to connect to the database server: '
                     "SQLSTATE[HY000] [1045] Access denied</div>")
        if action == self.crash:
            status = 500
            body = ("<html><head><style>p {color: red}</style><script>var x = 1;</script></head><body>"
                    "<p>PHP Fatal error: Uncaught PDOException: SQLSTATE[HY000] [2006] MySQL server has "
                    "gone away (connecting with password db-secret-123)</p></body></html>")
        if action == "tablesCreation" and self.tables_exist and query.get("deleteTables") != "1":
            body += '<a href="index.php?module=Installation&amp;action=tablesCreation&amp;deleteTables=1" ' \
                    'id="eraseAllTables">'
        data = body.encode()
        self.send_response(status)
        if status == 302:
            # as Matomo on Galera: the first site's id is the writer's auto_increment_offset
            after = "&site_idSite=3&site_name=Heroes" if action == "firstWebsiteSetup" else ""
            self.send_header("Location", f"index.php?module=Installation&action=next{after}")
        if not self.headers.get("Cookie"):
            self.send_header("Set-Cookie", "MATOMO_SESSID=abc123; path=/; HttpOnly")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer({})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        if "module=API" in self.path:
            self.seen.append(("POST", form["method"], form, ""))
            data = json.dumps(self._api(form)).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self._answer(form)


@contextmanager
def double(fail: str = "", tables_exist: bool = False, crash: str = "") -> Iterator[int]:
    InstallerDouble.seen = []
    InstallerDouble.fail, InstallerDouble.tables_exist, InstallerDouble.crash = fail, tables_exist, crash
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), InstallerDouble)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def session(port: int) -> Session:
    return Session("127.0.0.1", port, "matomo.example", None, timeout=5)


def test_the_steps_run_in_order_with_one_session_and_the_inventorys_values() -> None:
    with double() as port:
        install(SPEC, session(port))
    steps = [action for _method, action, _data, _cookie in InstallerDouble.seen]
    assert tuple(steps) == STEPS
    assert all(cookie == "MATOMO_SESSID=abc123" for _m, _a, _d, cookie in InstallerDouble.seen[1:])
    forms = {action: data for method, action, data, _c in InstallerDouble.seen if method == "POST"}
    assert forms["databaseSetup"]["host"] == "192.0.2.20"
    assert forms["databaseSetup"]["adapter"] == "PDO\\MYSQL"
    assert forms["databaseSetup"]["password"] == "db-secret-123"
    assert forms["setupSuperUser"]["password_bis"] == "admin-secret-1"
    assert forms["firstWebsiteSetup"]["url"] == "https://heroes.example"
    # the next steps name the site by the id Matomo's database gave it, not 1
    after = {action: data for _m, action, data, _c in InstallerDouble.seen
             if action in ("trackingCode", "finished")}
    assert after["trackingCode"]["site_idSite"] == after["finished"]["site_idSite"] == "3"


def test_a_port_other_than_3306_goes_with_the_host() -> None:
    with double() as port:
        install({**SPEC, "database": {**SPEC["database"], "port": 3307}}, session(port))
    forms = {action: data for method, action, data, _c in InstallerDouble.seen if method == "POST"}
    assert forms["databaseSetup"]["host"] == "192.0.2.20:3307"


def test_matomos_error_stops_the_run_naming_the_step_and_no_later_step_runs() -> None:
    with double(fail="databaseSetup") as port, pytest.raises(InstallError) as caught:
        install(SPEC, session(port))
    assert str(caught.value).startswith("databaseSetup: Matomo says: Error while trying to connect")
    assert "db-secret-123" not in str(caught.value)
    assert [a for _m, a, _d, _c in InstallerDouble.seen] == ["systemCheck", "databaseSetup"]


def test_an_unexpected_answer_stops_the_run_with_the_pages_words_and_no_secret() -> None:
    with double(crash="trackingCode") as port, pytest.raises(InstallError) as caught:
        install(SPEC, session(port))
    said = str(caught.value)
    assert said.startswith("trackingCode: expected HTTP 200, got 500; the page says: PHP Fatal error: "
                           "Uncaught PDOException: SQLSTATE[HY000] [2006] MySQL server has gone away"), said
    assert "db-secret-123" not in said and "***" in said
    assert "color" not in said and "var x" not in said  # the page's style and script are not words
    assert [a for _m, a, _d, _c in InstallerDouble.seen][-1] == "trackingCode"


def test_page_text_is_short_and_hides_every_secret() -> None:
    assert page_text("<p>a  <b>b</b></p>", ["b"]) == "a ***"
    assert page_text("x" * 400, []) == "x" * 300 + "..."
    assert page_text("", ["secret"]) == ""


def test_existing_tables_are_refused_unless_an_unfinished_install_is_restarted() -> None:
    with double(tables_exist=True) as port, pytest.raises(InstallError, match="already holds Matomo tables"):
        install(SPEC, session(port))
    assert "setupSuperUser" not in [a for _m, a, _d, _c in InstallerDouble.seen]
    with double(tables_exist=True) as port:
        install({**SPEC, "restart": True}, session(port))
    tables = [d for _m, a, d, _c in InstallerDouble.seen if a == "tablesCreation"]
    assert tables[0]["deleteTables"] == "1"


def test_page_error_reads_the_error_box_as_text() -> None:
    page = '<div class="alert alert-danger">The &quot;matomo&quot; <b>user</b>\n  is wrong</div>'
    assert page_error(page) == 'The "matomo" user is wrong'
    assert page_error("<div class='x'>fine</div>") == ""


def test_the_inventorys_sites_are_added_or_renamed_by_their_url_and_others_are_left_alone() -> None:
    with double() as port:
        InstallerDouble.sites = [
            {"idsite": "1", "name": "Heroes", "main_url": "https://heroes.example"},
            {"idsite": "2", "name": "Old name", "main_url": "https://Blog.example/"},
            {"idsite": "3", "name": "Not in the inventory", "main_url": "https://other.example"}]
        wanted = [{"name": "Heroes", "url": "https://heroes.example"},
                  {"name": "Blog", "url": "https://blog.example"},
                  {"name": "Status", "url": "https://status.example"}]
        done = ensure_sites({**SPEC, "sites": wanted}, session(port))
        assert done == {"added": ["https://status.example"], "renamed": ["https://blog.example"]}
        assert [(s["name"], s["main_url"]) for s in InstallerDouble.sites] == [
            ("Heroes", "https://heroes.example"), ("Blog", "https://Blog.example/"),
            ("Not in the inventory", "https://other.example"), ("Status", "https://status.example")]
        # a second run finds nothing to do
        assert ensure_sites({**SPEC, "sites": wanted}, session(port)) == {"added": [], "renamed": []}
    token = next(data for _m, action, data, _c in InstallerDouble.seen
                 if action == "UsersManager.createAppSpecificTokenAuth")
    assert token["expireHours"] == "1"


def test_a_wrong_superuser_password_stops_the_sites_with_matomos_words() -> None:
    refused = "createAppSpecificTokenAuth: Matomo says: The current"
    with double() as port, pytest.raises(InstallError, match=refused):
        InstallerDouble.sites = []
        ensure_sites({**SPEC, "superuser": {**SPEC["superuser"], "password": "wrong-password"},
                      "sites": [{"name": "x", "url": "https://x.example"}]}, session(port))
    assert InstallerDouble.sites == []
