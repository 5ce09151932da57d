"""Verify a three-node Galera cluster built by the galera role.

Tests that take the ``host`` fixture run on every node; the fault and runbook tests below take
none and run once, reaching the nodes by name (``node()``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import testinfra

Host = Any
NODES = ("galera-db1", "galera-db2", "galera-db3")


def sql(host: Host, query: str) -> str:
    return str(host.check_output(f"mariadb -N -B -e {json.dumps(query)}")).strip()


def status(host: Host, name: str) -> str:
    return sql(host, f"SHOW GLOBAL STATUS LIKE '{name}'").split("\t")[1]


def wait_synced(db: Host, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    query = "mariadb -N -B -e \"SHOW GLOBAL STATUS LIKE 'wsrep_local_state_comment'\""
    while time.monotonic() < deadline and not db.run(query).stdout.strip().endswith("Synced"):
        time.sleep(2)
    assert status(db, "wsrep_local_state_comment") == "Synced"


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


def converge(*extra: str) -> subprocess.CompletedProcess[str]:
    """Run the scenario's converge playbook again, as `molecule converge` would."""
    scenario = Path(__file__).resolve().parents[1]
    repo = Path(__file__).resolve().parents[5]
    env = {
        **os.environ,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_ROLES_PATH": str(repo / "roles"),
        "ANSIBLE_FILTER_PLUGINS": str(repo / "plugins/filter"),
    }
    return subprocess.run(
        [
            "ansible-playbook",
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            *extra,
            str(scenario / "converge.yml"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def seed(db: Host, table: str, rows: int) -> str:
    """Committed rows in app.<table>, written on db; their checksum."""
    sql(db, f"CREATE TABLE IF NOT EXISTS app.{table} (id INT PRIMARY KEY, v INT) ENGINE=InnoDB")
    sql(db, f"REPLACE INTO app.{table} VALUES " + ",".join(f"({i}, {i * i})" for i in range(1, rows + 1)))
    return sql(db, f"CHECKSUM TABLE app.{table}").split("\t")[1]


def test_full_outage_is_refused_while_a_node_is_unreachable_then_recovered_from_the_node_the_data_choose(
) -> None:
    """A clean stop of every node (db3 last, so Galera marks it safe_to_bootstrap); a converge
    while db3 cannot be reached refuses and starts nothing (db3's state may be the newest); once
    db3 answers again, a plain converge bootstraps from it and every committed row is back."""
    db1, db2, db3 = (node(n) for n in NODES)
    before = seed(db1, "outage", 200)
    for db in (db1, db2, db3):
        db.run("systemctl stop mariadb")
    assert "safe_to_bootstrap: 1" in db3.file("/var/lib/mysql/grastate.dat").content_string
    assert "safe_to_bootstrap: 0" in db1.file("/var/lib/mysql/grastate.dat").content_string

    # db3 cannot be reached (its container is paused)
    subprocess.run(["docker", "pause", NODES[2]], check=True)
    try:
        refused = converge()
        still_down = db1.run("systemctl is-active mariadb").stdout.strip() != "active"
    finally:
        subprocess.run(["docker", "unpause", NODES[2]], check=True)
    said = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode != 0
    assert "refuse: no Primary component and galera-db3 cannot be reached" in said, said[-3000:]
    assert still_down, "a node was started while the cluster's newest state was unknown"

    result = converge()
    assert result.returncode == 0, result.stdout[-3000:]
    assert "bootstrap: galera-db3 has safe_to_bootstrap: 1" in " ".join(result.stdout.split())
    for db in (db1, db2, db3):
        assert status(db, "wsrep_cluster_size") == "3"
        assert sql(db, "SET SESSION wsrep_sync_wait=1; SELECT COUNT(*) FROM app.outage") == "200"
        assert sql(db, "CHECKSUM TABLE app.outage").split("\t")[1] == before


def test_refuses_to_rename_the_running_cluster() -> None:
    config = "/etc/mysql/mariadb.conf.d/70-heroes-galera.cnf"
    before = {n: node(n).file(config).content_string for n in NODES}
    result = converge("-e", "galera_cluster_name=renamed")
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "galera_cluster_name is 'renamed' but the cluster running on galera-db1 is named 'molecule'" in out
    for n in NODES:
        assert node(n).file(config).content_string == before[n], f"{n}: the configuration was changed"
        assert status(node(n), "wsrep_cluster_size") == "3"


def test_a_node_killed_hard_rejoins_by_ist() -> None:
    db1, db2 = node(NODES[0]), node(NODES[1])
    sql(db1, "CREATE TABLE IF NOT EXISTS app.ist (id INT PRIMARY KEY) ENGINE=InnoDB")
    since = db2.check_output("date '+%Y-%m-%d %H:%M:%S'")
    # kill -9: no clean shutdown; systemd restarts it (Restart=on-abnormal) and galera_recovery
    # finds its position, so it needs only the writes it missed (IST from the gcache), not a full SST
    db2.check_output("systemctl kill -s KILL mariadb")
    sql(db1, "REPLACE INTO app.ist VALUES " + ",".join(f"({i})" for i in range(1, 101)))
    wait_synced(db2, 90)
    assert status(db1, "wsrep_cluster_size") == "3"
    assert sql(db2, "SET SESSION wsrep_sync_wait=1; SELECT COUNT(*) FROM app.ist") == "100"
    log = db2.check_output(f"journalctl -u mariadb --since '{since}' --no-pager")
    assert "IST received" in log, log[-2000:]


def test_a_node_killed_during_its_sst_comes_back_by_a_converge() -> None:
    """db3 loses its state (a full SST is due), is killed (docker kill: power loss) while the SST
    runs, boots with MariaDB left down, and one plain converge brings it back by a new SST; every
    row acknowledged before, during and after is on every node."""
    db1, db3 = node(NODES[0]), node(NODES[2])
    marker = "/var/lib/mysql/sst_in_progress"  # the SST scripts' own, removed when one ends
    ids = acknowledged_rows(db1, "sstkill", 100)
    db3.check_output("systemctl stop mariadb && rm /var/lib/mysql/grastate.dat")
    try:
        db3.check_output("systemctl disable mariadb")  # left down at the next boot, for the converge
        # start without waiting: the start job lasts as long as the SST does
        db3.check_output("systemctl start --no-block mariadb")
        deadline, seen = time.monotonic() + 60, False
        while time.monotonic() < deadline and not seen:
            seen = subprocess.run(["docker", "exec", NODES[2], "test", "-e", marker]).returncode == 0
        assert seen, "db3 started no SST"
        subprocess.run(["docker", "kill", NODES[2]], check=True, capture_output=True)
        sql(db1, ";".join(f"INSERT INTO app.sstkill VALUES ({i})" for i in range(101, 151)))
        ids += list(range(101, 151))
        subprocess.run(["docker", "start", NODES[2]], check=True, capture_output=True)
        assert wait_for_exec(db3, path="/var/lib/mysql")
        assert db3.file(marker).exists, "the kill did not land during the SST"
        assert db3.run("systemctl is-active mariadb").stdout.strip() != "active"
        assert status(db1, "wsrep_cluster_size") == "2"

        result = converge()
        assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    finally:
        db3.run("systemctl enable mariadb")
    wait_synced(db3, 120)
    assert not db3.file(marker).exists
    assert db3.run("systemctl is-enabled mariadb").stdout.strip() == "enabled"
    sql(db1, ";".join(f"INSERT INTO app.sstkill VALUES ({i})" for i in range(151, 201)))
    ids += list(range(151, 201))
    assert_rows_on_every_node("sstkill", ids)


def acknowledged_rows(db: Host, table: str, count: int) -> list[int]:
    """Rows written one autocommit INSERT each; all of them acknowledged when the client exits 0."""
    sql(db, f"CREATE TABLE IF NOT EXISTS app.{table} (id INT PRIMARY KEY) ENGINE=InnoDB")
    sql(db, ";".join(f"INSERT INTO app.{table} VALUES ({i})" for i in range(1, count + 1)))
    return list(range(1, count + 1))


def assert_rows_on_every_node(table: str, ids: list[int]) -> None:
    for name in NODES:
        got = sql(node(name), f"SET SESSION wsrep_sync_wait=1; SELECT id FROM app.{table} ORDER BY id")
        assert [int(i) for i in got.split()] == ids, name
        assert status(node(name), "wsrep_cluster_size") == "3", name


def power_loss() -> None:
    """Every node killed at once (no clean shutdown), then its container started again."""
    subprocess.run(["docker", "kill", *NODES], check=True, capture_output=True)
    subprocess.run(["docker", "start", *NODES], check=True, capture_output=True)


def test_power_loss_of_every_node_galera_restores_the_primary_component_by_itself() -> None:
    ids = acknowledged_rows(node(NODES[0]), "powerloss", 200)
    power_loss()
    # MariaDB starts at boot; pc.recovery (gvwstate.dat) re-forms the Primary component once
    # every member of the last view is back: nobody bootstraps
    for name in NODES:
        wait_synced(node(name), 180)
    assert_rows_on_every_node("powerloss", ids)


def test_power_loss_without_view_state_is_recovered_by_the_runbook() -> None:
    """Where pc.recovery cannot help (the view state gone): seqno -1 everywhere, positions from
    mysqld --wsrep-recover, the plan under --check, then the bootstrap and the joins."""
    ids = acknowledged_rows(node(NODES[0]), "powerloss_runbook", 200)
    try:
        # MariaDB left down at the boot after the crash, to look at what the crash left behind
        for name in NODES:
            node(name).check_output("systemctl disable mariadb")
        power_loss()
        for name in NODES:
            db = node(name)
            assert wait_for_exec(db), name
            db.check_output("rm -f /var/lib/mysql/gvwstate.dat")  # the view state is gone
            grastate = db.file("/var/lib/mysql/grastate.dat").content_string
            assert re.search(r"seqno:\s+-1", grastate) and "safe_to_bootstrap: 0" in grastate, grastate
        plan = playbook("playbooks/maintenance/galera-recover.yml", "--check")
        said = " ".join((plan.stdout + plan.stderr).split())
        assert plan.returncode == 0, said[-3000:]
        assert "has the highest seqno" in said, said[-3000:]
        assert all(node(n).run("systemctl is-active mariadb").stdout.strip() != "active" for n in NODES)
        done = playbook("playbooks/maintenance/galera-recover.yml")
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    finally:
        for name in NODES:
            node(name).run("systemctl enable mariadb")
    assert_rows_on_every_node("powerloss_runbook", ids)


def wait_for_exec(db: Host, timeout: float = 60, path: str = "/var/lib/mysql/grastate.dat") -> bool:
    """A restarted container answers commands (its systemd is up enough to run them)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if db.run(f"test -e {path}").rc == 0:
                return True
        except Exception:
            pass
        time.sleep(1)
    return False


def galera_service(name: str, args: str) -> subprocess.CompletedProcess[str]:
    """The role's service module (roles/galera/library/galera_service.py), ad hoc on one node."""
    repo = Path(__file__).resolve().parents[5]
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
           "ANSIBLE_LIBRARY": str(repo / "roles/galera/library")}
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    command = ["ansible", "-i", inventory, name, "-m", "galera_service", "-a", args]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


# What a CI run found once in a joiner's multi-master.info after its SST over TLS (README,
# "Verified for real"): a TLS 1.3 record of 24 bytes. MariaDB's next start aborted and hung.
TLS_RECORD = bytes([0x17, 0x03, 0x03, 0x00, 0x13, 0x46, 0x53, 0xF3, 0xCE, 0xBC, 0x17, 0xB8, 0x64, 0x0A,
                    0xF8, 0xBC, 0x17, 0x0A, 0x23, 0x3A, 0x2E, 0x2A, 0x76, 0xA6])
INDEX = "/var/lib/mysql/multi-master.info"


def test_a_stopped_node_bootstrap_refused_failed_start_then_one_converge_with_a_changed_option() -> None:
    """One node out of the running cluster, three things on it (two converges, not six):
    1. galera_bootstrap_node naming it is refused while the others run a Primary component;
    2. its MariaDB fails to start (an option it does not know) and leaves its socket behind; the
       role's start (galera_service) fails at once and quotes the server's error;
    3. one plain converge with a changed option brings it back (it starts with the new files)
       and restarts the two running nodes one at a time, each Synced before the next: no
       balancer here, so the restart path drains nothing; writes acknowledged meanwhile are on
       every node. db3 carries the bytes of the SST fault in its multi-master.info: its restart
       sets them aside (kept) and starts."""
    db1, db2 = node(NODES[0]), node(NODES[1])
    db2.check_output("systemctl stop mariadb")
    refused = converge("-e", f"galera_bootstrap_node={NODES[1]}")
    said = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode != 0
    assert f"galera_bootstrap_node={NODES[1]} was given but the cluster runs" in said, said[-3000:]
    assert db2.run("systemctl is-active mariadb").stdout.strip() != "active", "db2 was started"
    assert status(db1, "wsrep_cluster_size") == "2" and status(db1, "wsrep_cluster_status") == "Primary"

    broken = "/etc/mysql/mariadb.conf.d/99-molecule-broken.cnf"
    db2.check_output(f"printf '[mysqld]\\nheroes-no-such-option = 1\\n' > {broken}")
    # mariadbd reads the option only after it joined (SST) and aborts: a signal, so the unit's
    # Restart=on-abnormal would start it again 5 s later and it would join by itself. A node that
    # fails to start stays down here: the stop in the same breath cancels that scheduled restart.
    began = time.monotonic()
    start = galera_service(NODES[1], "name=mariadb state=started timeout=600")
    took = time.monotonic() - began
    db2.run("systemctl stop mariadb")
    said = " ".join((start.stdout + start.stderr).split())
    assert start.returncode != 0, said[-3000:]
    assert re.search(r"MariaDB \(mariadb\) (aborted its start|failed to start)", said), said[-3000:]
    assert "unknown variable 'heroes-no-such-option=1'" in said, said[-3000:]
    assert took < 120, f"the failed start took {took:.0f} s to be reported"
    db2.check_output(f"rm {broken}")
    assert db2.run("systemctl is-active mariadb").stdout.strip() != "active"
    assert db2.file("/run/mysqld/mysqld.sock").is_socket  # left behind; nobody listens on it
    assert db2.run("mariadb -e 'SELECT 1'").rc != 0
    ids = acknowledged_rows(db1, "failedstart", 50)

    db3 = node(NODES[2])
    db3.check_output(f"echo {base64.b64encode(TLS_RECORD).decode()} | base64 -d > {INDEX}")
    assert db3.file(INDEX).size == len(TLS_RECORD)

    started = "systemctl show -p ExecMainStartTimestampMonotonic --value mariadb"
    running = [NODES[0], NODES[2]]
    before = {n: node(n).check_output(started) for n in running}
    options = {"galera_mysqld_options": {"performance_schema": "ON", "max_connect_errors": "1000"}}
    result = converge("-e", json.dumps(options))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    restarted = re.findall(r"TASK \[galera : Restart MariaDB - (galera-db\d)\]", out)
    assert restarted == running, restarted
    steps = re.findall(r"TASK \[galera : (Restart MariaDB|Wait for Synced) - (galera-db\d)\]", out)
    steps = steps[steps.index(("Restart MariaDB", restarted[0])):]  # the restart path's own
    assert steps == [step for n in restarted for step in
                     (("Restart MariaDB", n), ("Wait for Synced", n))], steps
    assert "TASK [haproxy" not in out, "no balancer here: nothing is drained"
    wait_synced(db2, 90)
    for n in running:
        assert node(n).check_output(started) != before[n], f"{n} was not restarted"
    for n in NODES:
        assert sql(node(n), "SELECT @@max_connect_errors") == "1000", n
    assert_rows_on_every_node("failedstart", ids)
    said = " ".join(out.split())
    set_aside = f"{INDEX} was not a list of replication connection names (24 bytes, not UTF-8 text"
    assert set_aside in said, said[-3000:]
    assert db3.file(INDEX).size == 0 and db3.file(INDEX).user == "mysql"
    aside = db3.check_output(f"ls {INDEX}.unreadable-*").split()
    assert len(aside) == 1 and db3.file(aside[0]).content == TLS_RECORD, aside


def playbook(path: str, *extra: str) -> subprocess.CompletedProcess[str]:
    repo = Path(__file__).resolve().parents[5]
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
           "ANSIBLE_FILTER_PLUGINS": str(repo / "plugins/filter"), "ANSIBLE_ROLES_PATH": str(repo / "roles")}
    if path == UPGRADE:
        # the upgrade replaces the nodes' Python under the run: Ansible's own strategy starts a
        # fresh interpreter per task, Mitogen's would go on with the old one
        env["ANSIBLE_STRATEGY"] = "linear"
    return subprocess.run(["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], *extra,
                           str(repo / path)], capture_output=True, text=True, env=env, check=False)


def test_the_sql_audit_reads_what_a_node_really_ran() -> None:
    db1 = node(NODES[0])
    assert sql(db1, "SELECT @@performance_schema") == "1"  # galera_mysqld_options in molecule.yml
    # what an old application sends: a named lock and a delayed insert (refused on InnoDB, but
    # sent all the same: the digest table records it)
    sql(db1, "CREATE TABLE IF NOT EXISTS app.hits (id INT PRIMARY KEY) ENGINE=InnoDB")
    sql(db1, "SELECT GET_LOCK('heroes-cron', 1); SELECT RELEASE_LOCK('heroes-cron')")
    db1.run("mariadb -e 'INSERT DELAYED INTO app.hits VALUES (1)'")
    audit = "playbooks/maintenance/galera-sql-audit.yml"
    result = playbook(audit, "-e", f"sql_audit_digests_from={NODES[0]}")
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, out[-3000:]
    assert f"digests of {NODES[0]}" in out
    assert "insert-delayed" in out and "get-lock" in out, out[-3000:]


def test_refuses_to_switch_tls_in_one_step() -> None:
    config = "/etc/mysql/mariadb.conf.d/70-heroes-galera.cnf"
    before = {n: node(n).file(config).content_string for n in NODES}
    pem = "-----BEGIN CERTIFICATE-----\nnot checked before the refusal\n-----END CERTIFICATE-----"
    key = "-----BEGIN PRIVATE KEY-----\nnot checked before the refusal\n-----END PRIVATE KEY-----"
    tls = {"galera_tls_enabled": True, "galera_tls_ca_cert": pem, "galera_tls_cert": pem,
           "galera_tls_private_key": key}
    result = converge("-e", json.dumps(tls))
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "has TLS off; nodes restarted one by one would not reach the others" in out, out[-3000:]
    for n in NODES:
        assert node(n).file(config).content_string == before[n], f"{n}: the configuration was changed"
        assert not node(n).file("/etc/mysql/tls").exists


UPGRADE = "playbooks/maintenance/galera-rolling-upgrade.yml"
DONORS = "/etc/mysql/mariadb.conf.d/72-heroes-galera-donors.cnf"


def release(db: Host) -> str:
    return str(db.check_output(". /etc/os-release && echo $VERSION_CODENAME"))


# Last in this file: it leaves the nodes on Debian 13.
def test_rolling_upgrade_to_debian_13_pins_donors_while_releases_are_mixed() -> None:
    db1, db2, db3 = (node(n) for n in NODES)
    before = seed(db1, "upgrade", 300)
    no_reboot = json.dumps({"galera_upgrade_reboot": False})  # containers do not reboot

    refused = playbook(UPGRADE, "-e", no_reboot)
    assert refused.returncode != 0
    said = " ".join((refused.stdout + refused.stderr).split())
    assert "run again with -e galera_upgrade_confirm=yes" in said
    assert release(db3) == "bookworm"

    # tonight one node: galera-db3 moves to Debian 13 / MariaDB 11.8, the others stay on 10.11
    one = playbook(UPGRADE, "-e", no_reboot, "-e", "galera_upgrade_confirm=yes",
                   "-e", json.dumps({"galera_upgrade_nodes": [NODES[2]]}))
    assert one.returncode == 0, (one.stdout + one.stderr)[-4000:]
    assert release(db3) == "trixie" and sql(db3, "SELECT VERSION()").startswith("11.8.")
    assert release(db1) == "bookworm" and sql(db1, "SELECT VERSION()").startswith("10.11.")
    # the 10.11 nodes take state transfers only from 10.11; the 11.8 node from any
    assert sql(db1, "SELECT @@wsrep_sst_donor") == NODES[1]
    assert sql(db2, "SELECT @@wsrep_sst_donor") == NODES[0]
    assert sql(db3, "SELECT @@wsrep_sst_donor") == f"{NODES[0]},{NODES[1]}"
    assert f"wsrep_sst_donor = {NODES[0]}" in db2.file(DONORS).content_string
    for db in (db1, db2, db3):
        assert status(db, "wsrep_cluster_size") == "3"

    # a 10.11 node that loses its data needs a full snapshot: it comes from the 10.11 node,
    # never from the 11.8 one (whose snapshot a 10.11 joiner cannot use, and loops)
    since = db2.check_output("date '+%Y-%m-%d %H:%M:%S'")
    db2.check_output("systemctl stop mariadb && rm -f /var/lib/mysql/grastate.dat && systemctl start mariadb")
    wait_synced(db2)
    log = db2.check_output(f"journalctl -u mariadb --since '{since}' --no-pager")
    assert re.search(rf"State transfer from \S+ \({NODES[0]}\) complete", log), log[-3000:]

    # the rest: galera-db2, then the writer galera-db1; the pins go when one release is left
    rest = playbook(UPGRADE, "-e", no_reboot, "-e", "galera_upgrade_confirm=yes")
    assert rest.returncode == 0, (rest.stdout + rest.stderr)[-4000:]
    out = " ".join(rest.stdout.split())
    assert "one release on every node: no donor pins" in out
    for db in (db1, db2, db3):
        assert release(db) == "trixie" and sql(db, "SELECT VERSION()").startswith("11.8.")
        assert status(db, "wsrep_cluster_size") == "3"
        assert status(db, "wsrep_local_state_comment") == "Synced"
        assert sql(db, "SELECT @@wsrep_sst_donor") == ""
        assert not db.file(DONORS).exists
        assert sql(db, "SET SESSION wsrep_sync_wait=1; SELECT COUNT(*) FROM app.upgrade") == "300"
        assert sql(db, "CHECKSUM TABLE app.upgrade").split("\t")[1] == before
