"""Verify the Galera health agent against a real (one-node) Galera cluster."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

Host = Any
PORT = 9200
DISABLED = "/etc/heroes-galera-agent/disabled"


def address(host: Host) -> str:
    return str(host.ansible.get_variables()["host_address"])


def ask(host: Host) -> str:
    """What HAProxy reads from the agent: connect, read one line."""
    code = (
        "import socket,sys;s=socket.create_connection((sys.argv[1],int(sys.argv[2])),2);"
        "print(s.makefile().read().strip())"
    )
    return str(host.check_output(f"python3 -c '{code}' {address(host)} {PORT}")).strip()


def ask_until(host: Host, prefix: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    reply = ask(host)
    while not reply.startswith(prefix) and time.monotonic() < deadline:
        time.sleep(0.3)
        reply = ask(host)
    return reply


def sql(host: Host, query: str) -> str:
    return str(host.check_output(f"mariadb -N -B -e {json.dumps(query)}")).strip()


@pytest.fixture
def synced(host: Host) -> Iterator[Host]:
    """Each test starts from (and leaves) a running, Synced, writable node."""
    assert ask_until(host, "up 100%") == "up 100%"
    yield host
    host.run(f"rm -f {DISABLED}")
    if not host.service("mariadb").is_running:
        host.check_output("galera_new_cluster")
    sql(host, "SET GLOBAL read_only=OFF")
    sql(host, "SET GLOBAL wsrep_desync=OFF")
    assert ask_until(host, "up 100%") == "up 100%"


def test_service_runs_as_its_own_user(host: Host) -> None:
    service = host.service("heroes-galera-agent")
    assert service.is_running and service.is_enabled
    assert host.socket(f"tcp://{address(host)}:{PORT}").is_listening
    assert "heroes_galera_agent" in host.check_output("ps -o user:32= -C python3")


def test_account_is_unix_socket_and_usage_only(host: Host) -> None:
    plugin = sql(host, "SELECT JSON_VALUE(Priv, '$.plugin') FROM mysql.global_priv "
                       "WHERE User='heroes_galera_agent'")
    assert plugin == "unix_socket"
    grants = sql(host, "SHOW GRANTS FOR heroes_galera_agent@localhost")
    assert grants.startswith("GRANT USAGE ON *.*")
    assert grants.count("GRANT") == 1


def test_synced_node_is_up(synced: Host) -> None:
    assert ask(synced) == "up 100%"


def test_disable_file_drains(synced: Host) -> None:
    synced.check_output(f"touch {DISABLED}")
    assert ask_until(synced, "up 0%") == "up 0%"


def test_read_only_is_down(synced: Host) -> None:
    sql(synced, "SET GLOBAL read_only=ON")
    assert ask_until(synced, "down#") == "down#read_only is ON"


def test_desynced_last_node_keeps_serving(synced: Host) -> None:
    # wsrep_desync puts the node in state 2 (Donor/Desynced); alone in its cluster it is the last
    # node able to serve, so the default policy (last) keeps it up.
    sql(synced, "SET GLOBAL wsrep_desync=ON")
    state = sql(synced, "SHOW GLOBAL STATUS LIKE 'wsrep_local_state_comment'").split("\t")[1]
    assert state in {"Donor/Desynced", "Desynced"}
    assert ask(synced) == "up 100%"


def test_stopped_mysqld_is_down(synced: Host) -> None:
    synced.check_output("systemctl stop mariadb")
    assert ask_until(synced, "down#").startswith("down#mysqld unreachable")
