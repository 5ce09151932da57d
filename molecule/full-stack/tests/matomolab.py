"""What the full-stack tests share about Matomo on app1: requests from the lab's client (curl,
matomo.lab resolved to app1, verified with the lab CA), the reporting API with a token of the
superuser, and a tracking client that runs in the background and records which visits Matomo
acknowledged (HTTP 204), so that a fault test can look for every one of them on every node."""

from __future__ import annotations

import functools
import json
import shlex
from typing import Any

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


def track_url(script: str, page: str, host: str = "matomo.lab") -> str:
    """A tracking request for a new visit to https://news.lab/<page> (site 1)."""
    return (f"https://{host}/{script}?idsite=1&rec=1&new_visit=1&send_image=0&action_name=lab"
            f"&url=https%3A%2F%2Fnews.lab%2F{page}")


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


def visits_today() -> int:
    """Site 1's visits today by the reporting API, after core:archive (the role's service).
    core:archive recomputes today's reports only once they are older than
    time_before_today_archive_considered_outdated (15 min): they are invalidated first."""
    app = node("app1")
    app.check_output("runuser -u matomo -- php /usr/share/matomo/console core:invalidate-report-data "
                     "--dates=today --sites=1 --periods=day")
    app.check_output("systemctl start matomo-archive.service")
    summary = api(method="VisitsSummary.get", idSite="1", period="day", date="today", token_auth=token())
    return int(summary["nb_visits"])


def start_tracking(tag: str, interval: float = 0.1, script: str = "matomo.php",
                   host: str = "matomo.lab") -> None:
    """A tracking client on the lab's client: one new visit per request to news.lab/<tag>-<n>
    until /tmp/<tag>.stop exists; /tmp/<tag>.log holds "<n> <HTTP status>" per request."""
    loop = (f"i=0; while [ ! -e /tmp/{tag}.stop ]; do i=$((i+1)); "
            f"code=$({CURL} -o /dev/null -w '%{{http_code}}' \"{track_url(script, tag + '-$i', host)}\" "
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
