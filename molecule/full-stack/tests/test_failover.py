"""The failover tier in the full stack: HAProxy on lb1/lb2, the database VIP, Galera behind it.

Clients are real: web-style transactions and connect probes from the client container
(src/heroes_infra/loadprobe.py), through the VIP 172.30.0.20.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import testinfra
import yaml
from ansiblerun import playbook, why
from labhosts import vault
from matomolab import finish_tracking, recent_visits, start_tracking, visits_on_node

ROOT = Path(__file__).resolve().parents[3]
Host = Any
VIP = "172.30.0.20"
BALANCERS = ("lb1", "lb2")
NODES = ("db1", "db2", "db3")
PROBE = "/usr/local/bin/heroes-loadprobe"
# The longest stall web clients may see in a restart of the whole cluster. The target is 0.5 s
# (measured: benchmarks/galera_rejoin.py, the README's figures); the bound has a margin for a
# busy CI machine and still fails with Galera's own timers (1.5 and 2.5 s seen in the
# configuration-change test).
STALL_BOUND = 1.0
# A keepalived that (re)started takes its VIPs back from a peer with a lower priority this many
# seconds later (keepalived_preempt_delay of the lab's inventory): the failback waits count it.
PREEMPT_DELAY = int(yaml.safe_load((ROOT / "inventory/lab/group_vars/all/vips.yml").read_text())
                    ["keepalived_preempt_delay"])


def node(name: str) -> Host:
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


@cache
def probe_args(port: int = 3306) -> str:
    password = vault("galera")["vault_galera_probe_password"]
    return f"--host {VIP} --port {port} --user probe --password {password} --database heroes_probe"


def record(test: str, result: dict[str, Any]) -> None:
    """Keep a fault test's figures (a JSON line in $HEROES_FIGURES, default
    /tmp/heroes-figures.jsonl): the closing note and the README quote them."""
    kept = ("ok", "failed", "errors", "longest_stall", "longest_stall_from", "failures", "cert_failures")
    figures = {k: result[k] for k in kept if k in result}
    with open(os.environ.get("HEROES_FIGURES", "/tmp/heroes-figures.jsonl"), "a") as out:
        out.write(json.dumps({"test": test, "at": time.time(), **figures}) + "\n")


def holders() -> list[str]:
    return [lb for lb in BALANCERS if f" {VIP}/" in node(lb).check_output("ip -4 -o addr show dev eth0")]


def wait_for(predicate: Any, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def runtime(lb: str, command: str) -> str:
    return str(node(lb).check_output(f"echo '{command}' | socat stdio /run/haproxy/admin.sock"))


def servers(lb: str, backend: str = "galera_write") -> dict[str, dict[str, Any]]:
    import sys

    sys.path.insert(0, str(ROOT / "src"))
    from heroes_infra.haproxy_stat import servers as parse

    return {s["name"]: s for s in parse(runtime(lb, "show stat"), backend)}


def all_up() -> bool:
    return all(s["status"] == "UP" for lb in BALANCERS for s in servers(lb).values())


@pytest.fixture(scope="module")
def client() -> Iterator[Host]:
    """The client container with the load probe installed (playbooks/lab/client.yml gave it PyMySQL)."""
    source = str(ROOT / "src/heroes_infra/loadprobe.py")
    subprocess.run(["docker", "cp", source, f"client:{PROBE}"], check=True)
    host = node("client")
    host.check_output(f"chmod 0755 {PROBE}")
    # the probes' table, created once before any load: a CREATE TABLE is DDL, and DDL under
    # Galera aborts the writes in flight on the table (a probe started beside another)
    host.check_output(f"python3 {PROBE} web {probe_args()} --workers 1 --duration 0")
    yield host


@pytest.fixture
def settled(client: Host) -> Iterator[Host]:
    """Each test starts and ends with lb1 holding the VIP and every server UP on both balancers."""
    for lb in BALANCERS:
        node(lb).check_output("systemctl start haproxy keepalived")
    assert wait_for(lambda: holders() == ["lb1"], PREEMPT_DELAY + 15), holders()
    assert wait_for(all_up, 15)
    client.run("rm -f /tmp/heroes-loadprobe.stop")
    yield client
    subprocess.run(["docker", "unpause", "lb1"], capture_output=True, check=False)
    for lb in BALANCERS:
        node(lb).check_output("systemctl start haproxy keepalived")
    assert wait_for(lambda: holders() == ["lb1"], PREEMPT_DELAY + 15), holders()


def start(client: Host, mode: str, options: str, out: str) -> None:
    client.check_output(f"rm -f /tmp/heroes-loadprobe.stop {out}; "
                        f"nohup python3 {PROBE} {mode} {probe_args()} {options} > {out} 2>&1 &")


def start_web(client: Host, tag: str) -> None:
    """Web-style clients through the VIP; /tmp/<tag>.json their result, /tmp/<tag>-ack.json the
    ids of the rows whose COMMIT they got back."""
    start(client, "web", f"--workers 4 --rate 10 --duration 400 --ack-file /tmp/{tag}-ack.json",
          f"/tmp/{tag}.json")


def finish(client: Host, out: str, timeout: float = 30) -> dict[str, Any]:
    client.check_output("touch /tmp/heroes-loadprobe.stop")
    assert wait_for(lambda: client.file(out).contains("}"), timeout), client.file(out).content_string
    return dict(json.loads(client.file(out).content_string.strip().splitlines()[-1]))


def test_the_vip_answers_mysql_and_db1_writes(settled: Host) -> None:
    password = vault("galera")["vault_galera_probe_password"]
    query = f"mariadb -h {VIP} -u probe -p{password} heroes_probe -N -B -e 'SELECT @@hostname'"
    assert settled.check_output(query) == "db1"
    reader = settled.check_output(query.replace(f"-h {VIP}", f"-h {VIP} -P 3307"))
    assert reader in NODES


def test_exactly_one_balancer_holds_the_vip(settled: Host) -> None:
    assert holders() == ["lb1"]


def test_stats_show_one_writer_and_two_backups_on_both_balancers(settled: Host) -> None:
    for lb in BALANCERS:
        write = servers(lb)
        assert {n: (s["status"], s["backup"]) for n, s in write.items()} == {
            "db1": ("UP", False), "db2": ("UP", True), "db3": ("UP", True)}, lb
    # the agents' last answers: a check that timed out while the hosts were busy is asked again
    # every agent-inter
    def agents() -> dict[str, dict[str, str]]:
        return {lb: {n: s["agent_status"] for n, s in servers(lb).items()} for lb in BALANCERS}
    assert wait_for(lambda: all(v == "L7OK" for lb in agents().values() for v in lb.values()), 15), agents()
    password = vault("haproxy")["vault_haproxy_stats_password"]
    page = settled.check_output(f"curl -sf -u admin:{password} 'http://172.30.0.21:8404/stats;csv'")
    assert "galera_write,db1," in page
    assert settled.run("curl -sf 'http://172.30.0.21:8404/stats;csv'").rc != 0, "the page needs the password"


def test_the_agent_says_up_on_every_synced_node() -> None:
    agent = "/usr/local/lib/heroes-galera-agent/heroes_galera_agent.py"
    for name in NODES:
        db = node(name)
        # what HAProxy reads on the agent port
        address = db.ansible.get_variables()["host_address"]
        code = f"import socket;print(socket.create_connection(('{address}',9200),2).makefile().read())"
        assert db.check_output(f'python3 -c "{code}"').strip() == "up 100%", name
        # and by hand, as the agent's user (its MariaDB account logs in by unix_socket)
        reply = db.check_output(f"runuser -u heroes_galera_agent -- python3 {agent} check")
        assert reply.startswith("up 100%"), (name, reply)
        assert db.run(f"python3 {agent} check").rc == 1, "root is not the agent's account"


def started_at() -> dict[str, str]:
    return {n: node(n).check_output("systemctl show -p ExecMainStartTimestampMonotonic --value mariadb")
            for n in NODES}


def assert_acknowledged_on_every_node(client: Host, ack_file: str, table: str = "probe_events") -> int:
    """Every row whose COMMIT a client got back is on every node; returns how many were checked."""
    acknowledged = set(json.loads(client.file(ack_file).content_string))
    assert acknowledged, "the client recorded no acknowledged write"
    for name in NODES:
        out = node(name).check_output(
            f"mariadb -N -B heroes_probe -e 'SET SESSION wsrep_sync_wait=1; SELECT id FROM {table}'")
        missing = acknowledged - {int(i) for i in out.split()}
        assert not missing, (name, len(missing), sorted(missing)[:10])
    return len(acknowledged)


def restart_order(out: str) -> list[str]:
    """The nodes in the order the restart path restarted them (its task names them)."""
    return re.findall(r"TASK \[galera : Restart MariaDB - (db\d)\]", out)


def cert_failures() -> int:
    """Writes that Galera refused at certification (a conflict with another node's), every node."""
    return sum(int(wsrep(n, "wsrep_local_cert_failures")) for n in NODES)


def assert_every_node_restarted_drained(proc: subprocess.CompletedProcess[str], before: dict[str, str],
                                       max_connect_errors: str) -> dict[str, str]:
    """A database.yml run that changed the mysqld options: it passed, it restarted every node, each
    drained on every balancer first and the writer (db1, first of haproxy_galera_writer_order)
    last, and every node reads the option; returns when each node's MariaDB started."""
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, why(proc)
    after = started_at()
    for n in NODES:
        assert after[n] != before[n], f"{n} was not restarted"
        assert sql_on(n, "SELECT @@max_connect_errors") == max_connect_errors, n
    assert "Drain the server on every balancer - db1" in out
    assert restart_order(out) == ["db3", "db2", "db1"], restart_order(out)
    return after


def test_a_changed_mysqld_option_and_its_take_back_restart_every_node_drained_with_nothing_lost(
        settled: Host) -> None:
    """The galera role's one restart path (tasks/rolling-restart.yml: database.yml's and the
    rolling-restart runbook's), twice, each restart of a node drained on both balancers, the
    writer last:
    1. the runbook galera-rolling-restart.yml under --check names that order and changes nothing;
    2. database.yml (the tier's play of site.yml) with a changed mysqld option, under web-style
       clients: every node restarted and reading the option, 0 failed transactions, every
       acknowledged write on every node;
    3. database.yml as the inventory says (the option taken back: the lab stays as its inventory
       says) under web-style clients, a connection pool (persistent writers) and Matomo's tracking
       (app1, through the VIP): 0 failed web transactions; the pool loses its connections only
       where a restart or the failback cuts them (connection errors, never a deadlock or a refused
       write) and, once the writer is back, commits on the writer only (its sessions on the backup
       were shut down); no certification failure; every acknowledged write of both on every node;
       no visit refused, every visit acknowledged on every node and counted by the reporting API.
    (One cycle of restarts fewer than a runbook run beside the option's two: the same tasks file.)"""
    before = started_at()
    checked = playbook("playbooks/maintenance/galera-rolling-restart.yml", "--check")
    assert checked.returncode == 0, why(checked)
    said = re.findall(r"(db\d): MariaDB would be restarted, one node at a time, drained first on lb1, lb2",
                      checked.stdout)
    assert said == ["db3", "db2", "db1"], checked.stdout[-3000:]
    assert started_at() == before, "the runbook's --check restarted a node"

    # 2. the option changed
    start_web(settled, "cfg")
    time.sleep(3)
    option = {"galera_mysqld_options": {"max_connect_errors": "1000"}}
    proc = playbook("playbooks/database.yml", "-e", json.dumps(option))
    time.sleep(2)
    result = finish(settled, "/tmp/cfg.json")
    record("config-change-1000", result)
    after = assert_every_node_restarted_drained(proc, before, "1000")
    assert result["failed"] == 0, result
    assert result["longest_stall"] < STALL_BOUND, result
    assert all_up(), "every server is back UP and ready on both balancers"
    assert assert_acknowledged_on_every_node(settled, "/tmp/cfg-ack.json") == result["ok"]

    # 3. the option taken back, under web clients, a pool and Matomo's tracking
    before, conflicts = after, cert_failures()
    visits = recent_visits()
    start_tracking("roll")
    start_web(settled, "web")
    start(settled, "pool", "--workers 3 --rate 20 --duration 400 --ack-file /tmp/pool-ack.json",
          "/tmp/pool.json")
    time.sleep(3)
    # the pool's sessions never end by themselves: a drain waits 5 s for them, not 30
    proc = playbook("playbooks/database.yml", "-e", "galera_drain_timeout=5")
    done = time.time()
    time.sleep(3)
    result = finish(settled, "/tmp/web.json")
    pooled = finish(settled, "/tmp/pool.json")
    tracked, refused = finish_tracking("roll")
    record("rolling-restart", result)
    record("rolling-restart-pool", {**pooled, "cert_failures": cert_failures() - conflicts})
    assert_every_node_restarted_drained(proc, before, "100")
    assert result["failed"] == 0, result
    assert result["ok"] > 200, result
    # the longest time without a completed transaction: 0.21-0.42 s per restart of the writer
    # with the inventory's galera_provider_options, 0.5-3 s with Galera's own timers
    assert result["longest_stall"] < STALL_BOUND, result
    assert all_up(), "every server is back UP and ready on both balancers"
    assert assert_acknowledged_on_every_node(settled, "/tmp/web-ack.json") == result["ok"]
    # the pool: cut connections only, back on the writer after the failback
    # client-side codes (2000 and up: the connection was lost) or PyMySQL's 0 (it was closed)
    assert all(code == "0" or (code.isdigit() and int(code) >= 2000) for code in pooled["errors"]), pooled
    assert pooled["commits"].get("db1", 0) > 0, pooled
    late = {server: at for server, at in pooled["last_commit"].items() if server != "db1" and at > done}
    assert not late, f"the pool wrote beside the writer after the restart: {late}"
    assert cert_failures() == conflicts
    assert assert_acknowledged_on_every_node(settled, "/tmp/pool-ack.json") == pooled["ok"]
    # Matomo: no visit lost during or after the restarts
    assert not refused and len(tracked) > 100, (len(tracked), refused)
    for name in NODES:
        missing = tracked - visits_on_node(name, "roll")
        assert not missing, (name, sorted(missing)[:10])
    assert recent_visits() == visits + len(tracked)


def sql_on(name: str, query: str) -> str:
    return str(node(name).check_output(f"mariadb -N -B -e {json.dumps(query)}")).strip()


def test_myisam_conversion_runs_where_haproxy_writes_and_loses_no_write_made_meanwhile(
        settled: Host) -> None:
    """A MyISAM table written through the VIP while db1 is drained, so that HAProxy writes to
    db2: the runbook reports it, changes nothing under --check, then converts it on db2 (where
    the rows are, not on the first node of the group) while web clients go on writing to it:
    every acknowledged row is in the InnoDB table on every node. A write can only be refused, never
    lost: the runbook's DDL on the table (its triggers and the RENAME, about ten statements) runs
    in total order isolation and aborts a transaction in flight on it, whose client gets 1213 and
    no acknowledgement (seen once in session 11's runs); anything else, or a refusal outside the
    runbook's run, fails the test."""
    table = "heroes_probe.legacy_hits"
    runbook = "playbooks/maintenance/galera-myisam-to-innodb.yml"
    sql_on("db2", f"DROP TABLE IF EXISTS {table}, {table}__myisam_old, {table}__innodb")
    sql_on("db2", f"CREATE TABLE {table} (id BIGINT AUTO_INCREMENT PRIMARY KEY, worker INT NOT NULL, "
                  "at DOUBLE NOT NULL) ENGINE=MyISAM")
    engine = ("SELECT ENGINE FROM information_schema.TABLES "
              f"WHERE CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) = '{table}'")
    try:
        for lb in BALANCERS:
            runtime(lb, "set server galera_write/db1 state drain")
        start(settled, "web", "--workers 4 --rate 10 --duration 300 --table legacy_hits "
                              "--ack-file /tmp/myisam-ack.json", "/tmp/myisam.json")
        time.sleep(3)
        # MyISAM rows are not replicated: only db2, the node written to, has them
        assert int(sql_on("db2", f"SELECT COUNT(*) FROM {table}")) > 0
        assert sql_on("db1", f"SELECT COUNT(*) FROM {table}") == "0"

        report = playbook(runbook)
        assert report.returncode == 0, why(report)
        assert "heroes_probe.legacy_hits | MyISAM" in report.stdout
        assert "Reporting non-InnoDB tables on db2" in " ".join(report.stdout.split())
        checked = playbook(runbook, "--check", "-e", "galera_myisam_confirm=yes")
        assert checked.returncode == 0, why(checked)
        assert sql_on("db2", engine) == "MyISAM"

        began = time.time()
        converted = playbook(runbook, "-e", "galera_myisam_confirm=yes")
        ended = time.time()
        time.sleep(2)
        result = finish(settled, "/tmp/myisam.json")
    finally:
        for lb in BALANCERS:
            runtime(lb, "set server galera_write/db1 state ready")
    record("myisam-conversion", result)
    assert converted.returncode == 0, why(converted)
    assert set(result["errors"]) <= {"1213"} and result["failed"] <= 10, result
    assert all(began <= at <= ended for at, _ in result["failures"]), (began, ended, result)
    for name in NODES:
        assert sql_on(name, engine) == "InnoDB", name
    assert assert_acknowledged_on_every_node(settled, "/tmp/myisam-ack.json", "legacy_hits") == result["ok"]
    # the clients wrote while the runbook ran (the triggers caught those writes, or the new table took them)
    during = sql_on("db1", f"SELECT COUNT(*) FROM {table} WHERE at BETWEEN {began} AND {ended}")
    assert int(during) > 10, during
    # the old table is kept where the rows were, and a dump was taken first
    assert int(sql_on("db2", f"SELECT COUNT(*) FROM {table}__myisam_old")) > 0
    assert node("db2").run("ls /var/backups/heroes-galera/heroes_probe.legacy_hits.*.sql").rc == 0
    triggers = "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'heroes_probe'"
    assert sql_on("db2", triggers) == "0", "the capture triggers are gone"
    again = playbook(runbook)
    assert "every table is InnoDB" in again.stdout
    sql_on("db2", f"DROP TABLE {table}__myisam_old")


def test_rolling_restart_refuses_to_drain_the_last_ready_server(settled: Host) -> None:
    try:
        for lb in BALANCERS:
            for other in ("db2", "db3"):
                runtime(lb, f"set server galera_write/{other} state maint")
        proc = playbook("playbooks/maintenance/galera-rolling-restart.yml", "--limit", "db1")
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0
        assert "no other server of galera_write is UP and ready" in out
        assert "Drain the node on every balancer" not in out
        assert all(servers(lb)["db1"]["status"] == "UP" for lb in BALANCERS), "db1 was not drained"
    finally:
        for lb in BALANCERS:
            for other in ("db2", "db3"):
                runtime(lb, f"set server galera_write/{other} state ready")
    assert wait_for(all_up, 15)


def mac(name: str) -> str:
    return str(node(name).check_output("cat /sys/class/net/eth0/address")).strip()


def test_clean_failover_moves_the_vip_fast_and_garp_updates_clients(settled: Host) -> None:
    start(settled, "probe", "--interval 0.05 --duration 60", "/tmp/probe.json")
    time.sleep(2)
    assert mac("lb1") in settled.check_output(f"ip neigh show {VIP}")
    node("lb1").check_output("systemctl stop keepalived")
    assert wait_for(lambda: holders() == ["lb2"], 5), holders()
    time.sleep(2)
    # the new holder's gratuitous ARPs moved the client's neighbour entry without a new lookup
    assert mac("lb2") in settled.check_output(f"ip neigh show {VIP}")
    node("lb1").check_output("systemctl start keepalived")
    assert wait_for(lambda: holders() == ["lb1"], PREEMPT_DELAY + 10), holders()
    time.sleep(2)
    result = finish(settled, "/tmp/probe.json")
    assert result["longest_gap"] < 1.0, result
    assert result["ok"] > 50, result


def test_a_killed_holder_loses_the_vip_within_a_second(settled: Host) -> None:
    # docker kill: the machine is gone (no process, no kernel answering ARP or TCP).
    start(settled, "probe", "--interval 0.05 --duration 90", "/tmp/probe.json")
    time.sleep(2)
    subprocess.run(["docker", "kill", "lb1"], check=True, capture_output=True)
    try:
        assert wait_for(lambda: f" {VIP}/" in node("lb2").check_output("ip -4 -o addr show dev eth0"), 5)
        time.sleep(2)
        result = finish(settled, "/tmp/probe.json")
    finally:
        subprocess.run(["docker", "start", "lb1"], check=True, capture_output=True)
    assert result["longest_gap"] < 1.5, result
    # lb1 boots, its HAProxy and keepalived start, it takes the VIP back: exactly one holder.
    assert wait_for(lambda: holders() == ["lb1"], PREEMPT_DELAY + 60), holders()


def test_a_keepalived_killed_hard_is_restarted_by_systemd_and_one_holder_remains(settled: Host) -> None:
    start(settled, "probe", "--interval 0.05 --duration 60", "/tmp/probe.json")
    time.sleep(2)
    restarts = "systemctl show -p NRestarts --value keepalived"
    before = int(node("lb1").check_output(restarts))
    node("lb1").check_output("systemctl kill -s KILL keepalived")
    assert wait_for(lambda: "lb2" in holders(), 5), holders()
    # systemd starts it again (roles/keepalived's drop-in); it clears the stale address and
    # takes the VIP back by priority
    assert wait_for(lambda: holders() == ["lb1"], PREEMPT_DELAY + 20), holders()
    assert int(node("lb1").check_output(restarts)) == before + 1
    time.sleep(2)
    result = finish(settled, "/tmp/probe.json")
    assert result["longest_gap"] < 1.5, result


def test_a_paused_holder_loses_the_vip_and_one_holder_remains(settled: Host) -> None:
    # docker pause freezes the processes but not the kernel: it still answers ARP and TCP
    # handshakes, so connections opened just before hang until it thaws (clients need read
    # timeouts); new ones follow lb2's gratuitous ARPs.
    subprocess.run(["docker", "pause", "lb1"], check=True)
    try:
        assert wait_for(lambda: f" {VIP}/" in node("lb2").check_output("ip -4 -o addr show dev eth0"), 5)
        password = vault("galera")["vault_galera_probe_password"]
        query = f"mariadb -h {VIP} -u probe -p{password} --connect-timeout=3 heroes_probe -N -e 'SELECT 1'"
        assert settled.check_output(query) == "1"
    finally:
        subprocess.run(["docker", "unpause", "lb1"], check=True)
    assert wait_for(lambda: holders() == ["lb1"], PREEMPT_DELAY + 10), holders()


def test_a_dead_haproxy_gives_the_vip_away(settled: Host) -> None:
    node("lb1").check_output("systemctl stop haproxy")
    assert wait_for(lambda: holders() == ["lb2"], 8), holders()
    password = vault("galera")["vault_galera_probe_password"]
    query = f"mariadb -h {VIP} -u probe -p{password} heroes_probe -N -e 'SELECT 1'"
    assert settled.check_output(query) == "1"


def test_a_reload_keeps_established_connections(settled: Host) -> None:
    password = vault("galera")["vault_galera_probe_password"]
    code = (
        "import pymysql,time;"
        f"c=pymysql.connect(host='{VIP}',user='probe',password='{password}',database='heroes_probe');"
        "k=c.cursor();k.execute('SELECT CONNECTION_ID()');a=k.fetchone()[0];time.sleep(4);"
        "k.execute('SELECT CONNECTION_ID()');print(a==k.fetchone()[0])"
    )
    settled.check_output(f'nohup python3 -c "{code}" > /tmp/reload.out 2>&1 &')
    time.sleep(1.5)
    for lb in BALANCERS:
        node(lb).check_output("systemctl reload haproxy")
    assert wait_for(lambda: settled.file("/tmp/reload.out").content_string.strip() != "", 10)
    assert settled.file("/tmp/reload.out").content_string.strip() == "True"


def test_a_haproxy_config_change_reloads_under_web_clients_with_no_failed_transaction(settled: Host) -> None:
    """loadbalancer.yml with a changed HAProxy setting, then the setting taken back: each run
    rewrites haproxy.cfg and the handler reloads HAProxy on both balancers under web clients."""
    def masters() -> dict[str, str]:
        return {lb: node(lb).check_output("systemctl show -p MainPID --value haproxy") for lb in BALANCERS}

    pids = masters()
    start_web(settled, "reload")
    time.sleep(2)
    for extra in (["-e", "haproxy_server_maxconn=140"], []):
        proc = playbook("playbooks/loadbalancer.yml", *extra)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, why(proc)
        assert "RUNNING HANDLER [haproxy : Reload haproxy]" in out
        maxconn = "140" if extra else "150"
        for lb in BALANCERS:
            config = node(lb).file("/etc/haproxy/haproxy.cfg").content_string
            assert f"maxconn {maxconn} on-marked-down" in config
    time.sleep(2)
    result = finish(settled, "/tmp/reload.json")
    record("haproxy-reload", result)
    assert result["failed"] == 0, result
    assert result["ok"] > 100, result
    # a reload, not a restart: the master process is the same
    assert masters() == pids
    assert assert_acknowledged_on_every_node(settled, "/tmp/reload-ack.json") == result["ok"]


def lb_maintenance(host: str, action: str) -> subprocess.CompletedProcess[str]:
    return playbook("playbooks/maintenance/loadbalancer-maintenance.yml", "-e", f"lb_host={host}",
                    "-e", f"lb_action={action}")


def test_a_balancer_is_taken_out_with_its_vip_moved_first_and_brought_back(settled: Host) -> None:
    password = vault("galera")["vault_galera_probe_password"]
    query = f"mariadb -h {VIP} -u probe -p{password} --connect-timeout=3 heroes_probe -N -e 'SELECT 1'"
    # refused while the peer's HAProxy is down: the VIP would land on a box that cannot serve
    node("lb2").check_output("systemctl stop haproxy")
    try:
        refused = lb_maintenance("lb1", "out")
    finally:
        node("lb2").check_output("systemctl start haproxy")
    out = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode != 0
    assert "moving VIP db there would take the service down" in out, out[-2000:]
    assert holders() == ["lb1"] and node("lb1").service("keepalived").is_running
    # out: the VIP moves to lb2, keepalived stays off on lb1 (also at boot), clients are served
    assert wait_for(lambda: node("lb2").run("systemctl is-active haproxy").rc == 0, 10)
    time.sleep(3)  # lb2's track script sees HAProxy again (rise 2)
    taken_out = lb_maintenance("lb1", "out")
    assert taken_out.returncode == 0, why(taken_out)
    assert holders() == ["lb2"]
    keepalived = node("lb1").service("keepalived")
    assert not keepalived.is_running and not keepalived.is_enabled
    assert settled.check_output(query) == "1"
    # in: lb1 takes the VIP back (it has the higher priority), exactly one holder
    back = lb_maintenance("lb1", "in")
    assert back.returncode == 0, why(back)
    assert wait_for(lambda: holders() == ["lb1"], 10), holders()
    assert node("lb1").service("keepalived").is_enabled


def wsrep(name: str, variable: str) -> str:
    return str(node(name).check_output(
        f"mariadb -N -B -e \"SHOW GLOBAL STATUS LIKE '{variable}'\"")).split("\t")[-1].strip()


def test_a_partitioned_writer_is_out_of_service_until_it_is_synced_again(settled: Host) -> None:
    """The writer cut off the network (its link down) under web-style load: the minority goes non-Primary and
    out of service, clients keep working through the VIP, no client reaches it before it is
    Synced again (no error 1047), it rejoins by IST, every acknowledged write is on every node."""
    start_web(settled, "cut")
    time.sleep(3)
    since = node("db1").check_output("date '+%Y-%m-%d %H:%M:%S'")
    # the link goes down inside the container (docker network disconnect/connect would give it
    # another interface name); its routes come back with it
    db1 = node("db1")
    db1.check_output("ip link set eth0 down")
    try:
        assert wait_for(lambda: wsrep("db1", "wsrep_cluster_status") == "non-Primary", 30)
        assert wait_for(lambda: wsrep("db2", "wsrep_cluster_size") == "2", 30)
        assert wait_for(lambda: all(servers(lb)["db1"]["status"].startswith("DOWN") for lb in BALANCERS), 10)
        time.sleep(10)  # the cluster serves without it for a while
    finally:
        db1.check_output("ip link set eth0 up && ip route replace default via 172.30.0.1")
    assert wait_for(lambda: wsrep("db1", "wsrep_local_state_comment") == "Synced", 60)
    assert wait_for(all_up, 30)
    time.sleep(3)
    result = finish(settled, "/tmp/cut.json")
    record("partition", result)
    assert "1047" not in result["errors"], result["errors"]
    # service went on without the writer: transactions completed in every 5 s of the run
    per_second = result["per_second"]
    assert all(sum(per_second[i:i + 5]) > 0 for i in range(0, len(per_second) - 5, 5)), per_second
    assert wsrep("db1", "wsrep_cluster_size") == "3"
    log = node("db1").check_output(f"journalctl -u mariadb --since '{since}' --no-pager")
    assert "IST received" in log, log[-2000:]
    assert assert_acknowledged_on_every_node(settled, "/tmp/cut-ack.json") == result["ok"]


def test_every_node_down_gives_a_fast_error_and_service_resumes_without_restart(settled: Host) -> None:
    password = vault("galera")["vault_galera_probe_password"]
    count = f"mariadb -h {VIP} -u probe -p{password} heroes_probe -N -B -e " \
        "'SELECT COUNT(*) FROM probe_events'"
    rows = settled.check_output(count)
    started = {lb: node(lb).check_output("systemctl show -p MainPID -p ActiveEnterTimestamp --value haproxy")
               for lb in BALANCERS}
    for name in ("db3", "db2", "db1"):
        node(name).check_output("systemctl stop mariadb")
    assert wait_for(lambda: all(s["status"].startswith("DOWN") for s in servers("lb1").values()), 10)
    code = (
        "import pymysql,time;t=time.monotonic()\n"
        f"try: pymysql.connect(host='{VIP}',user='probe',password='{password}',connect_timeout=10)\n"
        "except Exception as e: print(round(time.monotonic()-t,3), e.args[0])"
    )
    seconds, error = settled.check_output(f'python3 -c "{code}"').split()[:2]
    assert float(seconds) < 1.0, "clients get an error at once, not after a queue or connect timeout"
    assert error == "2013"
    # the recovery runbook: under --check it prints the plan and starts nothing ...
    proc = playbook("playbooks/maintenance/galera-recover.yml", "--check")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, why(proc)
    assert "bootstrap: " in out and "safe_to_bootstrap" in out, out[-3000:]
    assert all(not node(n).service("mariadb").is_running for n in NODES)
    # ... then recovers the cluster from the node its data choose (db1 left last, cleanly)
    proc = playbook("playbooks/maintenance/galera-recover.yml")
    assert proc.returncode == 0, why(proc)
    assert wait_for(all_up, 20)
    assert settled.check_output(count) == rows, "every committed row is back"
    for lb in BALANCERS:
        assert node(lb).check_output("systemctl show -p MainPID -p ActiveEnterTimestamp --value haproxy") \
            == started[lb], f"HAProxy on {lb} was not restarted"


MIRROR_VIP = "172.30.0.30"
MIRRORS = ("web1", "web2")


def mirror_holders() -> list[str]:
    return [w for w in MIRRORS if f" {MIRROR_VIP}/" in node(w).check_output("ip -4 -o addr show dev eth0")]


def fetch(client: Host) -> str:
    return str(client.check_output(f"curl -fsS --max-time 3 http://{MIRROR_VIP}/heroes-mirror-check.txt"))


@pytest.fixture
def mirror(client: Host) -> Iterator[Host]:
    """The mirror VIP (nginx on web1/web2): web1 holds it, before and after."""
    for web in MIRRORS:
        node(web).check_output("systemctl start nginx keepalived")
    assert wait_for(lambda: mirror_holders() == ["web1"], PREEMPT_DELAY + 15), mirror_holders()
    yield client
    for web in MIRRORS:
        node(web).check_output("systemctl start nginx keepalived")
    assert wait_for(lambda: mirror_holders() == ["web1"], PREEMPT_DELAY + 15), mirror_holders()


def test_the_mirror_vip_is_served_by_exactly_one_web_host(mirror: Host) -> None:
    assert fetch(mirror) == "heroes mirror on web1"
    assert mac("web1") in mirror.check_output(f"ip neigh show {MIRROR_VIP}")


def test_a_dead_mirror_web_server_gives_the_mirror_vip_away_and_back(mirror: Host) -> None:
    node("web1").check_output("systemctl stop nginx")
    assert wait_for(lambda: mirror_holders() == ["web2"], 10), mirror_holders()
    assert wait_for(lambda: mirror.run(f"curl -fsS --max-time 1 http://{MIRROR_VIP}/heroes-mirror-check.txt")
                    .stdout.strip() == "heroes mirror on web2", 5)
    node("web1").check_output("systemctl start nginx")
    assert wait_for(lambda: mirror_holders() == ["web1"], PREEMPT_DELAY + 10), mirror_holders()
    assert wait_for(lambda: mirror.run(f"curl -fsS --max-time 1 http://{MIRROR_VIP}/heroes-mirror-check.txt")
                    .stdout.strip() == "heroes mirror on web1", 5)
