"""The move off the Piwik names (playbooks/apps/matomo-from-piwik.yml) on app1, after the other
Matomo tests: refused while app1 has no Piwik; then app1 is made a Piwik-era host
(playbooks/lab/legacy-piwik.yml: the database piwik with piwik_ tables, the account piwik,
/var/www/piwik, the pool and vhost piwik, /etc/cron.d/piwik), a tracking client sends visits to
https://piwik.lab/piwik.php all along, the plan is shown under --check --diff, the move is
stopped on purpose after the switch (Matomo on the views, the tables not moved), run again to
the end, and once more (nothing left to change)."""

from __future__ import annotations

import functools
import json
import re
import shlex
import time
from typing import Any

import matomolab
from ansiblerun import playbook, recap, why
from labhosts import node
from matomolab import finish_tracking, start_tracking, status

MIGRATION = "playbooks/apps/matomo-from-piwik.yml"
CONFIRM = ("-e", "matomo_migration_confirm=yes")
NODES = ("db1", "db2", "db3")
ARCHIVE_TABLE = re.compile(r"piwik_archive_(numeric|blob)_\d{4}_\d{2}")


def on_app1(command: str) -> str:
    return str(node("app1").check_output(command))


def sql(name: str, query: str) -> str:
    """A query on a Galera node once it has applied what the cluster committed before it."""
    query = "SET SESSION wsrep_sync_wait=1; " + query
    return str(node(name).check_output(f"mariadb -N -B -e {shlex.quote(query)}"))


@functools.cache
def runs() -> dict[str, Any]:
    """The whole story, once for the module's tests."""
    out: dict[str, Any] = {"refused": playbook(MIGRATION, *CONFIRM)}
    legacy = playbook("playbooks/lab/legacy-piwik.yml", "-e", "lab_legacy_piwik_confirm=yes")
    if legacy.returncode != 0:  # what app1's nginx heard from PHP says more than the status
        logs = node("app1").run("tail -n 15 /var/log/nginx/error.log /var/log/php*-fpm.log").stdout
        raise AssertionError(f"{why(legacy)}\n--- app1's nginx and PHP-FPM logs ---\n{logs}")
    start_tracking("piwik", script="piwik.php", host="piwik.lab", database="piwik")
    try:
        time.sleep(3)
        out["plan"] = playbook(MIGRATION, "--check", "--diff")
        out["stopped"] = playbook(MIGRATION, *CONFIRM, "-e", "matomo_migration_stop_after=switch")
        time.sleep(3)  # the tracker goes through the views meanwhile
        out["finished"] = playbook(MIGRATION, *CONFIRM)
        time.sleep(2)
    finally:
        out["acknowledged"], out["failed"] = finish_tracking("piwik")
    out["again"] = playbook(MIGRATION, *CONFIRM)
    out["moved"] = json.loads(on_app1("cat /etc/heroes-matomo/moved-tables.json"))
    out["report"] = json.loads(on_app1("cat /etc/heroes-matomo/old-names-report.json"))
    return out


def test_a_host_without_piwik_is_refused_before_anything_changes() -> None:
    refused = runs()["refused"]
    assert refused.returncode != 0
    assert "No Piwik to move on app1: expected the database piwik" in refused.stdout, why(refused)
    assert all(counts["changed"] == 0 for counts in recap(refused.stdout).values()), refused.stdout[-3000:]


def test_check_diff_shows_the_plan_and_the_report_and_changes_nothing() -> None:
    plan = runs()["plan"]
    assert plan.returncode == 0, why(plan)
    assert all(counts["changed"] == 0 for counts in recap(plan.stdout).values()), plan.stdout[-3000:]
    text = " ".join(plan.stdout.split())  # the callback folds long lines
    assert "app1: legacy" in text and "Plan: views in matomo over the tables of piwik" in text
    # what is still named piwik, each with its contact from the inventory
    for line in ("LEFT db1 | database | piwik | contact: the lab database tier: dba@heroes.lab",
                 "LEFT db1 | database account | piwik@172.30.0.41 | contact: the lab database tier",
                 "LEFT app1 | file | /etc/cron.d/piwik | contact: the lab statistics: infra@heroes.lab",
                 "LEFT app1 | file | /var/www/piwik |", "LEFT app1 | file | /etc/nginx/vhosts.d/piwik.conf |",
                 "kept app1 | inventory variable | matomo_legacy_server_names |"):
        assert line in text, plan.stdout[-4000:]


def test_a_run_stopped_midway_is_finished_by_the_next_one() -> None:
    stopped, finished = runs()["stopped"], runs()["finished"]
    assert stopped.returncode != 0
    assert "Stopped after the switch, as asked" in stopped.stdout, why(stopped)
    assert finished.returncode == 0, why(finished)
    assert "app1: bridged" in finished.stdout


def test_every_table_moved_without_a_copy_its_rows_and_checksums_compared() -> None:
    moved = runs()["moved"]
    assert (moved["from"], moved["to"], moved["problems"]) == ("piwik", "matomo", [])
    assert len(moved["moved"]) >= 25 and all(t.startswith("piwik_") for t in moved["moved"])
    assert sorted(moved["same"] + list(moved["grown"])) == sorted(moved["moved"])
    assert moved["grown"].get("piwik_log_visit", 0) >= 0
    for name in NODES:
        tables = dict(line.split("\t") for line in sql(
            name, "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES "
                  "WHERE TABLE_SCHEMA = 'matomo'").splitlines())
        missing = sorted(set(moved["moved"]) - set(tables))
        # matomo-archive.timer (hourly) may add a month's archive table after the move, e.g. for
        # yesterday's week once the site's midnight has passed; no other table may appear
        added = sorted(t for t in set(tables) - set(moved["moved"]) if not ARCHIVE_TABLE.fullmatch(t))
        assert (missing, added) == ([], []), f"{name}: tables not moved {missing}, not expected {added}"
        views = sorted(t for t, kind in tables.items() if kind != "BASE TABLE")
        assert views == [], f"{name}: left from the bridge: {views}"
        assert sql(name, "SHOW DATABASES LIKE 'piwik'") == "", f"{name}: the database piwik is left"
        accounts = sql(name, "SELECT COUNT(*) FROM mysql.global_priv WHERE User = 'piwik'").strip()
        assert accounts == "0", f"{name}: {accounts} accounts piwik left"


def test_no_tracked_visit_was_lost_through_the_switch() -> None:
    acknowledged, failed = runs()["acknowledged"], runs()["failed"]
    assert failed == {}, f"tracking requests not acknowledged (number: HTTP status): {failed}"
    assert len(acknowledged) > 50
    for name in NODES:
        missing = acknowledged - matomolab.visits_on_node(name, "piwik")
        assert not missing, f"{name} lacks acknowledged visits {sorted(missing)[:20]}"
    matomolab.token.cache_clear()  # the token of the Matomo the reset removed is gone with it
    assert matomolab.recent_visits() == len(acknowledged)


def test_the_old_urls_still_answer() -> None:
    assert status("https://piwik.lab/piwik.js") == 200
    assert status("https://piwik.lab/matomo.js") == 200
    assert status(matomolab.track_url("piwik.php", "after-the-move", "piwik.lab")) == 204
    location = matomolab.client().check_output(
        f"{matomolab.CURL} -o /dev/null -w '%{{http_code}} %{{redirect_url}}' "
        "'https://piwik.lab/index.php?module=CoreHome&action=index'")
    assert location == "301 https://matomo.lab/index.php?module=CoreHome&action=index"
    assert status("https://piwik.lab/config/config.ini.php") == 404  # no other PHP runs there


def test_the_old_names_are_gone_and_the_report_lists_nothing_left() -> None:
    app = node("app1")
    for path in ("/var/www/piwik", "/etc/cron.d/piwik", "/etc/php/8.4/fpm/pool.d/piwik.conf",
                 "/etc/nginx/vhosts.d/piwik.conf"):
        assert not app.file(path).exists, path
    assert not app.user("piwik").exists
    assert app.service("matomo-archive.timer").is_running
    report = runs()["report"]
    assert [p for p in report if p["note"] == "left"] == []
    assert {p["name"] for p in report} >= {"matomo_legacy_server_names", "matomo_database_table_prefix"}
    last_report = runs()["finished"].stdout.split("Report every place still named piwik")[-1]
    report_lines = " ".join(last_report.split())
    assert "nothing is left named piwik" in report_lines and "LEFT " not in report_lines


def test_a_run_after_the_move_changes_nothing() -> None:
    again = runs()["again"]
    assert again.returncode == 0, why(again)
    assert "app1: done" in again.stdout
    assert recap(again.stdout)["app1"]["changed"] == 0, again.stdout[-4000:]
