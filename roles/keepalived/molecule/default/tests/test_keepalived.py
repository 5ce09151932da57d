"""Verify VRRP between two peers: exactly one holder, failover, failback, tracking, journal."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
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


def wait_for_holders(vip: str, expected: list[str], timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    found = holders(vip)
    while found != expected and time.monotonic() < deadline:
        time.sleep(0.2)
        found = holders(vip)
    return found


@pytest.fixture
def settled() -> Iterator[None]:
    """Each test starts and ends with both peers running and keepalived-a holding the fast VIP."""
    for name in PEERS:
        peer(name).check_output("systemctl start molecule-fronted keepalived")
    assert wait_for_holders(FAST, ["keepalived-a"]) == ["keepalived-a"]
    yield
    for name in PEERS:
        peer(name).check_output("systemctl start molecule-fronted keepalived")
    assert wait_for_holders(FAST, ["keepalived-a"]) == ["keepalived-a"]


def test_exactly_one_holder_of_each_vip(settled: None) -> None:
    assert holders(FAST) == ["keepalived-a"]  # highest priority (150) with preemption
    assert len(holders(SLOW)) == 1


def test_clean_stop_moves_the_vip_and_preemption_brings_it_back(settled: None) -> None:
    peer("keepalived-a").check_output("systemctl stop keepalived")
    assert wait_for_holders(FAST, ["keepalived-b"], 5) == ["keepalived-b"]
    peer("keepalived-a").check_output("systemctl start keepalived")
    assert wait_for_holders(FAST, ["keepalived-a"], 10) == ["keepalived-a"]


def test_nopreempt_vip_stays_after_failback(settled: None) -> None:
    holder = holders(SLOW)[0]
    other = PEERS[1 - PEERS.index(holder)]
    peer(holder).check_output("systemctl stop keepalived")
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
    assert wait_for_holders(FAST, ["keepalived-a"], 15) == ["keepalived-a"]
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
    assert len(holders(SLOW)) == 1, holders(SLOW)
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
