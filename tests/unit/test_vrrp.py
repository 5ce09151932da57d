"""The VIP checks: each bad input is refused with the variable named."""

from __future__ import annotations

from typing import Any

import pytest

from heroes_infra.vrrp import check_vips, priority

HOSTVARS: dict[str, dict[str, Any]] = {
    "lb1": {"host_address": "172.30.0.21", "failure_domain": {"hypervisor": "hv-a"}},
    "lb2": {"host_address": "172.30.0.22", "failure_domain": {"hypervisor": "hv-b"}},
    "web1": {"host_address": "172.30.0.31", "failure_domain": {"hypervisor": "hv-a"}},
    "web2": {"host_address": "172.30.0.32", "failure_domain": {"hypervisor": "hv-a"}},
}
GROUPS = {"vrrp_db": ["lb1", "lb2"], "vrrp_mirror": ["web1", "web2"], "alone": ["lb1"]}


def db(**changes: Any) -> dict[str, Any]:
    vip: dict[str, Any] = {"name": "db", "address": "172.30.0.20", "prefix": 24, "group": "vrrp_db",
                           "interface": "eth0", "router_id": 51, "version": 3, "advert_int": 0.2,
                           "track_service": "haproxy"}
    vip.update(changes)
    return vip


def test_the_lab_design_passes() -> None:
    assert check_vips([db()], HOSTVARS, GROUPS) == []


@pytest.mark.parametrize(
    ("vip", "expected"),
    [
        (db(address="10.9.9.9"), "heroes_vips[db].address 10.9.9.9/24 is outside the subnet of peer lb1"),
        (db(address="172.30.0.21"), "heroes_vips[db].address 172.30.0.21 is the host_address of lb1"),
        (db(address="not-an-ip"), "heroes_vips[db].address must be an IPv4 address"),
        (db(prefix=33), "heroes_vips[db].prefix must be a prefix length 1-32"),
        (db(group="alone"), "heroes_vips[db].group must name an inventory group of at least 2 peers"),
        (db(group="nope"), "heroes_vips[db].group must name an inventory group of at least 2 peers"),
        (db(router_id=0), "heroes_vips[db].router_id must be 1-255"),
        (db(version=4), "heroes_vips[db].version must be 2 or 3"),
        (db(advert_int=0), "heroes_vips[db].advert_int must be seconds > 0"),
        (db(version=2, advert_int=0.2, auth_pass="secret12"), "advert_int 0.2 needs VRRP version 3"),
        (db(version=2, advert_int=1), "heroes_vips[db].auth_pass must be 6-8 characters from the vault"),
        (db(auth_pass="secret12"), "VRRPv3 has no authentication"),
        (db(priorities={"web1": 100}), "heroes_vips[db].priorities names web1, which is not in group"),
        (db(priorities={"lb1": 255}), "heroes_vips[db].priorities[lb1] must be 1-254"),
        (db(track_service=""), "heroes_vips[db].track_service must name the systemd unit"),
        (db(colour="red"), "heroes_vips[db] has unknown keys ['colour']"),
        (db(name="d b"), "heroes_vips[d b].name must be letters, digits"),
    ],
)
def test_bad_input_names_the_variable(vip: dict[str, Any], expected: str) -> None:
    problems = check_vips([vip], HOSTVARS, GROUPS)
    assert any(expected in p for p in problems), problems


def test_router_id_used_twice_on_one_interface() -> None:
    mirror = db(name="mirror", address="172.30.0.30", group="vrrp_db")
    problems = check_vips([db(), mirror], HOSTVARS, GROUPS)
    assert problems == ["heroes_vips[mirror].router_id 51 on eth0 is already used by heroes_vips[db]"]
    assert check_vips([db(), dict(mirror, router_id=52)], HOSTVARS, GROUPS) == []


def test_name_used_twice() -> None:
    problems = check_vips([db(), db(router_id=52)], HOSTVARS, GROUPS)
    assert problems == ["heroes_vips[db].name is used twice"]


def test_peers_on_one_hypervisor_are_refused() -> None:
    mirror = db(name="mirror", address="172.30.0.30", group="vrrp_mirror", router_id=52)
    problems = check_vips([mirror], HOSTVARS, GROUPS)
    assert problems == ["heroes_vips[mirror].group vrrp_mirror: peers web1 and web2 share hypervisor hv-a; "
                        "one failure would take the VIP down"]


def test_peer_without_address() -> None:
    hostvars = dict(HOSTVARS, lb2={"failure_domain": {"hypervisor": "hv-b"}})
    expected = ["heroes_vips[db]: peer lb2 needs host_address (an IPv4 address)"]
    assert check_vips([db()], hostvars, GROUPS) == expected


def test_not_a_list() -> None:
    assert "must be a list" in check_vips("db", HOSTVARS, GROUPS)[0]  # type: ignore[arg-type]


def test_priorities_default_by_order_and_can_be_given() -> None:
    assert priority(db(), ["lb2", "lb1"], "lb1") == 150
    assert priority(db(), ["lb2", "lb1"], "lb2") == 140
    assert priority(db(priorities={"lb2": 200}), ["lb1", "lb2"], "lb2") == 200
