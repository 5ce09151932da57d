"""Bad input to the galera role fails before anything changes, naming the variable."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

GOOD: dict[str, object] = {"galera_sst_password": "a-long-enough-password"}


def inventory(nodes: int, arbitrators: int) -> dict[str, object]:
    return {
        "galera": {
            "hosts": {f"db{i}": {"host_address": f"192.0.2.{10 + i}"} for i in range(1, nodes + 1)},
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": "python3"},
        },
        "galera_arbitrator": {"hosts": {f"garb{i}": {} for i in range(1, arbitrators + 1)}},
    }


def run(tmp_path: Path, variables: dict[str, object], nodes: int = 3, arbitrators: int = 0,
        expect_failure: bool = True, hosts: dict[str, object] | None = None) -> str:
    (tmp_path / "inventory.json").write_text(json.dumps(hosts or inventory(nodes, arbitrators)))
    (tmp_path / "play.yml").write_text("- hosts: galera\n  gather_facts: false\n  roles: [galera]\n")
    proc = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            str(tmp_path / "inventory.json"),
            "--check",
            "-e",
            json.dumps({**GOOD, **variables}),
            str(tmp_path / "play.yml"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        env={**os.environ, "ANSIBLE_ROLES_PATH": str(ROOT / "roles"), "ANSIBLE_NOCOLOR": "1"},
    )
    out = " ".join((proc.stdout + proc.stderr).split())
    if expect_failure:
        assert proc.returncode != 0, out
        assert "Install MariaDB" not in out, "validation let the play go on"
    return out


def test_fewer_than_three_nodes_without_an_arbitrator(tmp_path: Path) -> None:
    out = run(tmp_path, {}, nodes=2)
    assert "galera_group ('galera') has 2 node(s) and galera_arbitrator_group ('galera_arbitrator') 0" in out
    assert "at least 3 voting members" in out


def test_one_node_with_two_arbitrators_is_refused(tmp_path: Path) -> None:
    assert "at least 2 of them nodes" in run(tmp_path, {}, nodes=1, arbitrators=2)


def test_two_nodes_and_an_arbitrator_pass_the_checks(tmp_path: Path) -> None:
    # check mode on the controller without facts: every check passes, the play goes on to the
    # OS family's variables (and stops there, having no facts)
    out = run(tmp_path, {}, nodes=2, arbitrators=1, expect_failure=False)
    assert "at least 3 voting members" not in out
    assert "TASK [galera : Include the OS family's variables]" in out, out[-2000:]


def test_a_host_in_both_groups_is_refused(tmp_path: Path) -> None:
    both = inventory(3, 0)
    both["galera_arbitrator"] = {"hosts": {"db3": {}}}
    out = run(tmp_path, {}, hosts=both)
    assert "db3 in both galera_group ('galera') and galera_arbitrator_group" in out


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"galera_sst_password": ""},
            "galera_sst_password must be set (at least 12 characters), from the vault",
        ),
        ({"galera_cluster_name": "my cluster!"}, "galera_cluster_name must be 1-32 letters"),
        ({"galera_node_address": "db1.example.org"}, "galera_node_address must be an IP address"),
        ({"galera_bootstrap_node": "db9"}, "galera_bootstrap_node must be empty or a member of galera"),
        (
            {"galera_users": [{"name": "app", "priv": "app.*:ALL"}]},
            "galera_users entries need name, password",
        ),
        ({"galera_sst_method": "xtrabackup"}, "galera_sst_method must be one of"),
        (
            {"galera_tls_enabled": True, "galera_tls_ca_cert": "-----BEGIN CERTIFICATE-----\nx",
             "galera_tls_cert": "-----BEGIN CERTIFICATE-----\nx", "galera_tls_private_key": ""},
            "galera_tls_private_key a PEM private key from the vault",
        ),
        ({"galera_tls_enabled": True}, "galera_tls_ca_cert and galera_tls_cert must be PEM certificates"),
        ({"galera_tls_sst_mode": "VERIFY"}, "galera_tls_sst_mode must be one of"),
    ],
)
def test_bad_input_names_the_variable(tmp_path: Path, variables: dict[str, object], message: str) -> None:
    assert message in run(tmp_path, variables)
