"""Verify the arbitrator: a voting member of two data nodes' cluster, over TLS, that keeps the
majority when one data node dies (and the same death without it loses the majority)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import testinfra
import testinfra.utils.ansible_runner

Host = Any
# The tests drive the whole cluster from the arbitrator's point of view: run them once.
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("galera_arbitrator")
NODES = ("arb-db1", "arb-db2")
GARBD = "arb-garbd"
ADDRESS = {"arb-db1": "172.31.14.11", "arb-db2": "172.31.14.12", "arb-garbd": "172.31.14.21"}


def node(name: str) -> Host:
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


def sql(db: str, query: str) -> str:
    return str(node(db).check_output(f"mariadb -N -B -e {json.dumps(query)}")).strip()


def wsrep(db: str) -> dict[str, str]:
    out = sql(db, "SHOW GLOBAL STATUS WHERE Variable_name IN "
                  "('wsrep_cluster_size', 'wsrep_cluster_status', 'wsrep_local_state_comment')")
    return dict(line.split("\t") for line in out.splitlines())


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def healthy(db: str, size: str) -> Callable[[], bool]:
    def check() -> bool:
        result = node(db).run("mariadb -N -B -e \"SHOW GLOBAL STATUS LIKE 'wsrep_%'\"")
        state = dict(line.split("\t", 1) for line in result.stdout.splitlines() if "\t" in line)
        return (result.rc == 0 and state.get("wsrep_cluster_status") == "Primary"
                and state.get("wsrep_local_state_comment") == "Synced"
                and state.get("wsrep_cluster_size") == size)
    return check


def docker(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, capture_output=True)


def test_garbd_runs_enabled_as_its_own_system_user(host: Host) -> None:
    service = host.service("garb")
    assert service.is_running
    assert service.is_enabled
    assert host.process.get(comm="garbd").user == "garbd"


def test_garbd_is_configured_from_the_data_nodes_inventory(host: Host) -> None:
    config = host.file("/etc/default/garb").content_string
    assert 'GALERA_NODES="172.31.14.11:4567,172.31.14.12:4567"' in config
    # the cluster name is the data nodes' galera_cluster_name: the role was not told it
    assert 'GALERA_GROUP="molecule-arb"' in config
    assert "gmcast.listen_addr=tcp://172.31.14.21:4567" in config
    assert "socket.ssl=yes" in config
    key = host.file("/etc/galera-arbitrator/tls/key.pem")
    assert key.mode == 0o640 and key.user == "root" and key.group == "garbd"


def test_the_cluster_counts_the_arbitrator(host: Host) -> None:
    for db in NODES:
        assert wsrep(db) == {"wsrep_cluster_size": "3", "wsrep_cluster_status": "Primary",
                             "wsrep_local_state_comment": "Synced"}, db


def test_the_arbitrator_speaks_tls_with_a_certificate_of_the_cluster_ca(host: Host) -> None:
    # from a data node, with the cluster's CA: the arbitrator's port presents a verified certificate
    out = node("arb-db1").run(
        f"sleep 2 | openssl s_client -connect {ADDRESS[GARBD]}:4567 -CAfile /etc/mysql/tls/ca.pem "
        f"-verify_ip {ADDRESS[GARBD]} 2>&1")
    assert "Verify return code: 0 (ok)" in out.stdout, out.stdout[-1500:]
    assert "subject=CN=arb-garbd" in out.stdout.replace(" = ", "=")


def test_a_dead_data_node_leaves_a_primary_component_that_takes_writes(host: Host) -> None:
    sql("arb-db1", "CREATE TABLE IF NOT EXISTS app.votes (id INT PRIMARY KEY, note VARCHAR(40))")
    docker("kill", "arb-db2")  # the machine is gone: no clean leave
    try:
        assert wait_for(healthy("arb-db1", "2"), 40), wsrep("arb-db1")
        sql("arb-db1", "REPLACE INTO app.votes VALUES (1, 'written while arb-db2 was dead')")
        assert sql("arb-db1", "SELECT note FROM app.votes WHERE id = 1") == "written while arb-db2 was dead"
    finally:
        docker("start", "arb-db2")
    # arb-db2 boots, mariadb recovers its position and rejoins; garbd counts again
    assert wait_for(healthy("arb-db2", "3"), 120), wsrep("arb-db2")
    assert sql("arb-db2", "SET SESSION wsrep_sync_wait=1; SELECT note FROM app.votes WHERE id = 1") == (
        "written while arb-db2 was dead")


def test_without_the_arbitrator_the_same_death_loses_the_majority(host: Host) -> None:
    host.check_output("systemctl stop garb")  # a clean leave: the cluster shrinks to 2
    try:
        assert wait_for(healthy("arb-db1", "2"), 30), wsrep("arb-db1")
        docker("kill", "arb-db2")
        try:
            # 1 of 2 is no majority: arb-db1 refuses to be Primary (no split brain)
            lost = wait_for(lambda: wsrep("arb-db1")["wsrep_cluster_status"] == "non-Primary", 40)
            assert lost, wsrep("arb-db1")
        finally:
            docker("start", "arb-db2")
        # both members of the last Primary component are back: they re-form it by themselves
        assert wait_for(healthy("arb-db1", "2"), 180), wsrep("arb-db1")
    finally:
        host.check_output("systemctl start garb")
    assert wait_for(healthy("arb-db1", "3"), 60), wsrep("arb-db1")
    assert wait_for(healthy("arb-db2", "3"), 60), wsrep("arb-db2")


def playbook(path: str, *extra: str) -> subprocess.CompletedProcess[str]:
    repo = Path(__file__).resolve().parents[5]
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
           "ANSIBLE_FILTER_PLUGINS": str(repo / "plugins/filter")}
    return subprocess.run(["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], *extra,
                           str(repo / path)], capture_output=True, text=True, env=env, check=False)


def test_after_a_full_outage_the_recovery_runbook_brings_the_arbitrator_back(host: Host) -> None:
    sql("arb-db1", "REPLACE INTO app.votes VALUES (2, 'before the outage')")
    checksum = sql("arb-db1", "CHECKSUM TABLE app.votes").split("\t")[1]
    # every data node down, one after the other, cleanly (arb-db1 last, with the last write);
    # garbd saw each leave
    node("arb-db2").check_output("systemctl stop mariadb")
    node("arb-db1").check_output("systemctl stop mariadb")
    # and stays, as a Primary component of one member without data (its journal says
    # "members = 1/1"): why the runbook stops it first and the role restarts a garbd the
    # cluster does not count
    time.sleep(3)
    assert host.service("garb").is_running

    result = playbook("playbooks/maintenance/galera-recover.yml")
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 0, out[-4000:]
    # garbd outlived both nodes, so neither was the last to leave (safe_to_bootstrap 0 on both):
    # the higher seqno decides
    assert "bootstrap: arb-db1 has the highest seqno" in out, out[-4000:]
    assert "Stop the arbitrators while the nodes come back" in out
    assert "Start the arbitrators again" in out
    counted = sql("arb-db1", "SELECT node_name FROM mysql.wsrep_cluster_members ORDER BY node_name")
    assert counted.split() == ["arb-db1", "arb-db2", "arb-garbd"]
    for db in NODES:
        assert wsrep(db) == {"wsrep_cluster_size": "3", "wsrep_cluster_status": "Primary",
                             "wsrep_local_state_comment": "Synced"}, db
        assert sql(db, "SET SESSION wsrep_sync_wait=1; CHECKSUM TABLE app.votes").split("\t")[1] == checksum
