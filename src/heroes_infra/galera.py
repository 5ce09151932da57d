"""Decide how to (re)start a Galera cluster from what every node holds.

The rules, in order (fail closed: when the data is not clear, stop and say why):

1. If a reachable node is part of a Primary component, the cluster runs: nothing is
   bootstrapped, the other nodes join it. A node named by the operator to bootstrap is refused
   then: it would start a second Primary component beside the running one.
2. Otherwise every node must be reachable and its position readable. A node that is not, a
   UUID that differs between nodes, or a node that held data but lost its position stops the
   decision, unless the operator names the node to bootstrap.
3. Nodes that never joined a cluster (no state, or the all-zero UUID with seqno -1) take no part
   in the choice; if no node ever held data, the cluster is new and the first node by name
   starts it.
4. Among the nodes with the cluster's UUID: the one with ``safe_to_bootstrap: 1`` (Galera marks
   the last node to leave cleanly), else the highest seqno (``grastate.dat``, or the position
   ``mysqld --wsrep-recover`` recovered when the file says -1). Ties go to the first by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ZERO_UUID = "00000000-0000-0000-0000-000000000000"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class NodeState:
    """What one node holds."""

    name: str
    reachable: bool = True
    primary: bool = False  # part of a running Primary component
    uuid: str | None = None  # from grastate.dat; None when there is no grastate.dat
    seqno: int | None = None  # from grastate.dat (-1: unknown)
    safe_to_bootstrap: bool = False
    recovered_uuid: str | None = None  # from --wsrep-recover
    recovered_seqno: int | None = None

    @property
    def never_joined(self) -> bool:
        """A node with no state, or the state of a node that never joined a cluster."""
        uuid = self.recovered_uuid or self.uuid
        seqno = self.position
        return uuid in (None, ZERO_UUID) and seqno in (None, -1)

    @property
    def cluster_uuid(self) -> str | None:
        uuid = self.uuid if self.uuid not in (None, ZERO_UUID) else self.recovered_uuid
        return None if uuid in (None, ZERO_UUID) else uuid

    @property
    def position(self) -> int | None:
        """The best known seqno: grastate's, or the recovered one when grastate says -1."""
        if self.seqno is not None and self.seqno >= 0:
            return self.seqno
        if self.recovered_seqno is not None:
            return self.recovered_seqno
        return self.seqno


@dataclass(frozen=True)
class Decision:
    """What to do, why, and what every node holds."""

    action: str  # "join-running", "bootstrap", "refuse"
    bootstrap: str | None
    reason: str
    table: str

    @property
    def ok(self) -> bool:
        return self.action != "refuse"


def parse_grastate(text: str) -> dict[str, Any]:
    """uuid, seqno and safe_to_bootstrap from the text of a grastate.dat."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if ":" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition(":")
            values[key.strip()] = value.strip()
    uuid = values.get("uuid")
    if uuid is not None and not _UUID.match(uuid):
        raise ValueError(f"grastate.dat: malformed uuid {uuid!r}")
    try:
        seqno = int(values["seqno"]) if "seqno" in values else None
    except ValueError as exc:
        raise ValueError(f"grastate.dat: malformed seqno {values['seqno']!r}") from exc
    return {
        "uuid": uuid,
        "seqno": seqno,
        "safe_to_bootstrap": values.get("safe_to_bootstrap", "0") == "1",
    }


_RECOVERED = re.compile(r"WSREP: Recovered position:?\s*([0-9a-f-]{36}):(-?\d+)")
_START_POSITION = re.compile(r"^(?:--wsrep_start_position=)?([0-9a-f-]{36}):(-?\d+)\s*$", re.MULTILINE)


def parse_recovered(log: str) -> tuple[str, int] | None:
    """(uuid, seqno) from the output of `mysqld --wsrep-recover` (its log line), or of Debian's
    `galera_recovery`, which prints ``--wsrep_start_position=<uuid>:<seqno>``."""
    matches = _RECOVERED.findall(log)
    if not matches:
        bare = _START_POSITION.search(log.strip())
        if not bare:
            return None
        return bare.group(1), int(bare.group(2))
    uuid, seqno = matches[-1]
    return uuid, int(seqno)


def table(states: Iterable[NodeState]) -> str:
    """A fixed-width table of what every node holds."""
    rows = [("node", "reachable", "primary", "uuid", "seqno", "safe", "recovered")]
    for s in sorted(states, key=lambda s: s.name):
        recovered = (
            f"{s.recovered_uuid}:{s.recovered_seqno}"
            if s.recovered_uuid or s.recovered_seqno is not None
            else "-"
        )
        rows.append(
            (
                s.name,
                "yes" if s.reachable else "NO",
                "yes" if s.primary else "no",
                s.uuid or "-",
                "-" if s.seqno is None else str(s.seqno),
                "1" if s.safe_to_bootstrap else "0",
                recovered,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def decide(states: Sequence[NodeState], override: str | None = None) -> Decision:
    """Apply the rules of this module to the states of every node of the cluster."""
    by_name = {s.name: s for s in states}
    shown = table(states)
    if override and override not in by_name:
        return Decision("refuse", None, f"the node named to bootstrap, {override!r}, is not a member", shown)

    running = sorted(s.name for s in states if s.reachable and s.primary)
    if running and override:
        # A second Primary with the same cluster UUID would fork the cluster's history (seen
        # on the lab: the running nodes crashed with "gcs connect failed").
        return Decision(
            "refuse",
            None,
            f"galera_bootstrap_node={override} was given but the cluster runs (Primary on "
            f"{', '.join(running)}): bootstrapping beside it would make a second Primary component. "
            "Drop galera_bootstrap_node; the stopped nodes join the running cluster",
            shown,
        )
    if running:
        return Decision("join-running", None, f"the cluster runs (Primary on {', '.join(running)})", shown)
    if override:
        return Decision("bootstrap", override, f"the operator named {override} to bootstrap", shown)

    unreachable = sorted(s.name for s in states if not s.reachable)
    if unreachable:
        return Decision(
            "refuse",
            None,
            f"no Primary component and {', '.join(unreachable)} cannot be reached: its state may be the "
            "newest. Bring it back, or name the node to bootstrap.",
            shown,
        )

    holders = [s for s in states if not s.never_joined]
    if not holders:
        first = sorted(by_name)[0]
        return Decision(
            "bootstrap", first, f"new cluster: no node holds data, {first} (first by name) starts it", shown
        )

    uuids = {s.cluster_uuid for s in holders}
    if None in uuids:
        lost = sorted(s.name for s in holders if s.cluster_uuid is None)
        return Decision(
            "refuse", None, f"{', '.join(lost)} held data but its cluster UUID cannot be read", shown
        )
    if len(uuids) > 1:
        return Decision(
            "refuse",
            None,
            f"the nodes hold different cluster UUIDs ({', '.join(sorted(u for u in uuids if u))}): "
            "they are not one cluster",
            shown,
        )
    unknown = sorted(s.name for s in holders if s.position is None or s.position < 0)
    if unknown:
        return Decision(
            "refuse",
            None,
            f"the position of {', '.join(unknown)} is unknown (seqno -1 and nothing recovered): "
            "run mysqld --wsrep-recover there, or name the node to bootstrap",
            shown,
        )

    safe = sorted(s.name for s in holders if s.safe_to_bootstrap)
    best = max(s.position or 0 for s in holders)
    if safe:
        chosen = by_name[safe[0]]
        if (chosen.position or 0) < best:
            return Decision(
                "refuse",
                None,
                f"{chosen.name} has safe_to_bootstrap: 1 but seqno {chosen.position}, lower than {best} "
                "elsewhere: the data disagree",
                shown,
            )
        return Decision("bootstrap", chosen.name, f"{chosen.name} has safe_to_bootstrap: 1", shown)
    leaders = sorted(s.name for s in holders if s.position == best)
    tie = f" (tie with {', '.join(leaders[1:])}, first by name wins)" if len(leaders) > 1 else ""
    return Decision("bootstrap", leaders[0], f"{leaders[0]} has the highest seqno, {best}{tie}", shown)


def states_from_facts(facts: Mapping[str, Mapping[str, Any]]) -> list[NodeState]:
    """NodeStates from per-node dicts as the role collects them (see roles/galera)."""
    result = []
    for name, f in sorted(facts.items()):
        result.append(
            NodeState(
                name=name,
                reachable=bool(f.get("reachable", True)),
                primary=bool(f.get("primary", False)),
                uuid=f.get("uuid"),
                seqno=None if f.get("seqno") is None else int(f["seqno"]),
                safe_to_bootstrap=bool(f.get("safe_to_bootstrap", False)),
                recovered_uuid=f.get("recovered_uuid"),
                recovered_seqno=None if f.get("recovered_seqno") is None else int(f["recovered_seqno"]),
            )
        )
    return result


# --- Donors while versions are mixed (rolling upgrade) -------------------------------------
# A joiner must never take its state from a node of a newer MariaDB release: a 10.11 joiner
# fails on an SST from an 11.8 donor (its files changed) and loops (see ../shared/LAB.md);
# 11.8 joining from 10.11 works. wsrep_sst_donor (which also picks the IST donor) is set to the
# allowed donors with no trailing comma, so Galera never falls back to any other node.


@dataclass(frozen=True)
class DonorPlan:
    donors: dict[str, list[str]]  # node -> allowed donors, in order; empty dict: no pinning needed
    warnings: list[str]


def _release(version: str) -> tuple[int, int]:
    match = re.match(r"^\s*(\d+)\.(\d+)", version)
    if not match:
        raise ValueError(f"not a MariaDB version: {version!r}")
    return int(match.group(1)), int(match.group(2))


def donor_plan(versions: Mapping[str, str]) -> DonorPlan:
    """Allowed SST/IST donors of each node while releases differ (``{}`` when they do not)."""
    releases = {name: _release(v) for name, v in versions.items()}
    if len(set(releases.values())) <= 1:
        return DonorPlan({}, [])
    donors: dict[str, list[str]] = {}
    warnings: list[str] = []
    for name in sorted(releases):
        mine = releases[name]
        same = sorted(n for n, r in releases.items() if n != name and r == mine)
        # older releases: the newest of them first, then by name
        older = sorted((n for n, r in releases.items() if r < mine),
                       key=lambda n: (-releases[n][0], -releases[n][1], n))
        donors[name] = same + older
        if not donors[name]:
            warnings.append(
                f"{name} ({versions[name]}) has no donor of its release or older: it must not need a "
                "state transfer until it is upgraded (upgrade it next)"
            )
    return DonorPlan(donors, warnings)
