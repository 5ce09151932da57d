"""Verify the host firewall: what the rules open, to whom, and what a reload keeps.

Connections are made for real, from the two clients of the scenario (firewall-friend, of the
group the rules open 8080 to, and firewall-stranger, of none) to both servers.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import testinfra

Host = Any
SERVERS = {"firewall-server12": "172.31.15.11", "firewall-server13": "172.31.15.12"}
FRIEND, STRANGER = "firewall-friend", "firewall-stranger"
RULES = "/etc/heroes-firewall.nft"

testinfra_hosts = [f"ansible://{name}" for name in SERVERS]


def node(name: str) -> Host:
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


def connects(client: str, address: str, port: int) -> bool:
    """A TCP connection from the client, 2 s at most (a dropped SYN times out). The probe itself
    must run: a probe that fails to start is an error, never "closed"."""
    script = ("import socket\n"
              "s = socket.socket()\n"
              "s.settimeout(2)\n"
              f"print('open' if s.connect_ex(({address!r}, {port})) == 0 else 'closed')\n")
    result = node(client).run(f"python3 -c {shlex.quote(script)}")
    assert result.rc == 0 and result.stdout.strip() in ("open", "closed"), (result.stdout, result.stderr)
    return bool(result.stdout.strip() == "open")


def converge(*extra: str) -> subprocess.CompletedProcess[str]:
    scenario = Path(__file__).resolve().parents[1]
    repo = Path(__file__).resolve().parents[5]
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
           "ANSIBLE_ROLES_PATH": str(repo / "roles"), "ANSIBLE_FILTER_PLUGINS": str(repo / "plugins/filter")}
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    command = ["ansible-playbook", "-i", inventory, *extra, str(scenario / "converge.yml")]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def test_the_rules_are_loaded_at_boot_from_a_private_file(host: Host) -> None:
    assert host.service("heroes-firewall").is_enabled
    assert host.file(RULES).mode == 0o640
    table = host.check_output("nft list table inet heroes")
    assert "policy drop" in table
    assert '172.31.15.21 accept comment "test double"' in table
    assert "tcp dport 22 ip saddr 172.31.15.0/24 accept" in table


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_the_friend_reaches_what_the_rules_open_and_nothing_else(server: str) -> None:
    address = SERVERS[server]
    assert connects(FRIEND, address, 8080)
    assert not connects(FRIEND, address, 8081), "8081 is opened by no rule"


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_a_stranger_reaches_nothing(server: str) -> None:
    address = SERVERS[server]
    for port in (8080, 8081, 22):
        assert not connects(STRANGER, address, port), port
    # the listeners are there: from the server itself (loopback) they answer
    local = "import socket; socket.create_connection(('127.0.0.1', 8080), 2)"
    assert node(server).run(f"python3 -c {shlex.quote(local)}").rc == 0


HOLD = """
import socket, sys, time, os
s = socket.create_connection((sys.argv[1], 8080), 2)
while not os.path.exists('/root/go'):
    time.sleep(0.1)
s.settimeout(5)
s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')
print(s.recv(64).decode(errors='replace').splitlines()[0])
"""


def test_a_reload_that_closes_a_port_keeps_the_connection_open_on_it_and_refuses_new_ones() -> None:
    """The friend holds a connection to 8080; a converge takes 8080 away from the friends (a
    reload of the rules); the held connection still gets its answer, a new one gets nothing.
    Then the rules are put back the same way."""
    friend, server, address = node(FRIEND), node("firewall-server12"), SERVERS["firewall-server12"]
    friend.check_output("rm -f /root/go /root/held.out")
    friend.check_output(f"cat > /root/hold.py <<'EOF'\n{HOLD}\nEOF")
    friend.check_output(f"nohup python3 /root/hold.py {address} > /root/held.out 2>&1 &")
    time.sleep(1)
    closed = converge("-e", json.dumps({"firewall_rules_molecule": [
        {"name": "test double", "ports": [8081], "from": ["friends"]}]}), "--limit", "firewall-server12")
    try:
        assert closed.returncode == 0, closed.stdout[-3000:]
        assert "RUNNING HANDLER [firewall : Reload the firewall]" in closed.stdout
        assert "dport 8081" in server.check_output("nft list table inet heroes")
        assert not connects(FRIEND, address, 8080), "a new connection to the closed port"
        friend.check_output("touch /root/go")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not friend.file("/root/held.out").contains("HTTP"):
            time.sleep(0.2)
        assert friend.file("/root/held.out").content_string.startswith("HTTP/1.0 200"), \
            friend.file("/root/held.out").content_string
    finally:
        back = converge("--limit", "firewall-server12")
    assert back.returncode == 0, back.stdout[-3000:]
    assert connects(FRIEND, address, 8080)


def test_a_bad_rule_fails_before_anything_changes_naming_the_variable() -> None:
    before = {name: node(name).file(RULES).content_string for name in SERVERS}
    result = converge("-e", json.dumps({"firewall_rules_molecule": [
        {"name": "test double", "ports": [8080], "from": ["frends"]}]}))
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "firewall_rules_molecule[0] (test double): 'frends' is no inventory group, host, address" in out, \
        out[-2000:]
    for name in SERVERS:
        assert node(name).file(RULES).content_string == before[name], name
