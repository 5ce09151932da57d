"""The database tier in the full stack: one Galera cluster of db1, db2, db3."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import testinfra
import testinfra.utils.ansible_runner
import yaml
from labhosts import vault

ROOT = Path(__file__).resolve().parents[3]

Host = Any
NODES = ("db1", "db2", "db3")


def sql(host: Host, query: str) -> str:
    return str(host.check_output(f"mariadb -N -B -e {json.dumps(query)}")).strip()


def node(name: str) -> Host:
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


# The tests that take the host fixture (through db) run on the Galera nodes only.
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("galera")


@pytest.fixture()
def db(host: Host) -> Host:
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


ADDRESSES = {"db1": "172.30.0.11", "db2": "172.30.0.12", "db3": "172.30.0.13"}
DATABASE_PORTS = (3306, 4444, 4567, 4568, 9200)
PROBE_PORTS = """
import json, socket, sys
from concurrent.futures import ThreadPoolExecutor
def reach(target):
    s = socket.socket(); s.settimeout(2)
    try:
        return target, s.connect_ex(tuple(target)) == 0
    finally:
        s.close()
targets = json.loads(sys.argv[1])
with ThreadPoolExecutor(len(targets)) as pool:
    print(json.dumps({f"{h}:{p}": ok for (h, p), ok in pool.map(reach, targets)}))
"""


def reachable(source: str, targets: list[tuple[str, int]]) -> dict[str, bool]:
    """Which of the targets a TCP connection from the source host reaches (2 s each, at once)."""
    host = node(source)
    host.check_output(f"cat > /root/reach.py <<'EOF'\n{PROBE_PORTS}\nEOF")
    return dict(json.loads(host.check_output(f"python3 /root/reach.py '{json.dumps(targets)}'")))


def test_only_the_balancers_and_the_members_reach_the_database_ports() -> None:
    """The host firewall (roles/firewall, rules in group_vars): from the client, a lab host that
    is neither a member nor a balancer, nothing of MariaDB, replication, IST, SST or the agent
    answers on any node (so it can't join the cluster or read the agent), while the VIP serves
    it; a balancer reaches MariaDB and the agent but not replication; a member reaches
    replication. MariaDB's own wsrep_allowlist names the members, and the application account
    exists from the balancers' addresses only."""
    outside = reachable("client", [(a, p) for a in ADDRESSES.values() for p in DATABASE_PORTS]
                        + [("172.30.0.20", 3306)])
    assert outside.pop("172.30.0.20:3306"), "the VIP serves the client"
    assert not any(outside.values()), {k: v for k, v in outside.items() if v}
    balancer = reachable("lb1", [("172.30.0.12", p) for p in DATABASE_PORTS])
    assert balancer == {"172.30.0.12:3306": True, "172.30.0.12:9200": True, "172.30.0.12:4444": False,
                        "172.30.0.12:4567": False, "172.30.0.12:4568": False}, balancer
    member = reachable("db1", [("172.30.0.12", 4567)])
    assert member == {"172.30.0.12:4567": True}
    for name in NODES:
        allow = set(sql(node(name), "SELECT @@wsrep_allowlist").split(","))
        assert allow == set(ADDRESSES.values()), (name, allow)
    hosts = sql(node("db1"), "SELECT Host FROM mysql.global_priv WHERE User = 'probe' ORDER BY Host")
    assert hosts.split() == ["172.30.0.100"], hosts
    # Matomo's account: app1's address only (the balancers pass it on by the PROXY protocol)
    hosts = sql(node("db1"), "SELECT Host FROM mysql.global_priv WHERE User = 'matomo' ORDER BY Host")
    assert hosts.split() == ["172.30.0.41"], hosts


def test_accounts_name_the_client_through_the_vip_not_the_balancer() -> None:
    """HAProxy passes each client's address on (PROXY v2), MariaDB trusts it from the balancers
    only: the probe account from the client matches through both frontends, and Matomo's
    account, from app1 only, refuses the client with the right password."""
    client = node("client")
    galera = vault("galera")
    for port in (3306, 3307):
        login = f"mariadb -h 172.30.0.20 -P {port} -u probe -p{galera['vault_galera_probe_password']} -N -B"
        assert client.check_output(f"{login} -e 'SELECT CURRENT_USER()'") == "probe@172.30.0.100"
    for name in NODES:
        assert sql(node(name), "SELECT @@proxy_protocol_networks") == "172.30.0.21,172.30.0.22", name
    matomo = vault("all")["vault_matomo_database_password"]
    refused = client.run(f"mariadb -h 172.30.0.20 -u matomo -p{matomo} matomo -e 'SELECT 1'")
    assert refused.rc != 0 and "Access denied for user 'matomo'@" in refused.stderr, refused.stderr


TLS = "/etc/mysql/tls"


def lab_ca() -> str:
    data = yaml.safe_load((ROOT / "inventory/lab/group_vars/all/lab_pki.yml").read_text())
    return str(data["lab_ca_cert"])


def test_replication_speaks_tls_and_wants_a_certificate_from_the_lab_ca(db: Host) -> None:
    me = db.backend.get_hostname()
    for peer in NODES:
        if peer == me:
            continue
        address = node(peer).ansible.get_variables()["host_address"]
        base = f"openssl s_client -connect {address}:4567 -CAfile {TLS}/ca.pem -verify_return_error"
        # after the handshake the peer speaks Galera (binary): keep openssl's own lines only
        lines = "2>&1 </dev/null | grep -a -E 'Verify return code|CN = |alert' || true"
        mine = f"-cert {TLS}/cert.pem -key {TLS}/key.pem"
        with_cert = db.check_output(f"{base} -verify_ip {address} {mine} {lines}")
        assert "Verify return code: 0 (ok)" in with_cert, with_cert
        assert f"CN = {peer}" in with_cert
        # without a client certificate the peer hangs up: plain or unauthenticated nodes never join.
        # TLS 1.3 sends that alert after the handshake: stdin stays open a moment to read it.
        anonymous = db.check_output(f"sleep 2 | {base} {lines.replace('</dev/null ', '')}")
        assert "certificate required" in anonymous, anonymous


def test_snapshots_are_configured_for_verified_tls_and_none_went_in_clear_text() -> None:
    # SST by mariabackup streams through socat: with [sst] ssl-mode it is openssl-listen on the
    # joiner and the donor checks the joiner's name; without, TCP-LISTEN in clear text. The
    # journal does not keep every line of a snapshot's chatter (the end of it is often missing),
    # so the configuration is asserted on every node and the clear stream is looked for
    # everywhere; the TLS stream itself was read in the lab's journal (roles/galera/README.md).
    for name in NODES:
        config = node(name).file("/etc/mysql/mariadb.conf.d/70-heroes-galera.cnf").content_string
        assert "[sst]\nssl-mode = VERIFY_IDENTITY" in config, name
        assert "ssl_cert = /etc/mysql/tls/cert.pem" in config, name
        journal = node(name).check_output("journalctl -u mariadb --no-pager -o cat")
        assert "TCP-LISTEN:4444" not in journal, f"{name}: a snapshot stream in clear text"


def test_clients_get_tls_through_the_vip_verified_by_name() -> None:
    client = node("client")
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as ca:
        ca.write(lab_ca())
        ca.flush()
        subprocess.run(["docker", "cp", ca.name, "client:/root/lab-ca.pem"], check=True)
    vault = str(ROOT / "inventory/lab/group_vars/galera/vault.yml")
    password = yaml.safe_load(subprocess.run(
        ["ansible-vault", "view", vault], capture_output=True, text=True, check=True, cwd=ROOT,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
    ).stdout)["vault_galera_probe_password"]
    login = f"mariadb -h 172.30.0.20 -u probe -p{password} --ssl --ssl-verify-server-cert heroes_probe -N -B"
    query = "SHOW SESSION STATUS LIKE 'Ssl_version'"
    out = client.check_output(f"{login} --ssl-ca=/root/lab-ca.pem -e \"{query}\"")
    assert out.split() in (["Ssl_version", "TLSv1.3"], ["Ssl_version", "TLSv1.2"]), out
    # another CA (the system's) does not vouch for the lab's database
    stranger = client.run(f"{login} --ssl-ca=/etc/ssl/certs/ca-certificates.crt -e 'SELECT 1'")
    assert stranger.rc != 0 and "TLS/SSL error" in stranger.stderr


def test_the_inventorys_provider_options_are_in_effect(db: Host) -> None:
    """galera_provider_options of the lab inventory (short group-communication timers) are what
    the running provider uses, after the role's own gcache and TLS options."""
    data = yaml.safe_load((ROOT / "inventory/lab/group_vars/galera/vars.yml").read_text())
    wanted = data["galera_provider_options"]
    assert wanted, "the lab sets provider options"
    provider = sql(db, "SELECT @@wsrep_provider_options").split(";")
    # "name = value" items; some values are empty ("evs.auto_evict = ")
    running = {name.strip(): value.strip()
               for name, _, value in (item.partition("=") for item in provider)}
    for name, value in wanted.items():
        assert running.get(name) == value, (name, running.get(name))
    assert running.get("socket.ssl") == "YES", running.get("socket.ssl")
