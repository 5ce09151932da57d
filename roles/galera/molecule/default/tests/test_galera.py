"""Verify a three-node Galera cluster built by the galera role."""

from __future__ import annotations

import json
import os
from typing import Any

import testinfra

Host = Any
NODES = ("galera-db1", "galera-db2", "galera-db3")


def sql(host: Host, query: str) -> str:
    return str(host.check_output(f"mariadb -N -B -e {json.dumps(query)}")).strip()


def status(host: Host, name: str) -> str:
    return sql(host, f"SHOW GLOBAL STATUS LIKE '{name}'").split("\t")[1]


def test_cluster_of_three_all_synced(host: Host) -> None:
    assert status(host, "wsrep_cluster_size") == "3"
    assert status(host, "wsrep_cluster_status") == "Primary"
    assert status(host, "wsrep_local_state_comment") == "Synced"


def node(name: str) -> Host:
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


def test_a_row_written_on_one_node_is_read_on_every_node(host: Host) -> None:
    name = host.backend.get_hostname()
    sql(host, "CREATE TABLE IF NOT EXISTS app.replication (node VARCHAR(64) PRIMARY KEY) ENGINE=InnoDB")
    sql(host, f"REPLACE INTO app.replication VALUES ('{name}')")
    for other in NODES:
        # wsrep_sync_wait makes the read causal: it waits until the node applied the write
        seen = sql(
            node(other),
            f"SET SESSION wsrep_sync_wait=1; SELECT node FROM app.replication WHERE node = '{name}'",
        )
        assert seen == name, other


def test_accounts_are_locked_down(host: Host) -> None:
    assert sql(host, "SELECT COUNT(*) FROM mysql.global_priv WHERE User = ''") == "0"
    remote_root = "SELECT COUNT(*) FROM mysql.global_priv WHERE User = 'root' AND Host <> 'localhost'"
    assert sql(host, remote_root) == "0"
    assert sql(host, "SHOW DATABASES LIKE 'test'") == ""
    assert "RELOAD" in sql(host, "SHOW GRANTS FOR 'sst'@'localhost'")
    assert "`app`.*" in sql(host, "SHOW GRANTS FOR 'app'@'172.31.10.%'")


def test_sst_credentials_are_not_world_readable(host: Host) -> None:
    cnf = host.file("/etc/mysql/mariadb.conf.d/71-heroes-galera-sst.cnf")
    assert cnf.mode == 0o640
    assert cnf.group == "mysql"


def test_serves_on_its_own_address_only(host: Host) -> None:
    address = host.ansible.get_variables()["host_address"]
    assert host.socket(f"tcp://{address}:3306").is_listening
    assert not host.socket("tcp://0.0.0.0:3306").is_listening
