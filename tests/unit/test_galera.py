from __future__ import annotations

import pytest

from heroes_infra.galera import (
    ZERO_UUID,
    NodeState,
    decide,
    donor_plan,
    parse_grastate,
    parse_recovered,
    states_from_facts,
)

U1 = "1b2c3d4e-0000-11ef-8000-0242ac1e000b"
U2 = "9f8e7d6c-0000-11ef-8000-0242ac1e000c"

GRASTATE = """# GALERA saved state
version: 2.1
uuid:    1b2c3d4e-0000-11ef-8000-0242ac1e000b
seqno:   -1
safe_to_bootstrap: 1
"""


def test_parse_grastate() -> None:
    assert parse_grastate(GRASTATE) == {"uuid": U1, "seqno": -1, "safe_to_bootstrap": True}


@pytest.mark.parametrize("text", ["uuid: nonsense\nseqno: 1\n", f"uuid: {U1}\nseqno: ten\n"])
def test_parse_grastate_refuses_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="malformed"):
        parse_grastate(text)


def test_parse_recovered_from_log_and_from_galera_recovery_output() -> None:
    log = f"2026-11-25 [Note] WSREP: Recovered position: {U1}:1234\n"
    assert parse_recovered(log) == (U1, 1234)
    # what Debian's galera_recovery prints on stdout (seen on the lab after a power loss)
    assert parse_recovered(f"--wsrep_start_position={U1}:77\n") == (U1, 77)
    assert parse_recovered(f"{U1}:78") == (U1, 78)
    assert parse_recovered("nothing here") is None


def test_running_cluster_is_joined_not_bootstrapped() -> None:
    d = decide([NodeState("db1", primary=True, uuid=U1, seqno=-1), NodeState("db2", reachable=False)])
    assert (d.action, d.bootstrap) == ("join-running", None)


def test_new_cluster_starts_on_first_by_name() -> None:
    d = decide([NodeState("db2"), NodeState("db1", uuid=ZERO_UUID, seqno=-1), NodeState("db3")])
    assert (d.action, d.bootstrap) == ("bootstrap", "db1")
    assert "new cluster" in d.reason


def test_safe_to_bootstrap_wins() -> None:
    d = decide(
        [
            NodeState("db1", uuid=U1, seqno=10),
            NodeState("db2", uuid=U1, seqno=12, safe_to_bootstrap=True),
            NodeState("db3", uuid=U1, seqno=11),
        ]
    )
    assert d.bootstrap == "db2"


def test_highest_recovered_seqno_wins_when_grastate_says_minus_one() -> None:
    d = decide(
        [
            NodeState("db1", uuid=U1, seqno=-1, recovered_uuid=U1, recovered_seqno=500),
            NodeState("db2", uuid=U1, seqno=-1, recovered_uuid=U1, recovered_seqno=502),
            NodeState("db3", uuid=U1, seqno=-1, recovered_uuid=U1, recovered_seqno=501),
        ]
    )
    assert d.bootstrap == "db2"
    assert "highest seqno, 502" in d.reason


def test_tie_is_broken_by_name_and_said() -> None:
    d = decide([NodeState("db3", uuid=U1, seqno=9), NodeState("db2", uuid=U1, seqno=9)])
    assert d.bootstrap == "db2"
    assert "tie with db3" in d.reason


def test_a_node_that_never_joined_takes_no_part() -> None:
    d = decide([NodeState("db1"), NodeState("db2", uuid=U1, seqno=4), NodeState("db3", uuid=U1, seqno=3)])
    assert d.bootstrap == "db2"


@pytest.mark.parametrize(
    ("states", "message"),
    [
        ([NodeState("db1", uuid=U1, seqno=5), NodeState("db2", reachable=False)], "db2 cannot be reached"),
        ([NodeState("db1", uuid=U1, seqno=5), NodeState("db2", uuid=U2, seqno=7)], "different cluster UUIDs"),
        (
            [NodeState("db1", uuid=U1, seqno=5), NodeState("db2", uuid=U1, seqno=-1)],
            "position of db2 is unknown",
        ),
        (
            [NodeState("db1", uuid=ZERO_UUID, seqno=5), NodeState("db2", uuid=U1, seqno=4)],
            "UUID cannot be read",
        ),
        (
            [NodeState("db1", uuid=U1, seqno=5, safe_to_bootstrap=True), NodeState("db2", uuid=U1, seqno=9)],
            "the data disagree",
        ),
    ],
)
def test_fails_closed_with_the_table(states: list[NodeState], message: str) -> None:
    d = decide(states)
    assert not d.ok and d.bootstrap is None
    assert message in d.reason
    assert d.table.splitlines()[0].split() == [
        "node",
        "reachable",
        "primary",
        "uuid",
        "seqno",
        "safe",
        "recovered",
    ]
    assert len(d.table.splitlines()) == len(states) + 1


def test_operator_override_is_the_only_way_past_a_refusal() -> None:
    states = [NodeState("db1", uuid=U1, seqno=5), NodeState("db2", reachable=False)]
    assert decide(states, override="db1").bootstrap == "db1"
    assert not decide(states, override="db9").ok


def test_operator_override_is_refused_while_a_primary_component_runs() -> None:
    states = [
        NodeState("db1", primary=True, uuid=U1, seqno=-1),
        NodeState("db2", uuid=U1, seqno=7, safe_to_bootstrap=True),
        NodeState("db3", reachable=False),
    ]
    d = decide(states, override="db2")
    assert d.action == "refuse" and d.bootstrap is None
    assert "galera_bootstrap_node=db2" in d.reason and "Primary on db1" in d.reason
    assert decide(states).action == "join-running"


def test_states_from_facts() -> None:
    states = states_from_facts({"db1": {"uuid": U1, "seqno": "7", "safe_to_bootstrap": True}})
    assert states == [NodeState("db1", uuid=U1, seqno=7, safe_to_bootstrap=True)]


def test_no_donor_pinning_while_every_node_runs_one_release() -> None:
    plan = donor_plan({"db1": "10.11.19", "db2": "10.11.6", "db3": "10.11.19-MariaDB-deb12"})
    assert plan.donors == {} and plan.warnings == []


def test_old_nodes_never_take_state_from_a_newer_release() -> None:
    plan = donor_plan({"db1": "11.8.9", "db2": "10.11.19", "db3": "10.11.19"})
    assert plan.donors == {"db1": ["db2", "db3"], "db2": ["db3"], "db3": ["db2"]}
    assert plan.warnings == []


def test_the_last_old_node_is_warned_about() -> None:
    plan = donor_plan({"db1": "11.8.9", "db2": "11.8.9", "db3": "10.11.19"})
    assert plan.donors["db3"] == []
    assert plan.donors["db1"] == ["db2", "db3"]
    assert plan.warnings == [
        "db3 (10.11.19) has no donor of its release or older: it must not need a state transfer "
        "until it is upgraded (upgrade it next)"
    ]


def test_a_version_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError, match="not a MariaDB version"):
        donor_plan({"db1": "latest", "db2": "10.11.19"})
