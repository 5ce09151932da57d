"""Bad input to the galera role fails before anything changes, naming the variable."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

GOOD: dict[str, object] = {"galera_sst_password": "a-long-enough-password"}
OPTS = "galera_mysqld_options:"


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
        ({"galera_allowlist_extra": ["10.0.0.1,0.0.0.0"]},
         "galera_allowlist_extra must be a list of IP addresses"),
        ({"galera_bootstrap_node": "db9"}, "galera_bootstrap_node must be empty or a member of galera"),
        (
            {"galera_users": [{"name": "app", "priv": "app.*:ALL"}]},
            "missing required arguments: password found in galera_users",
        ),
        ({"galera_sst_method": "xtrabackup"}, "galera_sst_method must be one of"),
        (
            {"galera_tls_enabled": True, "galera_tls_ca_cert": "-----BEGIN CERTIFICATE-----\nx",
             "galera_tls_cert": "-----BEGIN CERTIFICATE-----\nx", "galera_tls_private_key": ""},
            "galera_tls_private_key a PEM private key from the vault",
        ),
        ({"galera_tls_enabled": True}, "galera_tls_ca_cert and galera_tls_cert must be PEM certificates"),
        ({"galera_tls_sst_mode": "VERIFY"}, "galera_tls_sst_mode must be one of"),
        ({"galera_gcache_size": "256M\nwsrep_on=OFF"}, "galera_gcache_size must be a size"),
        ({"galera_gcache_size": "1G;pc.ignore_sb=true"}, "galera_gcache_size must be a size"),
        ({"galera_innodb_buffer_pool_size": "lots"}, "galera_innodb_buffer_pool_size must be a size"),
        ({"galera_mysqld_options": {"max_allowed_packet": "64M\n[client]"}}, f"{OPTS} 'max_allowed_packet'"),
        ({"galera_mysqld_options": {"sql_mode": "STRICT; x"}}, f"{OPTS} 'sql_mode'"),
        ({"galera_mysqld_options": {"bad name": 1}}, f"{OPTS} 'bad name' must be a MariaDB option name"),
        ({"galera_mysqld_options": {"wsrep-provider-options": "x"}}, "that the role does not set itself"),
        ({"galera_mysqld_options": {"log_warnings": [1, 2]}}, f"{OPTS} 'log_warnings'"),
        ({"galera_provider_options": {"evs.join_retrans_period": "PT1S;pc.ignore_sb=true"}},
         "galera_provider_options: 'evs.join_retrans_period' must be a Galera provider option name"),
        ({"galera_provider_options": {"evs.keepalive_period": 'PT1S"'}},
         "its value one word"),
        ({"galera_provider_options": {"gcache.size": "1G"}}, "other than gcache.size"),
        ({"galera_provider_options": {"socket.ssl": "no"}}, "socket.* TLS options the role sets itself"),
        ({"galera_provider_options": {"join_retrans_period": "PT1S"}},
         "'join_retrans_period' must be a Galera provider option name (dotted words"),
        ({"galera_users": [{"name": "app", "password": "x" * 16, "priv": "app.*:ALL", "hots": "%"}]},
         "galera_users.hots. Supported parameters include: from, host, name, password, priv"),
        ({"galera_users": [{"name": "app", "password": "x" * 16, "priv": "app.*:ALL",
                            "from": ["balancers"]}]},
         "galera_users[0] (app): from: 'balancers' is no inventory group, host, address or network"),
        ({"galera_users": [{"name": "app", "password": "x" * 16, "priv": "app.*:ALL", "from": ["10.0.0.0/8"],
                            "host": "%"}]},
         "galera_users[0] (app): give host or from, not both"),
        ({"galera_proxy_protocol_from": ["balancers"]},
         "galera_proxy_protocol_from: 'balancers' is no inventory group, host, address or network"),
        ({"galera_databases": [{"name": "app", "colation": "utf8mb4_bin"}]},
         "galera_databases.colation. Supported parameters include: collation"),
    ],
)
def test_bad_input_names_the_variable(tmp_path: Path, variables: dict[str, object], message: str) -> None:
    assert message in run(tmp_path, variables)
