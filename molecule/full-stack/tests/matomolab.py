"""What the full-stack tests share about Matomo on app1: requests from the lab's client (curl,
matomo.lab resolved to app1, verified with the lab CA), the reporting API with a token of the
superuser, and a tracking client that runs in the background and records which visits Matomo
acknowledged (HTTP 204), so that a fault test can look for every one of them on every node."""

from __future__ import annotations

import functools
import json
import shlex
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from labhosts import CA_FILE, Host, node, vault, with_ca

APP = "172.30.0.41"
CURL = (f"curl -sS --max-time 20 --cacert {CA_FILE} --resolve matomo.lab:443:{APP} "
        f"--resolve piwik.lab:443:{APP}")


@functools.cache
def client() -> Host:
    return with_ca(node("client"))


def status(url: str, *options: str) -> int:
    return int(client().check_output(f"{CURL} -o /dev/null -w '%{{http_code}}' {' '.join(options)} "
                                     f"{shlex.quote(url)}"))


def site_id(database: str = "matomo") -> str:
    """The id of the inventory's first site (https://news.lab) in Matomo's tables (prefix piwik_,
    the lab's): the database gave it, and on Galera the first site is 1 only when the writer's
    auto_increment_offset is (a node that left and came back can change it)."""
    query = (f"SET SESSION wsrep_sync_wait=1; SELECT idsite FROM {database}.piwik_site "
             "WHERE main_url = 'https://news.lab' ORDER BY idsite LIMIT 1")
    found = str(node("db1").check_output(f"mariadb -N -B -e {shlex.quote(query)}")).strip()
    assert found.isdigit(), f"no site https://news.lab in {database}.piwik_site"
    return found


def track_url(script: str, page: str, host: str = "matomo.lab", idsite: str = "") -> str:
    """A tracking request for a new visit to https://news.lab/<page> (the site of site_id())."""
    return (f"https://{host}/{script}?idsite={idsite or site_id()}&rec=1&new_visit=1&send_image=0"
            f"&action_name=lab&url=https%3A%2F%2Fnews.lab%2F{page}")


@functools.cache
def token() -> str:
    password = vault("matomo")["vault_matomo_superuser_password"]
    return str(api(method="UsersManager.createAppSpecificTokenAuth", userLogin="heroes",
                   passwordConfirmation=password, description="full-stack")["value"])


def api(**params: str) -> Any:
    """Matomo's reporting API (POST, JSON), from the client."""
    form = " ".join(f"--data-urlencode {shlex.quote(f'{k}={v}')}" for k, v in
                    {"module": "API", "format": "json", **params}.items())
    return json.loads(client().check_output(f"{CURL} {form} https://matomo.lab/index.php"))


def visits(days: int) -> int:
    """The first site's visits on its last ``days`` days, today included, in the site's time zone
    (the lab's Europe/Berlin), by the reporting API after core:archive. core:archive recomputes
    a day's reports only once they are older than time_before_today_archive_considered_outdated
    (15 min): the days are invalidated first."""
    app, idsite = node("app1"), site_id()
    site = api(method="SitesManager.getSiteFromId", idSite=idsite, token_auth=token())
    today = datetime.now(ZoneInfo(str(site["timezone"]))).date()
    span = f"{today - timedelta(days=days - 1)},{today}" if days > 1 else str(today)
    app.check_output("runuser -u matomo -- php /usr/share/matomo/console core:invalidate-report-data "
                     f"--dates={span} --sites={idsite} --periods=day")
    app.check_output("systemctl start matomo-archive.service")
    summary = api(method="VisitsSummary.get", idSite=idsite, period="day", date=span, token_auth=token())
    if days == 1:  # one day: its figures, or [] without a visit
        return int(summary["nb_visits"]) if isinstance(summary, dict) else 0
    # several: per day its figures, or [] for a day without a visit
    return sum(int(figures["nb_visits"]) for figures in summary.values() if isinstance(figures, dict))


def recent_visits() -> int:
    """The visits of the site's yesterday and today: a count that keeps growing across the
    site's midnight (23:00 UTC in winter), for the tests that compare counts before and after."""
    return visits(2)


def visits_today() -> int:
    """The visits of the site's today: what Matomo's own pages show as today's."""
    return visits(1)


def start_tracking(tag: str, interval: float = 0.1, script: str = "matomo.php",
                   host: str = "matomo.lab", database: str = "matomo") -> None:
    """A tracking client on the lab's client: one new visit per request to news.lab/<tag>-<n>
    until /tmp/<tag>.stop exists; /tmp/<tag>.log holds "<n> <HTTP status>" per request. The
    site's id is read from ``database`` (the old Piwik's, before the move off its names)."""
    url = track_url(script, tag + "-$i", host, site_id(database))
    loop = (f"i=0; while [ ! -e /tmp/{tag}.stop ]; do i=$((i+1)); "
            f"code=$({CURL} -o /dev/null -w '%{{http_code}}' \"{url}\" "
            f"|| echo 000); echo \"$i $code\" >> /tmp/{tag}.log; sleep {interval}; done")
    client().check_output(f"rm -f /tmp/{tag}.stop /tmp/{tag}.log; nohup sh -c {shlex.quote(loop)} "
                          f">/dev/null 2>&1 &")


def finish_tracking(tag: str) -> tuple[set[int], dict[int, str]]:
    """Stop the tracking client: (the visits Matomo acknowledged, the others with their status)."""
    host = client()
    host.check_output(f"touch /tmp/{tag}.stop; sleep 1")
    acknowledged, failed = set(), {}
    for line in host.check_output(f"cat /tmp/{tag}.log").splitlines():
        number, code = line.split()
        if code == "204":
            acknowledged.add(int(number))
        else:
            failed[int(number)] = code
    return acknowledged, failed


def visits_on_node(name: str, tag: str) -> set[int]:
    """The numbers of the visits to news.lab/<tag>-<n> in Matomo's tables on a Galera node,
    read once the node has applied everything the cluster committed before the query."""
    query = ("SET SESSION wsrep_sync_wait=1; SELECT name FROM matomo.piwik_log_action "
             f"WHERE type = 1 AND name LIKE 'news.lab/{tag}-%'")
    out = node(name).check_output(f"mariadb -N -B -e {shlex.quote(query)}")
    return {int(line.rsplit("-", 1)[1]) for line in out.split()}
