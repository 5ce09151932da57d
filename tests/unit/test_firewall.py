"""The host firewall's rules: checked, and resolved from groups and hosts to addresses."""

from __future__ import annotations

import pytest

from heroes_infra.firewall import FirewallError, mysql_hosts, proxy_networks, resolve, sources, within

GROUPS = {"galera": ["db1", "db2"], "haproxy": ["lb1"], "galera_arbitrator": [], "all": ["db1", "db2", "lb1"]}
ADDRESSES: dict[str, str | None] = {"db1": "172.30.0.11", "db2": "172.30.0.12", "lb1": "172.30.0.21",
                                    "nowhere": None}


def test_groups_hosts_and_networks_become_addresses_by_family() -> None:
    rules = [{"name": "mysql", "ports": [3306, 3306], "from": ["haproxy", "galera", "db1", "10.0.0.0/8",
                                                              "2001:db8::/32", "galera_arbitrator"]},
             {"name": "vrrp", "proto": "vrrp", "from": ["lb1"]}]
    got = resolve(rules, GROUPS, ADDRESSES)
    assert got[0] == {"name": "mysql", "proto": "tcp", "ports": [3306],
                      "v4": ["10.0.0.0/8", "172.30.0.11/32", "172.30.0.12/32", "172.30.0.21/32"],
                      "v6": ["2001:db8::/32"]}
    assert got[1] == {"name": "vrrp", "proto": "vrrp", "ports": [], "v4": ["172.30.0.21/32"], "v6": []}


@pytest.mark.parametrize(("rule", "message"), [
    ({"name": "x", "ports": [0], "from": ["galera"]}, "ports must be port numbers (1-65535)"),
    ({"name": "x", "ports": "3306", "from": ["galera"]}, "ports must be a non-empty list"),
    ({"name": "x", "ports": [True], "from": ["galera"]}, "ports must be port numbers"),
    ({"name": "x", "ports": [22], "proto": "icmp", "from": ["galera"]}, "proto must be one of"),
    ({"name": "x", "proto": "vrrp", "ports": [1], "from": ["galera"]}, "a vrrp rule has no ports"),
    ({"name": "x", "ports": [22], "from": ["galeras"]}, "'galeras' is no inventory group, host, address"),
    ({"name": "x", "ports": [22], "from": "galera"}, "from must be a non-empty list"),
    ({"name": "x", "ports": [22], "from": ["nowhere"]}, "nowhere (from 'nowhere') has no host_address"),
    ({"name": "x", "ports": [22], "from": ["galera_arbitrator"]}, "resolves to no address"),
    ({"name": "x;drop", "ports": [22], "from": ["galera"]}, "name must be 1-64 letters"),
    ({"name": "x", "port": [22], "from": ["galera"]}, "unknown keys ['port']"),
    ("mysql", "must be a mapping"),
])
def test_bad_rules_are_refused_naming_the_rule_and_the_form(rule: object, message: str) -> None:
    with pytest.raises(FirewallError) as err:
        resolve([rule], GROUPS, ADDRESSES, "firewall_rules_galera")
    assert "firewall_rules_galera[0]" in str(err.value)
    assert message in str(err.value)


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(FirewallError) as err:
        resolve([{"name": "a", "ports": [0], "from": ["x"]}, {"name": "b", "ports": [1], "from": []}],
                GROUPS, ADDRESSES)
    assert "firewall_rules[0] (a)" in str(err.value) and "firewall_rules[1] (b)" in str(err.value)


def test_ssh_sources_are_addresses_only() -> None:
    assert sources(["0.0.0.0/0", "::/0", "192.0.2.7"], "firewall_ssh_from") == {
        "v4": ["0.0.0.0/0"], "v6": ["::/0"]}
    assert sources(["192.0.2.7", "192.0.2.0/28"], "firewall_ssh_from")["v4"] == ["192.0.2.0/28"]
    with pytest.raises(FirewallError, match="firewall_ssh_from: 'db1' is no address"):
        sources(["db1"], "firewall_ssh_from")
    with pytest.raises(FirewallError, match="must be a list"):
        sources("0.0.0.0/0", "firewall_ssh_from")


def test_networks_inside_others_are_merged_away() -> None:
    got = resolve([{"name": "x", "ports": [22], "from": ["172.30.0.0/24", "db1", "db2", "10.1.2.3"]}],
                  GROUPS, ADDRESSES)
    assert got[0]["v4"] == ["10.1.2.3/32", "172.30.0.0/24"]


def test_mysql_hosts_are_addresses_and_networks_with_their_netmask() -> None:
    assert mysql_hosts(["haproxy", "db1", "10.0.0.0/8"], GROUPS, ADDRESSES, "galera_users[0]") == [
        "10.0.0.0/255.0.0.0", "172.30.0.11", "172.30.0.21"]
    with pytest.raises(FirewallError, match=r"galera_users\[0\]: 'nope' is no inventory group"):
        mysql_hosts(["nope"], GROUPS, ADDRESSES, "galera_users[0]")
    with pytest.raises(FirewallError, match="resolves to no address"):
        mysql_hosts(["galera_arbitrator"], GROUPS, ADDRESSES, "galera_users[0]")


def test_proxy_networks_are_addresses_and_cidr_networks() -> None:
    # an address inside a listed network is merged away
    label = "galera_proxy_protocol_from"
    got = proxy_networks(["haproxy", "10.1.0.0/16", "10.1.2.3"], GROUPS, ADDRESSES, label)
    assert got == ["10.1.0.0/16", "172.30.0.21"]
    with pytest.raises(FirewallError, match="galera_proxy_protocol_from: 'nope' is no inventory group"):
        proxy_networks(["nope"], GROUPS, ADDRESSES, "galera_proxy_protocol_from")


def test_within_tells_an_address_in_a_network_or_equal_to_an_address() -> None:
    assert within("10.1.2.3", ["10.1.0.0/16"])
    assert within("10.1.2.3", ["192.0.2.1", "10.1.2.3"])
    assert not within("10.2.0.1", ["10.1.0.0/16", "fd00::/8"])
    assert not within("not-an-address", ["0.0.0.0/0"])
