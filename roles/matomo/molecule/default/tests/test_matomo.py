"""Matomo from Debian 13's package, installed by the role through its web installer, against a
local MariaDB (the scenario's stand-in for the cluster's VIP): what runs, who owns what, what
nginx refuses, and tracking through matomo.php and piwik.php counted by the reporting API after
core:archive (run by the role's archiving service)."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import Any

import pytest
import testinfra.utils.ansible_runner
import yaml

Host = Any
ROOT = Path(__file__).resolve().parents[5]
LAB_CA = yaml.safe_load((ROOT / "inventory/lab/group_vars/all/lab_pki.yml").read_text())["lab_ca_cert"]
CA = "/usr/local/share/heroes-lab-ca.pem"
CURL = f"curl -sS --resolve matomo.lab:443:127.0.0.1 --cacert {CA}"
CODE = "/usr/share/matomo"

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("matomo")


@pytest.fixture()
def app(host: Host) -> Host:
    host.run(f"printf '%s' {shlex.quote(LAB_CA)} > {CA}")
    return host


def status(host: Host, path: str, *options: str) -> int:
    return int(host.check_output(f"{CURL} -o /dev/null -w '%{{http_code}}' {' '.join(options)} "
                                 f"{shlex.quote('https://matomo.lab' + path)}"))


def test_matomo_runs_in_its_own_pool_as_its_own_user(host: Host) -> None:
    assert host.service("php8.4-fpm").is_running
    pool = host.file("/etc/heroes-matomo/php-fpm.conf").content_string
    assert "user = matomo" in pool and "listen = /run/matomo-php-fpm/matomo.sock" in pool
    assert "process_control_timeout = 30s" in pool
    assert host.service("matomo-php-fpm").is_running and host.service("matomo-php-fpm").is_enabled
    assert not host.file("/etc/php/8.4/fpm/pool.d/matomo.conf").exists
    socket = host.file("/run/matomo-php-fpm/matomo.sock")
    assert socket.exists and socket.user == "www-data" and socket.mode == 0o660
    workers = host.check_output("ps -o user= -C php-fpm8.4 | sort | uniq -c")
    assert "matomo" in workers, workers


def test_the_config_is_private_and_the_inventorys_settings_are_in_common(host: Host) -> None:
    config = host.file(f"{CODE}/config")
    assert (config.user, config.group, config.mode) == ("matomo", "matomo", 0o750)
    local = host.file(f"{CODE}/config/config.ini.php")
    assert (local.user, local.mode) == ("matomo", 0o640)
    assert "trusted_hosts" not in host.check_output(f"cat {CODE}/config/config.ini.php")
    assert "installation_in_progress" not in host.check_output(f"cat {CODE}/config/config.ini.php")
    common = host.file(f"{CODE}/config/common.config.ini.php").content_string
    for line in ('trusted_hosts[] = "matomo.lab"', "force_ssl = 1", "enable_browser_archiving_triggering = 0",
                 "login_session_not_remembered_idle_timeout = 3600"):
        assert line in common, line
    tmp = host.file("/var/cache/matomo/tmp")
    assert (tmp.user, tmp.mode) == ("matomo", 0o750)
    # the package's postinst keeps them so through upgrades
    overrides = host.check_output("dpkg-statoverride --list")
    assert f"matomo matomo 750 {CODE}/config" in overrides


def test_matomo_answers_over_tls_and_http2_and_its_entry_points_only_run(app: Host) -> None:
    assert status(app, "/index.php") == 200
    assert app.check_output(f"{CURL} -o /dev/null -w '%{{http_version}}' https://matomo.lab/index.php") == "2"
    for path in ("/matomo.js", "/piwik.js", "/plugins/Morpheus/images/logo.svg"):
        assert status(app, path) == 200, path
    denied = {path: status(app, path) for path in (
        "/config/config.ini.php", "/config/global.ini.php", "/tmp/", "/lang/en.json", "/core/Piwik.php",
        "/vendor/autoload.php", "/.git/config", "/.htaccess", "/plugins/Morpheus/plugin.json",
        "/plugins/CoreHome/Controller.php", "/libs/README.md", "/js/tracker.php", "/console")}
    assert all(code in (403, 404) for code in denied.values()), denied
    assert "DO NOT REMOVE" not in app.check_output(f"{CURL} https://matomo.lab/config/config.ini.php")


def api(host: Host, **params: str) -> Any:
    """A call of Matomo's reporting API (POST, JSON)."""
    form = " ".join(f"--data-urlencode {shlex.quote(f'{k}={v}')}" for k, v in
                    {"module": "API", "format": "json", **params}.items())
    return json.loads(host.check_output(f"{CURL} {form} https://matomo.lab/index.php"))


def test_visits_through_matomo_php_and_piwik_php_are_counted_after_core_archive(app: Host) -> None:
    page = "action_name=molecule&url=https%3A%2F%2Fsite.lab%2F"
    for script in ("matomo.php", "piwik.php"):
        assert status(app, f"/{script}?idsite=1&rec=1&new_visit=1&send_image=0&{page}{script}") == 204, script
    app.check_output("systemctl start matomo-archive.service")
    token = api(app, method="UsersManager.createAppSpecificTokenAuth", userLogin="molecule",
                passwordConfirmation="molecule-superuser-password", description="molecule")["value"]
    visits = api(app, method="VisitsSummary.get", idSite="1", period="day", date="today", token_auth=token)
    assert visits["nb_visits"] == 2, visits
    # the inventory's sites: the first from the installer, the second from the reporting API
    sites = api(app, method="SitesManager.getAllSites", token_auth=token)
    found = sorted((s["name"], s["main_url"]) for s in (sites.values() if isinstance(sites, dict) else sites))
    assert found == [("Molecule blog", "https://blog.lab"), ("Molecule site", "https://site.lab")], found


def test_reports_are_archived_by_the_timer_not_the_browser(host: Host) -> None:
    timer = host.service("matomo-archive.timer")
    assert timer.is_enabled and timer.is_running
    unit = host.file("/etc/systemd/system/matomo-archive.service").content_string
    assert "User=matomo" in unit and "core:archive" in unit
    result = host.run("systemctl show -p Result --value matomo-archive.service")
    assert result.stdout.strip() == "success"


def test_the_database_is_at_the_codes_version(host: Host) -> None:
    out = host.check_output(f"runuser -u matomo -- php {CODE}/console core:update --yes --no-interaction")
    assert "Everything is already up to date" in out
    assert host.file("/etc/heroes-matomo/updated-to").content_string.strip() == \
        host.check_output(f"runuser -u matomo -- php {CODE}/console core:version").strip()
