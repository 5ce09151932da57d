"""Matomo on app1 (Debian 13's package) against the lab's Galera cluster through the database
VIP, over TLS: tracking through matomo.php and the old piwik.php counted by the reporting API
after core:archive, what nginx refuses, the archiving timer, and the database account seen from
the cluster. Visits under a rolling restart of the nodes: test_failover.py."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

from labhosts import node, vault
from matomolab import APP, CURL, api, client, recent_visits, status, token, track_url, visits_today

SCREENSHOT = Path("/tmp/heroes-matomo-dashboard.png")  # docs/matomo-dashboard.png is one of these


def test_visits_through_matomo_php_and_piwik_php_are_counted_after_core_archive() -> None:
    before = recent_visits()
    for script in ("matomo.php", "piwik.php"):
        assert status(track_url(script, f"counted-by-{script}")) == 204, script
    assert recent_visits() == before + 2


def test_the_inventorys_sites_are_in_matomo() -> None:
    sites = api(method="SitesManager.getAllSites", token_auth=token())
    found = {s["main_url"]: s["name"] for s in (sites.values() if isinstance(sites, dict) else sites)}
    assert found == {"https://news.lab": "Heroes news (lab)",
                     "https://statusfeed.lab": "Heroes status feed (lab)"}, found


def test_only_matomos_entry_points_and_assets_are_served() -> None:
    assert status("https://matomo.lab/index.php") == 200
    for path in ("/matomo.js", "/piwik.js", "/plugins/Morpheus/images/logo.svg"):
        assert status(f"https://matomo.lab{path}") == 200, path
    denied = {path: status(f"https://matomo.lab{path}") for path in (
        "/config/config.ini.php", "/config/common.config.ini.php", "/tmp/", "/lang/en.json",
        "/core/Piwik.php", "/vendor/autoload.php", "/.git/config", "/plugins/Morpheus/plugin.json",
        "/js/tracker.php", "/console")}
    assert all(code in (403, 404) for code in denied.values()), denied
    body = client().check_output(f"{CURL} https://matomo.lab/config/config.ini.php")
    assert "password" not in body and "DO NOT REMOVE" not in body
    version = client().check_output(f"{CURL} -o /dev/null -w '%{{http_version}}' https://matomo.lab/matomo.js")
    assert version == "2"


def test_the_archiving_timer_is_active_and_ran_as_matomo() -> None:
    app = node("app1")
    timer = app.service("matomo-archive.timer")
    assert timer.is_enabled and timer.is_running
    assert app.check_output("systemctl show -p Result --value matomo-archive.service") == "success"
    assert app.check_output("systemctl show -p User --value matomo-archive.service") == "matomo"


def test_matomo_reaches_the_cluster_through_the_vip_over_tls_as_app1() -> None:
    """Matomo's own settings (config.ini.php and the role's common.config.ini.php, merged as
    Matomo merges them) connect through the VIP over TLS verified by the lab CA, and the cluster
    sees app1's address (the balancers' PROXY protocol)."""
    app = node("app1")
    console = "runuser -u matomo -- php /usr/share/matomo/console"
    config = json.loads(app.check_output(f"{console} config:get --section=database --format=json"))
    seen = {key: config[key] for key in ("host", "enable_ssl", "ssl_ca", "ssl_no_verify")}  # no password
    assert seen == {"host": "172.30.0.20", "enable_ssl": 1, "ssl_ca": "/etc/heroes-matomo/database-ca.pem",
                    "ssl_no_verify": 0}, seen
    password = vault("all")["vault_matomo_database_password"]
    php = ("$p = new PDO('mysql:host=172.30.0.20;dbname=matomo', 'matomo', getenv('P'), "
           "[PDO::MYSQL_ATTR_SSL_CA => '/etc/heroes-matomo/database-ca.pem', "
           "PDO::MYSQL_ATTR_SSL_VERIFY_SERVER_CERT => true]); "
           "echo $p->query('SELECT CURRENT_USER()')->fetchColumn(), ' ', "
           "$p->query(\"SHOW SESSION STATUS LIKE 'Ssl_version'\")->fetch()[1];")
    out = app.check_output(f"P={shlex.quote(password)} runuser -u matomo --preserve-environment -- "
                           f"php -r {shlex.quote(php)}")
    user, version = out.split()
    assert user == f"matomo@{APP}" and version.startswith("TLSv1."), out
    grants = node("db1").check_output("mariadb -N -B -e \"SHOW GRANTS FOR 'matomo'@'172.30.0.41'\"")
    # no LOCK TABLES: Galera does not replicate table locks (roles/matomo/README.md, Galera fitness)
    assert "ALL PRIVILEGES" not in grants and "LOCK TABLES" not in grants, grants
    assert "CREATE TEMPORARY TABLES" in grants, grants


def test_the_dashboard_opens_in_chromium_logged_in_as_the_superuser_and_shows_the_visits() -> None:
    """Debian's chromium on the client logs in through Matomo's form as the superuser (the
    password on stdin) and opens the Visitors overview (heroes-matomoshot, over the DevTools
    protocol); it shows the number of visits the reporting API gives."""
    visits = visits_today()
    host = client()
    container = str(host.ansible.get_variables().get("ansible_host", "client"))
    shot = subprocess.run(
        ["docker", "exec", "-i", container, "heroes-matomoshot", "--name", "matomo.lab", "--address", APP,
         "--user", "heroes", "--out", "/root/matomo-dashboard.png"],
        input=vault("matomo")["vault_matomo_superuser_password"], capture_output=True, text=True,
        timeout=180, check=False)
    assert shot.returncode == 0, shot.stderr[-2000:]
    text = json.loads(shot.stdout)["text"]
    # "2,702 visits, 1 unique visitors": Matomo groups the thousands
    shown = re.search(r"(\d[\d,]*) visits,", text)
    assert shown is not None and int(shown[1].replace(",", "")) == visits, (visits, text[:1000])
    assert "Visits Overview" in text and "Sign in" not in text
    data = subprocess.run(["docker", "exec", container, "cat", "/root/matomo-dashboard.png"],
                          capture_output=True, check=True).stdout
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000, len(data)
    SCREENSHOT.write_bytes(data)
