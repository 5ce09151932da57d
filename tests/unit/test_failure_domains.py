"""The failure-domain check: one good design, and at least one bad case per rule."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from heroes_infra.failure_domains import Machine, check, takes_down

HYPERVISORS: dict[str, Any] = {
    "hv1": {"rack": "r1", "power": [{"feed": "a", "ups": "u1"}, {"feed": "b", "ups": "u2"}]},
    "hv2": {"rack": "r2", "power": [{"feed": "a", "ups": "u1"}, {"feed": "b", "ups": "u2"}]},
    "hv3": {"rack": "r3", "power": [{"feed": "c", "ups": "u3"}, {"feed": "d", "ups": "u4"}]},
}
POLICY: dict[str, Any] = {
    "galera": {"must_not_share": ["hypervisor", "rack", "ups", "feed"], "keep_majority": True},
    "vrrp_db": {"must_not_share": ["hypervisor", "ups"], "survive_one_domain": True},
}
GROUPS = {"galera": ["db1", "db2", "db3"], "vrrp_db": ["lb1", "lb2"]}


def hostvars() -> dict[str, dict[str, Any]]:
    return {
        "db1": {"failure_domain": {"hypervisor": "hv1"}},
        "db2": {"failure_domain": {"hypervisor": "hv2"}},
        "db3": {"failure_domain": {"hypervisor": "hv3"}},
        "lb1": {"failure_domain": {"hypervisor": "hv1"}},
        "lb2": {"failure_domain": {"hypervisor": "hv3"}},
    }


def run(
    hv: dict[str, Any] | None = None,
    hyp: dict[str, Any] | None = None,
    overrides: list[dict[str, Any]] | None = None,
    policy: dict[str, Any] | None = None,
) -> Any:
    return check(hv or hostvars(), GROUPS, policy or POLICY, hyp or HYPERVISORS, overrides or [])


def test_good_design_passes() -> None:
    report = run()
    assert report.ok, report.render()
    assert report.render() == "failure domains: no finding"


def test_hypervisor_with_both_supplies_on_one_ups_is_refused_by_name() -> None:
    hyp = copy.deepcopy(HYPERVISORS)
    hyp["hv3"]["power"] = [{"feed": "c", "ups": "u3"}, {"feed": "d", "ups": "u3"}]
    report = run(hyp=hyp)
    assert not report.ok
    power = [f for f in report.findings if f.rule == "power"]
    assert [f.message for f in power] == ["hypervisor hv3: all 2 power supplies hang on ups u3"]


def test_bare_metal_host_with_supplies_on_one_feed_is_refused() -> None:
    hv = hostvars()
    hv["lb2"] = {
        "failure_domain": {
            "bare_metal": True,
            "rack": "r3",
            "power": [{"feed": "c", "ups": "u3"}, {"feed": "c", "ups": "u4"}],
        }
    }
    report = run(hv=hv)
    assert [f.message for f in report.findings] == ["host lb2: all 2 power supplies hang on feed c"]


def test_two_peers_on_one_hypervisor() -> None:
    hv = hostvars()
    hv["lb2"]["failure_domain"]["hypervisor"] = "hv1"
    report = run(hv=hv)
    peers = [f for f in report.findings if f.rule == "peers"]
    assert len(peers) == 1
    assert "lb1 and lb2 share hypervisor=hv1" in peers[0].message
    # and the VRRP pair dies with that hypervisor
    assert any(f.rule == "survive" and "hypervisor=hv1" in f.message for f in report.findings)


def test_two_galera_nodes_in_one_rack_lose_the_majority() -> None:
    hyp = copy.deepcopy(HYPERVISORS)
    hyp["hv2"]["rack"] = "r1"
    report = run(hyp=hyp)
    rules = {(f.rule, f.domain) for f in report.findings}
    assert ("peers", "rack=r1") in rules
    majority = [f for f in report.findings if f.rule == "majority"]
    assert len(majority) == 1
    assert majority[0].message == (
        "group galera: losing rack=r1 takes db1, db2 down and leaves 1 of 3, no majority"
    )


def test_majority_counts_single_fed_hosts_on_one_ups() -> None:
    # two single-fed hypervisors on the same UPS: losing it stops two of three nodes
    hyp = copy.deepcopy(HYPERVISORS)
    hyp["hv1"]["power"] = [{"feed": "a", "ups": "u1"}]
    hyp["hv2"]["power"] = [{"feed": "b", "ups": "u1"}]
    report = run(hyp=hyp)
    assert any(f.rule == "majority" and f.domain == "ups=u1" for f in report.findings)


def test_redundant_supplies_on_shared_ups_pair_are_fine() -> None:
    # hv1 and hv2 both use u1 and u2, but each survives the loss of either one
    assert takes_down(Machine("x", "", "r1", "hv1", (("a", "u1"), ("b", "u2")), "hv1")) == {
        ("rack", "r1"),
        ("hypervisor", "hv1"),
    }


def test_vrrp_pair_dying_with_one_site_is_refused_when_site_is_separated() -> None:
    policy = copy.deepcopy(POLICY)
    policy["vrrp_db"]["must_not_share"] = ["site"]
    hyp = copy.deepcopy(HYPERVISORS)
    for h in hyp.values():
        h["site"] = "dc1"
    report = run(hyp=hyp, policy=policy)
    assert any(f.rule == "survive" and f.domain == "site=dc1" for f in report.findings)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda hv: hv["db1"].pop("failure_domain"), "db1: failure_domain is missing"),
        (lambda hv: hv["db1"].update(failure_domain={}), "db1: failure_domain needs hypervisor"),
        (lambda hv: hv["db1"].update(failure_domain={"hypervisor": "nowhere"}), "db1: no rack"),
        (
            lambda hv: hv["db1"].update(failure_domain={"hypervisor": "hv1", "rack": "r9"}),
            "db1: failure_domain.rack is 'r9' but its hypervisor hv1 has 'r1'",
        ),
    ],
)
def test_missing_or_contradicting_data(change: Any, message: str) -> None:
    hv = hostvars()
    change(hv)
    report = run(hv=hv)
    assert any(f.rule == "data" and message in f.message for f in report.findings), report.render()


def test_unknown_domain_type_in_policy() -> None:
    policy = copy.deepcopy(POLICY)
    policy["galera"]["must_not_share"] = ["hypervisor", "building"]
    report = run(policy=policy)
    assert any("unknown ['building']" in f.message for f in report.findings)


def test_override_needs_a_reason_and_is_reported() -> None:
    hv = hostvars()
    hv["lb2"]["failure_domain"]["hypervisor"] = "hv1"
    keys = [f.key for f in run(hv=hv).findings]
    assert "peers:vrrp_db:lb1,lb2:hypervisor=hv1" in keys
    accepted = run(hv=hv, overrides=[{"finding": k, "reason": "until hv2 is delivered"} for k in keys])
    assert accepted.ok
    assert {r for _, r in accepted.overridden} == {"until hv2 is delivered"}
    no_reason = run(hv=hv, overrides=[{"finding": keys[0], "reason": " "}])
    assert not no_reason.ok
    assert any("needs finding and reason" in f.message for f in no_reason.findings)


def test_unused_override_is_warned_about() -> None:
    report = run(overrides=[{"finding": "peers:galera:db1,db2:rack=r1", "reason": "old"}])
    assert report.ok
    assert report.unused_overrides == ["peers:galera:db1,db2:rack=r1"]
    assert "warning: override matches no finding" in report.render()


ARBITRATED_POLICY: dict[str, Any] = {
    "galera": {
        "must_not_share": ["hypervisor", "rack", "ups", "feed"],
        "keep_majority": True,
        "with_groups": ["galera_arbitrator"],
    },
}


def arbitrated(arbitrator_hypervisor: str) -> Any:
    hv = {
        "db1": {"failure_domain": {"hypervisor": "hv1"}},
        "db2": {"failure_domain": {"hypervisor": "hv2"}},
        "garb": {"failure_domain": {"hypervisor": arbitrator_hypervisor}},
    }
    groups = {"galera": ["db1", "db2"], "galera_arbitrator": ["garb"]}
    return check(hv, groups, ARBITRATED_POLICY, HYPERVISORS, [])


def test_two_data_nodes_and_an_arbitrator_on_three_domains_pass() -> None:
    report = arbitrated("hv3")
    assert report.ok, report.render()


def test_an_arbitrator_beside_a_data_node_loses_the_majority_with_that_hypervisor() -> None:
    report = arbitrated("hv1")
    messages = [f.message for f in report.findings if f.rule == "majority"]
    expected = "group galera: losing hypervisor=hv1 takes db1, garb down and leaves 1 of 3, no majority"
    assert expected in messages
    assert any(f.rule == "peers" and f.hosts == ("db1", "garb") for f in report.findings)


def test_without_with_groups_two_data_nodes_are_refused() -> None:
    hv = {"db1": {"failure_domain": {"hypervisor": "hv1"}}, "db2": {"failure_domain": {"hypervisor": "hv2"}}}
    report = check(hv, {"galera": ["db1", "db2"]}, POLICY, HYPERVISORS, [])
    assert any(f.rule == "majority" and "leaves 1 of 2" in f.message for f in report.findings)


def test_with_groups_must_be_a_list_of_names() -> None:
    policy = {"galera": {"must_not_share": ["hypervisor"], "with_groups": "galera_arbitrator"}}
    report = check(hostvars(), GROUPS, policy, HYPERVISORS, [])
    assert any(
        f.rule == "data" and "failure_domain_policy.galera.with_groups must be a list" in f.message
        for f in report.findings
    )
