"""Bad input to the galera_arbitrator role fails before anything changes, naming the variable."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": "python3"}
PEM = "-----BEGIN CERTIFICATE-----\nnot read by the checks\n-----END CERTIFICATE-----"


def run(tmp_path: Path, variables: dict[str, Any], nodes: int = 2, galera_vars: dict[str, Any] | None = None,
        arbitrator_in_galera: bool = False) -> str:
    galera_hosts: dict[str, Any] = {f"db{i}": {"host_address": f"192.0.2.{10 + i}"}
                                    for i in range(1, nodes + 1)}
    if arbitrator_in_galera:
        galera_hosts["garb1"] = {}
    inventory = {
        "galera": {"hosts": galera_hosts, "vars": galera_vars or {"galera_cluster_name": "prod-db"}},
        "galera_arbitrator": {"hosts": {"garb1": {"host_address": "192.0.2.31"}}, "vars": LOCAL},
    }
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "play.yml").write_text("- hosts: galera_arbitrator\n  gather_facts: false\n"
                                       "  roles: [galera_arbitrator]\n")
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(tmp_path / "inventory.json"), "--check", "--limit", "garb1",
         "-e", json.dumps(variables), str(tmp_path / "play.yml")],
        capture_output=True, text=True, cwd=ROOT, check=False,
        env={**os.environ, "ANSIBLE_ROLES_PATH": str(ROOT / "roles"), "ANSIBLE_NOCOLOR": "1"},
    )
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0, out
    assert "Install garbd" not in out, "validation let the play go on"
    return out


def test_one_data_node_is_refused(tmp_path: Path) -> None:
    out = run(tmp_path, {}, nodes=1)
    assert "galera_arbitrator_galera_group ('galera') must name the inventory group" in out
    assert "(at least 2; it has 1)" in out


def test_an_arbitrator_on_a_data_node_is_refused(tmp_path: Path) -> None:
    out = run(tmp_path, {}, arbitrator_in_galera=True)
    assert "must not contain garb1: an arbitrator runs beside no data node" in out


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"galera_arbitrator_cluster_name": "two words"},
         "galera_arbitrator_cluster_name must be the data nodes'"),
        ({"galera_arbitrator_address": "garb1.example.org"},
         "galera_arbitrator_address must be an IP address"),
        ({"galera_arbitrator_port": 70000}, "galera_arbitrator_port a port number (got '70000')"),
        ({"galera_arbitrator_options": {"evs.a;b": "1"}}, "galera_arbitrator_options must be a mapping"),
        ({"galera_arbitrator_tls_enabled": True, "galera_arbitrator_tls_ca_cert": PEM,
          "galera_arbitrator_tls_cert": PEM},
         "galera_arbitrator_tls_private_key a PEM private key from the vault"),
    ],
)
def test_bad_input_names_the_variable(tmp_path: Path, variables: dict[str, Any], message: str) -> None:
    assert message in run(tmp_path, variables)


def test_tls_follows_the_data_nodes_and_asks_for_the_arbitrators_pems(tmp_path: Path) -> None:
    # not told to: the data nodes replicate over TLS, so the arbitrator must too
    out = run(tmp_path, {}, galera_vars={"galera_cluster_name": "prod-db", "galera_tls_enabled": True})
    assert "galera_arbitrator_tls_enabled is true (the cluster replicates over TLS)" in out


def test_the_cluster_name_comes_from_the_data_nodes(tmp_path: Path) -> None:
    out = run(tmp_path, {}, galera_vars={"galera_cluster_name": "bad name!"})
    assert "got 'bad name!'" in out
