"""The drain plan of one failure domain (heroes_infra.maintenance)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from heroes_infra import maintenance
from heroes_infra.maintenance import DomainError, parse_domain, patch_order, plan
from tests.conftest import load_file

ROOT = Path(__file__).resolve().parents[2]
SHARED_RACKS = str(ROOT / "tests/fixtures/inventory-shared-racks")

HYPERVISORS = {
    "hv-a": {
        "rack": "r1",
        "site": "lab",
        "power": [{"feed": "a", "ups": "ups-1"}, {"feed": "b", "ups": "ups-2"}],
    },
    "hv-b": {
        "rack": "r2",
        "site": "lab",
        "power": [{"feed": "a", "ups": "ups-1"}, {"feed": "b", "ups": "ups-2"}],
    },
    "hv-c": {"rack": "r3", "site": "lab", "power": [{"feed": "c", "ups": "ups-3"}]},
}
PLACES = {
    "db1": "hv-a",
    "db2": "hv-b",
    "db3": "hv-c",
    "lb1": "hv-a",
    "lb2": "hv-c",
    "web1": "hv-b",
    "web2": "hv-c",
    "app1": "hv-a",
}
GROUPS = {
    "galera": ["db1", "db2", "db3"],
    "haproxy": ["lb1", "lb2"],
    "vrrp_db": ["lb1", "lb2"],
    "mirror": ["web1", "web2"],
    "vrrp_mirror": ["web1", "web2"],
    "statusfeed": ["web1", "web2"],
    "matomo": ["app1"],
}
POLICY = {
    "galera": {"must_not_share": ["hypervisor"], "keep_majority": True, "with_groups": ["galera_arbitrator"]},
    "vrrp_db": {"must_not_share": ["hypervisor"], "survive_one_domain": True},
    "vrrp_mirror": {"must_not_share": ["hypervisor"], "survive_one_domain": True},
}
VIPS = [
    {"name": "db", "address": "192.0.2.20", "group": "vrrp_db"},
    {"name": "mirror", "address": "192.0.2.30", "group": "vrrp_mirror"},
]
SERVICES = ["galera", "haproxy", "mirror", "statusfeed", "matomo"]


def filter_module() -> Any:
    """plugins/filter/maintenance.py, loaded as Ansible loads it (a file, not a package)."""
    return load_file("plugins/filter/maintenance.py", "heroes_filter_maintenance")


def lab_plan(domain: str, places: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    hostvars = {h: {"failure_domain": {"hypervisor": hv}} for h, hv in (places or PLACES).items()}
    groups = {**GROUPS, **extra.pop("groups", {})}
    options: dict[str, Any] = {
        "policy": POLICY,
        "hypervisors": HYPERVISORS,
        "vips": VIPS,
        "services": SERVICES,
        "power": "docker",
    }
    result: dict[str, Any] = plan(domain, hostvars, groups, **{**options, **extra})
    return result


def rules(result: dict[str, Any]) -> list[str]:
    return [r["rule"] for r in result["refused"]]


@pytest.mark.parametrize("text", ["hv-a", "hypervisor", "hypervisor:", "host:db1", "a:b:c", "", None, 3])
def test_a_domain_not_written_type_colon_name_is_refused_with_the_expected_form(text: Any) -> None:
    with pytest.raises(DomainError, match=r"domain must be <type>:<name> with a type of site, rack"):
        parse_domain(text)


def test_parse_domain_reads_type_and_name() -> None:
    assert parse_domain("hypervisor:hv-a") == ("hypervisor", "hv-a")
    assert parse_domain(" rack : r1 ") == ("rack", "r1")


def test_a_hypervisor_takes_down_its_vms_and_the_plan_says_what_moves_where() -> None:
    result = lab_plan("hypervisor:hv-b")
    assert result["ok"], result["refused"]
    assert result["hosts"] == ["db2", "web1"]
    assert result["galera"] == ["db2"] and result["galera_left"] == ["db1", "db3"]
    assert result["balancers"] == ["lb1", "lb2"]
    assert result["vrrp"] == [
        {"host": "web1", "vip": "mirror", "address": "192.0.2.30", "to": "web2", "back": True}
    ]
    assert result["timers"] == [
        {"host": "web1", "group": "mirror", "left": ["web2"]},
        {"host": "web1", "group": "statusfeed", "left": ["web2"]},
    ]
    text = result["text"]
    assert "Domain hypervisor=hv-b takes down 2 host(s): db2, web1" in text
    assert "db2: Galera node drained on lb1, lb2, MariaDB stopped (db1, db3 left in the cluster)" in text
    assert "2. web1: VIP mirror (192.0.2.30) goes to web2 if it holds it; mirror timer stopped" in text
    assert (
        "2. web1: container started; takes VIP mirror back (highest priority), drained on web2 first" in text
    )
    # one host at a time: the Galera node first, then the VIP's holder
    assert result["order"] == ["db2", "web1"]
    assert "1. db2: Galera node drained" in text and text.index("1. db2") < text.index("2. web1")
    assert "REFUSED" not in text


def test_a_domain_with_two_of_three_galera_nodes_is_refused_by_the_majority_rule() -> None:
    result = lab_plan("hypervisor:hv-a", places={**PLACES, "db2": "hv-a"}, accept_outage=["matomo"])
    assert rules(result) == ["majority"]
    assert not result["ok"]
    assert (
        "group galera: losing hypervisor=hv-a takes db1, db2 down and leaves 1 of 3, no majority"
        in result["text"]
    )
    assert result["text"].startswith("Domain hypervisor=hv-a takes down 4 host(s)")
    assert "REFUSED, nothing will be changed:" in result["text"]


def test_an_arbitrator_counts_in_the_majority() -> None:
    places = {**PLACES, "db2": "hv-a", "garb1": "hv-b"}
    groups = {"galera_arbitrator": ["garb1"]}
    result = lab_plan("hypervisor:hv-a", places=places, groups=groups, accept_outage=["matomo"])
    assert rules(result) == ["majority"]
    assert "leaves 2 of 4, no majority" in result["text"]
    # losing the arbitrator alone leaves 3 of 4
    assert "majority" not in rules(lab_plan("hypervisor:hv-b", places=places, groups=groups))


def test_a_domain_with_both_balancers_is_refused_by_the_survive_rule_and_as_an_outage() -> None:
    result = lab_plan("hypervisor:hv-c", places={**PLACES, "lb1": "hv-c"})
    assert sorted(rules(result)) == ["outage", "survive"]
    assert "group vrrp_db: every member (lb1, lb2) dies with hypervisor=hv-c" in result["text"]
    assert "service haproxy: every member (lb1, lb2) goes down with hypervisor=hv-c" in result["text"]


def test_a_service_left_with_no_member_is_refused_unless_its_outage_is_accepted_by_name() -> None:
    refused = lab_plan("hypervisor:hv-a")
    assert rules(refused) == ["outage"]
    assert "accept the outage with -e domain_drain_accept_outage=matomo" in refused["text"]
    accepted = lab_plan("hypervisor:hv-a", accept_outage=["matomo"])
    assert accepted["ok"]
    assert accepted["accepted"] == ["matomo: app1 down with hypervisor=hv-a, outage accepted"]
    unknown = lab_plan("hypervisor:hv-a", accept_outage=["matomo", "piwik"])
    assert rules(unknown) == ["data"]
    assert "domain_drain_accept_outage names piwik, which is not a service" in unknown["text"]


def test_a_ups_takes_down_only_the_machines_all_of_whose_supplies_hang_on_it() -> None:
    redundant = lab_plan("ups:ups-1")
    assert redundant["ok"] and redundant["hosts"] == []
    assert "Nothing to move: no host depends on ups=ups-1 alone" in redundant["text"]
    single = lab_plan("ups:ups-3")
    assert single["hosts"] == ["db3", "lb2", "web2"]
    assert single["ok"]


def test_an_unknown_domain_name_is_refused_with_the_names_the_inventory_knows() -> None:
    result = lab_plan("hypervisor:hv-x")
    assert rules(result) == ["data"]
    assert (
        "no host of the inventory is in hypervisor=hv-x; the hypervisor names it knows: hv-a, hv-b, hv-c"
        in (result["text"])
    )
    assert "the ups names it knows: ups-1, ups-2, ups-3" in lab_plan("ups:ups-9")["text"]


def test_a_host_without_failure_domain_refuses_every_plan() -> None:
    hostvars: dict[str, Any] = {h: {"failure_domain": {"hypervisor": hv}} for h, hv in PLACES.items()}
    hostvars["db3"] = {}
    result = plan("hypervisor:hv-b", hostvars, GROUPS, policy=POLICY, hypervisors=HYPERVISORS)
    assert "data" in rules(result)
    assert "db3: failure_domain is missing" in result["text"]


def test_the_vip_goes_to_the_peer_with_the_next_priority() -> None:
    vips = [
        {"name": "db", "address": "192.0.2.20", "group": "vrrp_db", "priorities": {"lb1": 100, "lb2": 200}}
    ]
    groups = {"vrrp_db": ["lb1", "lb2", "lb3"]}
    places = {**PLACES, "lb3": "hv-b"}
    result = lab_plan("hypervisor:hv-c", places=places, vips=vips, groups=groups)
    # lb2 (200) is the holder by priority and goes; lb3 (130 by position) outranks lb1 (100)
    assert result["vrrp"] == [
        {"host": "lb2", "vip": "db", "address": "192.0.2.20", "to": "lb3", "back": True}
    ]


def test_the_shutdown_power_method_says_how_the_machines_come_back() -> None:
    result = lab_plan("hypervisor:hv-b", power="shutdown")
    assert "MariaDB stopped (db1, db3 left in the cluster); shut down" in result["text"]
    assert "db2: answers again (power it on)" in result["text"]


def test_the_command_prints_the_plan_and_exits_1_when_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert maintenance.main(["-i", SHARED_RACKS, "rack:r1"]) == 1
    assert "group galera: losing rack=r1 takes db1, db2 down and leaves 1 of 3" in capsys.readouterr().out
    assert maintenance.main(["-i", SHARED_RACKS, "rack:r2", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert {r["rule"] for r in data["refused"]} == {"survive", "outage"}
    assert data["hosts"] == ["app1", "db3", "lb1", "lb2"]
    assert maintenance.main(["-i", SHARED_RACKS, "hypervisor:hv1"]) == 0
    assert "1. db1: answers again (power it on)" in capsys.readouterr().out
    assert maintenance.main(["-i", SHARED_RACKS, "hv1"]) == 2
    assert "domain must be <type>:<name>" in capsys.readouterr().err


def test_the_filter_turns_a_malformed_domain_into_a_refusal() -> None:
    module = filter_module()
    common = {"failure_domain_hypervisors": HYPERVISORS, "failure_domain_policy": POLICY, "heroes_vips": VIPS}
    hostvars = {h: {"failure_domain": {"hypervisor": hv}, **common} for h, hv in PLACES.items()}
    groups = {"all": sorted(PLACES), **GROUPS}
    bad = module.heroes_domain_plan("hv-b", hostvars, groups)
    assert not bad["ok"] and bad["refused"][0]["rule"] == "input"
    assert "domain must be <type>:<name>" in bad["text"]
    good = module.heroes_domain_plan("hypervisor:hv-b", hostvars, groups)
    assert good["ok"] and good["hosts"] == ["db2", "web1"]
    assert good["vrrp"][0]["to"] == "web2"


def test_the_patch_window_goes_domain_by_domain_and_leaves_the_vip_masters_last() -> None:
    hostvars = {h: {"failure_domain": {"hypervisor": hv}} for h, hv in PLACES.items()}
    hostvars["client"] = {"failure_domain": {"hypervisor": "hv-a"}}
    groups = {**GROUPS, "lab_client": ["client"]}
    result = patch_order(hostvars, groups, hypervisors=HYPERVISORS, vips=VIPS, exclude_groups=["lab_client"])
    assert result["ok"]
    # hv-c holds no VIP master; hv-a holds lb1 (db) and hv-b web1 (mirror): by name after that
    assert [d["domain"] for d in result["domains"]] == [
        "hypervisor=hv-c",
        "hypervisor=hv-a",
        "hypervisor=hv-b",
    ]
    # inside a domain: the Galera node first, then the VIPs' peers, then the rest
    assert result["domains"][1]["hosts"] == ["db1", "lb1", "app1"]
    assert result["order"] == ["db3", "lb2", "web2", "db1", "lb1", "app1", "db2", "web1"]
    assert "client" not in result["order"]
    assert "left out (lab_client): client" in result["text"]


def test_the_patch_window_refuses_a_host_it_cannot_place() -> None:
    hostvars: dict[str, Any] = {h: {"failure_domain": {"hypervisor": hv}} for h, hv in PLACES.items()}
    hostvars["app1"] = {}
    result = patch_order(hostvars, GROUPS, hypervisors=HYPERVISORS, vips=VIPS)
    assert not result["ok"]
    assert "REFUSED: app1: failure_domain is missing or not a mapping" in result["text"]


def test_a_report_line_names_host_packages_restart_and_time_out() -> None:
    module = filter_module()
    line = module.heroes_patch_report_line(
        {
            "host": "db2",
            "packages": ["heroes-lab-canary 1 -> 2"],
            "reboot": True,
            "seconds_out": 31.25,
            "status": "patched",
        }
    )
    assert line.split() == ["db2", "1", "yes", "31.2", "patched"]
