"""Bad input to the matomo role fails before anything changes on the host, naming the variable
and the form it expects; the release archive's checksum is verified before anything is unpacked.
This machine is Debian 12, which has no Matomo package: the role takes the archive path here."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.roles.checkrun import LOCAL, check_run

GOOD: dict[str, Any] = {
    "heroes_vips": [{"name": "db", "address": "192.0.2.20"}],
    "matomo_database_host": "192.0.2.20",
    "matomo_database_password": "a-database-secret",
    "matomo_superuser_password": "a-superuser-secret",
    "matomo_superuser_email": "infra@example.org",
    "matomo_sites": [{"name": "News", "url": "https://news.example.org"}],
    "matomo_trusted_hosts": ["matomo.example.org"],
    "matomo_archive_url": "/nonexistent/matomo.tar.gz",
    "matomo_archive_sha256": "0" * 64,
}
INVENTORY = {"matomo": {"hosts": {"app1": {}}, "vars": LOCAL}}


def run(tmp_path: Path, variables: dict[str, Any]) -> str:
    proc = check_run(tmp_path, INVENTORY, "matomo", "matomo", {**GOOD, **variables}, gather_facts=True)
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0, out
    for later in ("Create Matomo's system user", "Unpack the release", "Install PHP-FPM first"):
        assert later not in out, f"the play went on past the checks: {later}"
    return out


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"matomo_database_password": ""},
         "matomo_database_password and matomo_superuser_password must be set (at least 12 characters) "
         "from the vault"),
        ({"matomo_database_host": "192.0.2.11"},
         "matomo_database_host must be the Galera cluster's address through the balancers, one of "
         "matomo_database_cluster_addresses (192.0.2.20), got '192.0.2.11'"),
        ({"heroes_vips": []}, "(none: no heroes_vips entry named db)"),
        ({"matomo_archive_sha256": "abc"}, "matomo_archive_sha256 must be 64 hex digits"),
        ({"matomo_archive_url": "http://builds.example/matomo.tar.gz"},
         "matomo_archive_url an https:// URL or an absolute path on the controller"),
        ({"matomo_archive_url": ""}, "has no Matomo package: set matomo_archive_url"),
        ({"matomo_sites": []}, "matomo_sites (at least one {name: ..., url: https://...}"),
        ({"matomo_proxy_client_headers": ["X-Forwarded-For"]},
         "matomo_proxy_client_headers / matomo_proxy_host_headers names such as HTTP_X_FORWARDED_FOR"),
    ],
    ids=["no-vault", "node-not-vip", "no-vip", "checksum-form", "plain-http-url", "no-archive", "no-site",
         "header-form"],
)
def test_bad_input_fails_before_anything_changes(tmp_path: Path, variables: dict[str, Any],
                                                 message: str) -> None:
    out = run(tmp_path, variables)
    assert message in out
    assert "a-database-secret" not in out and "a-superuser-secret" not in out


def real_run(tmp_path: Path, play: str, variables: dict[str, Any]) -> str:
    """A real run (not --check) of play on this machine, expected to fail: its output on one line."""
    (tmp_path / "inventory.json").write_text(json.dumps(INVENTORY))
    (tmp_path / "play.yml").write_text(play)
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(tmp_path / "inventory.json"), "-e", json.dumps(variables),
         str(tmp_path / "play.yml")],
        capture_output=True, text=True, cwd=ROOT, check=False,
        env={**os.environ, "ANSIBLE_ROLES_PATH": str(ROOT / "roles"), "ANSIBLE_NOCOLOR": "1",
             "ANSIBLE_FILTER_PLUGINS": str(ROOT / "plugins/filter")})
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0, out
    return out


def test_a_wrong_checksum_stops_before_anything_is_unpacked(tmp_path: Path) -> None:
    archive = tmp_path / "matomo-5.3.1.tar.gz"
    archive.write_bytes(b"not the release")
    real = hashlib.sha256(archive.read_bytes()).hexdigest()
    out = run(tmp_path, {"matomo_archive_url": str(archive), "matomo_archive_sha256": "ab" * 32})
    assert f"matomo_archive_url: {archive} has sha256 {real}, expected matomo_archive_sha256 {'ab' * 32}: " \
           "nothing was unpacked" in out


def test_an_unreachable_archive_fails_saying_what_to_do_and_changes_nothing(tmp_path: Path) -> None:
    """A real run (not --check) on this machine: the download is the first thing that would
    change anything, and it fails (nothing listens on port 9)."""
    url = "https://127.0.0.1:9/matomo-5.3.1.tar.gz"
    out = real_run(tmp_path, "- hosts: matomo\n  roles: [matomo]\n",
                   {**GOOD, "matomo_archive_url": url, "matomo_archive_sha256": "cd" * 32})
    assert f"matomo_archive_url: {url} could not be fetched with sha256 {'cd' * 32}" in out
    assert "give its path on the controller instead" in out
    assert "changed=0" in out, out
    assert not Path(f"/var/cache/matomo-{'cd' * 32}.tar.gz").exists()


MOVE = {**GOOD, "matomo_server_names": ["matomo.example.org"], "matomo_tls_certificate": "PEM",
        "matomo_tls_private_key": "PEM", "matomo_migration_sql_node": "db1",
        "matomo_migration_sql_socket": "/run/mysqld/mysqld.sock", "matomo_migration_confirm": "yes"}


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"matomo_piwik": {**{"database": "matomo", "user": "piwik", "install_dir": "/var/www/piwik",
                              "system_user": "piwik", "pool": "piwik", "vhost": "piwik",
                              "cron_file": "/etc/cron.d/piwik"}}},
         "matomo_piwik needs database and user (letters, digits, _; not the new names matomo_database_name"),
        ({"matomo_migration_sql_socket": ""},
         "matomo_migration_sql_node and matomo_migration_sql_socket the Galera node to run the "
         "statements on"),
        ({"matomo_database_password": 'a-database-"secret'},
         "matomo_database_password must not hold a double quote or a newline (config.ini.php quotes it)"),
        ({"matomo_migration_stop_after": "halfway"}, "matomo_migration_stop_after"),
    ],
    ids=["same-database", "no-socket", "quote-in-password", "stop-after-form"],
)
def test_bad_input_to_the_move_off_piwik_fails_before_anything_changes(
        tmp_path: Path, variables: dict[str, Any], message: str) -> None:
    """The move's own checks come before it reads anything on a host or the cluster."""
    out = real_run(tmp_path, "- hosts: matomo\n  gather_facts: true\n  tasks:\n"
                   "    - {ansible.builtin.include_role: {name: matomo, tasks_from: piwik}}\n",
                   {**MOVE, **variables})
    assert message in out, out[-2000:]
    assert "Read the old install's config" not in out and "changed=0" in out
    assert "a-database-secret" not in out and "secret" not in out.split("PLAY RECAP")[-1]
