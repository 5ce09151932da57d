"""Verify the haproxy role with every Galera server absent (DOWN)."""

from __future__ import annotations

import csv
import io
import os
import time
from typing import Any

import testinfra.utils.ansible_runner

Host = Any
# The inventory also lists Galera nodes that exist only as addresses: test the balancers only.
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("haproxy")
SOCKET = "/run/haproxy/admin.sock"
AUTH = "admin:molecule-stats-0001"


def address(host: Host) -> str:
    return str(host.ansible.get_variables()["host_address"])


def runtime(host: Host, command: str) -> str:
    return str(host.check_output(f"echo '{command}' | socat stdio {SOCKET}"))


def stats(host: Host) -> list[dict[str, str]]:
    text = runtime(host, "show stat").lstrip("# ")
    return list(csv.DictReader(io.StringIO(text)))


def test_service_runs(host: Host) -> None:
    service = host.service("haproxy")
    assert service.is_running and service.is_enabled
    assert host.file("/etc/haproxy/haproxy.cfg").contains("Ansible managed")
    assert host.run("haproxy -c -q -f /etc/haproxy/haproxy.cfg").rc == 0


def test_one_writer_and_backups_in_the_given_order(host: Host) -> None:
    rows = {(r["pxname"], r["svname"]): r for r in stats(host)}
    # haproxy_galera_writer_order names absent-db2 first: it is the writer.
    assert rows[("galera_write", "absent-db2")]["bck"] == "0"
    assert rows[("galera_write", "absent-db1")]["bck"] == "1"
    assert rows[("galera_write", "absent-db3")]["bck"] == "1"
    readers = {sv: r["bck"] for (px, sv), r in rows.items() if px == "galera_read" and sv != "BACKEND"}
    assert readers == {"absent-db1": "0", "absent-db2": "0", "absent-db3": "0"}
    assert rows[("galera_write", "absent-db1")]["status"].startswith("DOWN")


def test_agent_check_is_configured(host: Host) -> None:
    config = host.file("/etc/haproxy/haproxy.cfg").content_string
    assert "agent-check agent-port 9200" in config
    # the agent's verdict is the health check itself (MariaDB's port is not probed: a bare
    # connect counts as a handshake error there and blocks the balancer after max_connect_errors)
    for backend in ("galera_write", "galera_read"):
        section = config.split(f"backend {backend}\n", 1)[1].split("\n\n", 1)[0]
        assert "tcp-check connect port 9200\n    tcp-check expect rstring ^up" in section, section
        assert "port 3306" not in section, section
    assert "timeout queue 2s" in config
    assert "maxconn 150" in config


def admin_state(host: Host, backend: str, server: str) -> int:
    """srv_admin_state from `show servers state` (0x08: drained by the runtime API)."""
    for line in runtime(host, f"show servers state {backend}").splitlines():
        fields = line.split()
        if len(fields) > 6 and fields[1] == backend and fields[3] == server:
            return int(fields[6])
    raise AssertionError(f"{backend}/{server} not in show servers state")


def test_runtime_socket_is_admin_and_local(host: Host) -> None:
    sock = host.file(SOCKET)
    assert sock.is_socket and sock.mode == 0o660 and sock.group == "haproxy"
    runtime(host, "set server galera_write/absent-db1 state drain")
    assert admin_state(host, "galera_write", "absent-db1") & 0x08
    runtime(host, "set server galera_write/absent-db1 state ready")
    assert admin_state(host, "galera_write", "absent-db1") == 0


def test_stats_page_needs_the_password(host: Host) -> None:
    url = f"http://{address(host)}:8404/stats;csv"
    assert host.check_output(f"python3 -c \"import urllib.request,sys\ntry: urllib.request.urlopen('{url}')\n"
                             f"except Exception as e: print(getattr(e, 'code', e))\"") == "401"
    code = (
        "import urllib.request,base64;"
        f"a='Basic '+base64.b64encode(b'{AUTH}').decode();"
        f"r=urllib.request.Request('{url}',headers={{'Authorization':a}});"
        "print(urllib.request.urlopen(r).read().decode())"
    )
    body = host.check_output(f'python3 -c "{code}"')
    assert "galera_write,absent-db2" in body


def test_fast_error_when_every_server_is_down(host: Host) -> None:
    # A client must get an error at once, not wait in a queue or pile up connections.
    code = (
        "import socket,time;t=time.monotonic();s=socket.create_connection(('127.0.0.1',3306),5);"
        "s.settimeout(5);d=s.recv(100);print(len(d),round(time.monotonic()-t,3))"
    )
    received, seconds = host.check_output(f'python3 -c "{code}"').split()
    assert received == "0", "the connection is closed without a handshake"
    assert float(seconds) < 1.0
    time.sleep(0.5)
    log = host.check_output("journalctl -u haproxy --no-pager -n 50")
    assert "mysql_write galera_write/<NOSRV>" in log


def test_reload_keeps_the_master_process(host: Host) -> None:
    before = host.check_output("systemctl show -p MainPID --value haproxy")
    host.check_output("systemctl reload haproxy")
    time.sleep(0.5)
    assert host.check_output("systemctl show -p MainPID --value haproxy") == before
    assert host.service("haproxy").is_running
