"""Verify VRRP between two peers: exactly one holder, failover, failback after the preemption
delay (12 s here), tracking, journal, and the planned moves of vip-out / vip-in under a client."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import testinfra

Host = Any
PEERS = ("keepalived-a", "keepalived-b")
FAST, SLOW = "172.31.13.20", "172.31.13.30"


def peer(name: str) -> Host:
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


def holders(vip: str) -> list[str]:
    return [name for name in PEERS if f" {vip}/" in peer(name).check_output("ip -4 -o addr show dev eth0")]


def said_lately(name: str, seconds: int) -> str:
    """keepalived's unit state and journal of the last ``seconds`` on a peer."""
    return str(peer(name).run(f"systemctl show -p NRestarts,ActiveState keepalived; journalctl -u keepalived "
                              f"-t heroes-keepalived --since '-{seconds}s' --no-pager | tail -n 30").stdout)


def must(name: str, command: str) -> None:
    """``command`` on a peer; a failure says what keepalived said meanwhile."""
    result = peer(name).run(command)
    assert result.rc == 0, (command, result.stderr, said_lately(name, 30))


def wait_for_holders(vip: str, expected: list[str], timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    found = holders(vip)
    while found != expected and time.monotonic() < deadline:
        time.sleep(0.2)
        found = holders(vip)
    if found != expected:  # what keepalived said meanwhile, for the assertion's reader
        for name in PEERS:
            print(f"--- {name}\n{said_lately(name, int(timeout) + 5)}")
    return found


# keepalived_preempt_delay in molecule.yml: a keepalived that (re)started waits this long before it
# takes a VIP back from a peer with a lower priority
PREEMPT_DELAY = 12


@pytest.fixture
def settled() -> Iterator[None]:
    """Each test starts and ends with both peers running and keepalived-a holding the fast VIP."""
    for name in PEERS:
        peer(name).check_output("systemctl start molecule-fronted keepalived")
    assert wait_for_holders(FAST, ["keepalived-a"], PREEMPT_DELAY + 10) == ["keepalived-a"]
    yield
    for name in PEERS:
        peer(name).check_output("systemctl start molecule-fronted keepalived")
    assert wait_for_holders(FAST, ["keepalived-a"], PREEMPT_DELAY + 10) == ["keepalived-a"]


def test_exactly_one_holder_of_each_vip(settled: None) -> None:
    assert holders(FAST) == ["keepalived-a"]  # highest priority (150) with preemption
    assert len(holders(SLOW)) == 1


def test_clean_stop_moves_the_vip_and_preemption_brings_it_back_after_the_delay(settled: None) -> None:
    must("keepalived-a", "systemctl stop keepalived")
    assert wait_for_holders(FAST, ["keepalived-b"], 5) == ["keepalived-b"]
    must("keepalived-a", "systemctl start keepalived")
    started = time.monotonic()
    time.sleep(PREEMPT_DELAY / 2)
    assert holders(FAST) == ["keepalived-b"], "keepalived-a waits keepalived_preempt_delay first"
    assert wait_for_holders(FAST, ["keepalived-a"], PREEMPT_DELAY + 10) == ["keepalived-a"]
    assert time.monotonic() - started >= PREEMPT_DELAY


def test_nopreempt_vip_stays_after_failback(settled: None) -> None:
    holder = holders(SLOW)[0]
    other = PEERS[1 - PEERS.index(holder)]
    must(holder, "systemctl stop keepalived")
    assert wait_for_holders(SLOW, [other], 8) == [other]
    peer(holder).check_output("systemctl start keepalived")
    time.sleep(5)
    assert holders(SLOW) == [other], "nopreempt: the VIP does not move back"


def restarts(name: str) -> int:
    return int(peer(name).check_output("systemctl show -p NRestarts --value keepalived"))


def test_hard_kill_moves_the_vip_systemd_restarts_keepalived_one_holder_remains(settled: None) -> None:
    before = restarts("keepalived-a")
    peer("keepalived-a").check_output("systemctl kill -s KILL keepalived")
    # the dead keepalived leaves the address on its interface; the peer takes the VIP over
    assert "keepalived-b" in wait_for_holders(FAST, ["keepalived-b"], 5)
    # nobody starts it by hand: systemd does (the role's drop-in), and the new keepalived
    # clears the stale address and takes the VIP back by priority: exactly one holder
    assert wait_for_holders(FAST, ["keepalived-a"], PREEMPT_DELAY + 15) == ["keepalived-a"]
    assert restarts("keepalived-a") == before + 1


def test_dead_fronted_service_gives_the_vip_away(settled: None) -> None:
    peer("keepalived-a").check_output("systemctl stop molecule-fronted")
    assert wait_for_holders(FAST, ["keepalived-b"], 6) == ["keepalived-b"]


def record(test: str, figures: dict[str, float]) -> None:
    """A JSON line in $HEROES_FIGURES (default /tmp/heroes-figures.jsonl), as the full stack's
    fault tests keep theirs: the README quotes them."""
    with open(os.environ.get("HEROES_FIGURES", "/tmp/heroes-figures.jsonl"), "a") as out:
        out.write(json.dumps({"test": test, "at": time.time(), **figures}) + "\n")


def test_a_cut_vrrp_link_gives_two_holders_until_it_heals_then_one(settled: None) -> None:
    """The link between the peers cut both ways while both hosts stay up (each one's packets to
    the other sent to a MAC address nobody has, by a permanent neighbour entry: keepalived sends
    its adverts past the routing table, so a route or a rule would not stop them): keepalived-b
    no longer hears keepalived-a's adverts and takes the VIP as well, so both hold it (VRRP's
    known split brain) for as long as the cut lasts; keepalived-b's journal says MASTER. Once
    the link heals, keepalived-b hears the higher priority and gives the VIP back: one holder
    again, for both VIPs. The times are recorded."""
    a, b = peer("keepalived-a"), peer("keepalived-b")
    routes = {a: "172.31.13.22", b: "172.31.13.21"}
    since = b.check_output("date '+%Y-%m-%d %H:%M:%S'")
    began = time.monotonic()
    for host, to in routes.items():
        host.check_output(f"ip neigh replace {to} lladdr 02:00:00:00:00:99 dev eth0 nud permanent")
    try:
        both = wait_for_holders(FAST, list(PEERS), 5)
        split = time.monotonic() - began
        assert both == list(PEERS), both
        time.sleep(2)
        assert holders(FAST) == list(PEERS), "two holders for as long as the link is cut"
    finally:
        for host, to in routes.items():
            host.run(f"ip neigh del {to} dev eth0")
    healed = time.monotonic()
    assert wait_for_holders(FAST, ["keepalived-a"], 5) == ["keepalived-a"]
    heal = time.monotonic() - healed
    journal = b.check_output(f"journalctl -t heroes-keepalived --since '{since}' --no-pager")
    assert "VI_fast is now MASTER" in journal, journal
    deadline = time.monotonic() + 10
    while len(holders(SLOW)) != 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    slow_journal = "".join(peer(name).check_output(f"journalctl -t heroes-keepalived --since '{since}'")
                           for name in PEERS)
    assert len(holders(SLOW)) == 1, (holders(SLOW), slow_journal)
    record("vrrp-link-cut", {"two_holders_after": round(split, 2), "one_holder_after_heal": round(heal, 2)})
    # advert 0.2 s: the backup declares the master dead after 3 adverts and its skew (< 1 s)
    assert split < 2.0, split
    assert heal < 2.0, heal


def test_transitions_are_logged_to_the_journal(host: Host) -> None:
    log = host.check_output("journalctl -t heroes-keepalived --no-pager")
    assert "VI_fast is now" in log


def test_config_is_private_and_password_not_world_readable(host: Host) -> None:
    config = host.file("/etc/keepalived/keepalived.conf")
    assert config.mode == 0o640
    assert "auth_pass molecule" in config.content_string
    assert "check_unicast_src" in config.content_string


class Client(threading.Thread):
    """HTTP GETs to the fast VIP, one new connection each, 20 ms apart, from the machine that runs
    the tests (not a peer): a client whose SYN is dropped sends it again after 1 s, so a connect
    that took over 0.9 s met a dropped SYN, and one that fails met a window over 1 s (its
    timeout is 2 s, as the full stack's database clients have)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.ok, self.slow = 0, 0
        self.failed: list[str] = []
        self.longest = 0.0

    def run(self) -> None:
        while not self.stop.is_set():
            began = time.monotonic()
            try:
                with socket.create_connection((FAST, 8080), timeout=2) as sock:
                    took = time.monotonic() - began
                    sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    if not sock.recv(12).startswith(b"HTTP/1.0 200"):
                        raise OSError("no HTTP 200")
                self.ok += 1
                self.longest = max(self.longest, took)
                self.slow += took > 0.9
            except OSError as error:
                self.failed.append(f"{time.monotonic():.2f}: {error}")
            time.sleep(0.02)


def vip(action: str) -> subprocess.CompletedProcess[str]:
    """The role's vip-out / vip-in on keepalived-a, as a playbook runs them."""
    repo = Path(__file__).resolve().parents[5]
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_ROLES_PATH": str(repo / "roles"),
           "ANSIBLE_FILTER_PLUGINS": str(repo / "plugins/filter")}
    play = Path(__file__).resolve().parents[1] / "vip.yml"
    return subprocess.run(["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "-e",
                           f"vip_action={action}", str(play)], capture_output=True, text=True, env=env,
                          check=False)


def test_vip_out_and_vip_in_hand_the_vip_over_with_no_failed_connection(settled: None) -> None:
    """vip-out on the holder, then vip-in, under a client: each move drops new connections for
    under a second (one command on the holder: drop, drain, yield) and fails none; vip-in takes
    the VIP back by the holder's handover, long before the preemption delay, and the peer is
    left carrying its instance (BACKUP) with no drop rule."""
    client = Client()
    client.start()
    try:
        time.sleep(1)
        out = vip("vip-out")
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
        assert holders(FAST) == ["keepalived-b"]
        assert not peer("keepalived-a").service("keepalived").is_running
        time.sleep(1)
        since = peer("keepalived-b").check_output("date '+%Y-%m-%d %H:%M:%S'")
        began = time.monotonic()
        back = vip("vip-in")
        took = time.monotonic() - began
        assert back.returncode == 0, back.stdout[-3000:] + back.stderr[-2000:]
        assert holders(FAST) == ["keepalived-a"]
        # handed over: keepalived-b's instance went from MASTER to FAULT (its yield), then to
        # BACKUP; taken by preemption (too late), it would have gone to BACKUP first
        journal = peer("keepalived-b").check_output(
            f"journalctl -t heroes-keepalived --since '{since}' --no-pager")
        assert re.findall(r"VI_fast is now (\w+)", journal)[:2] == ["FAULT", "BACKUP"], (took, journal)
        time.sleep(1)
    finally:
        client.stop.set()
        client.join(5)
    record("vip-handover", {"vip_in_seconds": round(took, 1), "connections": client.ok,
                            "failed": len(client.failed), "dropped_syn": client.slow,
                            "longest_connect": round(client.longest, 2)})
    assert not client.failed and client.ok > 100, (client.ok, client.failed[:5])
    for name in PEERS:
        rules = peer(name).check_output("iptables -S INPUT")
        assert "draining VIP" not in rules, (name, rules)
    b = peer("keepalived-b")
    assert b.file("/run/heroes-keepalived/fast").content_string.strip() == "0"
    assert b.file("/run/heroes-keepalived/state/VI_fast").content_string.strip() == "BACKUP"
