"""The database tier in the full stack: one Galera cluster of db1, db2, db3."""

from __future__ import annotations

import json
from typing import Any

import pytest

Host = Any
NODES = ("db1", "db2", "db3")


def sql(host: Host, query: str) -> str:
    return str(host.check_output(f"mariadb -N -B -e {json.dumps(query)}")).strip()


@pytest.fixture()
def db(host: Host) -> Host:
    if host.backend.get_hostname() not in NODES:
        pytest.skip("not a Galera node")
    return host


def test_galera_cluster_of_three_synced(db: Host) -> None:
    rows = dict(
        line.split("\t")
        for line in sql(
            db,
            "SHOW GLOBAL STATUS WHERE Variable_name IN "
            "('wsrep_cluster_size', 'wsrep_cluster_status', 'wsrep_local_state_comment')",
        ).splitlines()
    )
    assert rows == {
        "wsrep_cluster_size": "3",
        "wsrep_cluster_status": "Primary",
        "wsrep_local_state_comment": "Synced",
    }
    assert sql(db, "SELECT @@wsrep_cluster_name") == "heroes-lab"


def test_galera_listens_on_the_lab_address(db: Host) -> None:
    address = db.ansible.get_variables()["host_address"]
    assert db.socket(f"tcp://{address}:3306").is_listening
