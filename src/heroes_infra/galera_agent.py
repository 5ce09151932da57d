"""Galera health agent for HAProxy's ``agent-check``.

HAProxy connects to the agent's port, reads one line and closes. The line says whether this
database node should receive clients:

* ``up 100%``      in service: Synced (or a Donor that is the last node able to serve),
                   in a Primary component, wsrep ready, not read_only;
* ``up 0%``        drained by an operator on the node itself (the disable file exists):
                   sessions in flight finish, new clients go to another server;
* ``down#<why>``   out of service (Joiner, Joined, non-Primary, read_only, mysqld
                   unreachable, ...). HAProxy's own TCP check keeps covering a dead mysqld.

The agent answers only with *operational* words (``up``/``down``) and a weight, never with the
administrative words ``ready``/``drain``/``maint``: those set the same flags as the runtime
API, so an agent saying ``ready`` would undo the drain of a rolling restart.

This file runs on the database nodes with the system Python and PyMySQL (Debian's
python3-pymysql); it imports nothing else from heroes_infra, so the role copies it as is.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# wsrep_local_state values (Galera's documented numbering).
WSREP_STATES = {1: "Joining", 2: "Donor/Desynced", 3: "Joined", 4: "Synced"}
SYNCED = 4
DONOR = 2
DONOR_POLICIES = ("never", "last", "always")


@dataclass(frozen=True)
class Health:
    """What the agent saw on its node."""

    reachable: bool
    local_state: int | None = None  # wsrep_local_state
    cluster_status: str | None = None  # wsrep_cluster_status: Primary, non-Primary, Disconnected
    ready: bool = False  # wsrep_ready
    read_only: bool = False
    cluster_size: int = 0  # wsrep_cluster_size
    disabled: bool = False  # the operator's disable file exists
    error: str = ""  # why mysqld was unreachable


@dataclass(frozen=True)
class Verdict:
    """What the agent tells HAProxy."""

    up: bool
    weight: int  # percent of the configured weight; 0 drains the server
    reason: str

    def reply(self) -> str:
        if self.up:
            return f"up {self.weight}%\n"
        # HAProxy shows the text after '#' as the check's description.
        reason = " ".join(self.reason.split())[:100].replace("#", " ")
        return f"down#{reason}\n"


def _state_name(state: int | None) -> str:
    if state is None:
        return "unknown"
    return WSREP_STATES.get(state, f"state {state}")


def verdict(health: Health, donor_policy: str = "last", arbitrators: int = 0) -> Verdict:
    """Decide whether a node serves clients. A pure function: the table in the tests.

    ``donor_policy``: ``never`` (a Donor never serves), ``always`` (a Donor serves like a Synced
    node), ``last`` (a Donor serves only when no other member can be Synced: a Donor has at
    least one Joiner, so with 2 data nodes or fewer it is the last node able to serve).
    ``arbitrators``: how many members of ``wsrep_cluster_size`` are Galera arbitrators (garbd),
    which vote but hold no data and never serve.
    """
    if donor_policy not in DONOR_POLICIES:
        raise ValueError(f"donor_policy must be one of {', '.join(DONOR_POLICIES)}, not {donor_policy!r}")
    if not health.reachable:
        return Verdict(False, 0, f"mysqld unreachable: {health.error or 'no answer'}")
    if health.cluster_status != "Primary":
        return Verdict(False, 0, f"not in a Primary component ({health.cluster_status or 'no wsrep'})")
    if not health.ready:
        return Verdict(False, 0, "wsrep_ready is OFF")
    state = health.local_state
    if state == DONOR:
        if donor_policy == "never":
            return Verdict(False, 0, "Donor/Desynced")
        data_nodes = health.cluster_size - arbitrators
        if donor_policy == "last" and data_nodes > 2:
            return Verdict(False, 0, f"Donor/Desynced; another of {data_nodes} data nodes can serve")
    elif state != SYNCED:
        return Verdict(False, 0, _state_name(state))
    if health.read_only:
        return Verdict(False, 0, "read_only is ON")
    if health.disabled:
        return Verdict(True, 0, "disabled by the operator (disable file)")
    return Verdict(True, 100, _state_name(state))


def _flag(value: Any) -> bool:
    return str(value).strip().upper() in {"ON", "1", "TRUE", "YES"}


def query_health(socket_path: str, user: str, disabled_file: str, timeout: float = 1.0) -> Health:
    """Read the node's state over the unix socket (the account authenticates by unix_socket)."""
    disabled = os.path.exists(disabled_file)
    try:
        import pymysql  # Debian: python3-pymysql

        conn = pymysql.connect(
            unix_socket=socket_path,
            user=user,
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
        )
    except Exception as exc:  # any failure to connect means: do not send clients here
        return Health(reachable=False, disabled=disabled, error=str(exc).splitlines()[0][:80])
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SHOW GLOBAL STATUS WHERE Variable_name IN "
                "('wsrep_local_state', 'wsrep_cluster_status', 'wsrep_ready', 'wsrep_cluster_size')"
            )
            status = {str(k).lower(): v for k, v in cur.fetchall()}
            cur.execute("SELECT @@global.read_only")
            row = cur.fetchone()
            read_only = _flag(row[0]) if row else False
    except Exception as exc:
        return Health(reachable=False, disabled=disabled, error=str(exc).splitlines()[0][:80])
    finally:
        conn.close()
    local_state = status.get("wsrep_local_state")
    size = status.get("wsrep_cluster_size")
    return Health(
        reachable=True,
        local_state=int(local_state) if local_state not in (None, "") else None,
        cluster_status=str(status["wsrep_cluster_status"]) if "wsrep_cluster_status" in status else None,
        ready=_flag(status.get("wsrep_ready", "OFF")),
        read_only=read_only,
        cluster_size=int(size) if size not in (None, "") else 0,
        disabled=disabled,
    )


class CachedVerdict:
    """Ask the database at most once per ``ttl`` seconds, however many balancers check."""

    def __init__(self, probe: Callable[[], Health], donor_policy: str, ttl: float,
                 clock: Callable[[], float] = time.monotonic, arbitrators: int = 0) -> None:
        self._probe = probe
        self._policy = donor_policy
        self._arbitrators = arbitrators
        self._ttl = ttl
        self._clock = clock
        self._at = float("-inf")
        self._value: Verdict | None = None

    def get(self) -> Verdict:
        now = self._clock()
        if self._value is None or now - self._at >= self._ttl:
            self._value = verdict(self._probe(), self._policy, self._arbitrators)
            self._at = now
        return self._value


async def serve(host: str, port: int, cache: CachedVerdict) -> None:
    lock = asyncio.Lock()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with lock:
                result = await asyncio.to_thread(cache.get)
            writer.write(result.reply().encode())
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(answer, host, port)
    async with server:
        await server.serve_forever()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="heroes-galera-agent", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["serve", "check"],
                        help="serve: answer HAProxy's agent-check; check: print the verdict once")
    parser.add_argument("--listen", default="127.0.0.1:9200", help="address:port to serve on")
    parser.add_argument("--socket", default="/run/mysqld/mysqld.sock", help="mysqld's unix socket")
    parser.add_argument("--user", default="heroes_galera_agent", help="MySQL account (unix_socket auth)")
    parser.add_argument("--disabled-file", default="/etc/heroes-galera-agent/disabled",
                        help="while this file exists the node is drained (weight 0)")
    parser.add_argument("--donor", choices=DONOR_POLICIES, default="last", help="when a Donor serves")
    parser.add_argument("--arbitrators", type=int, default=0,
                        help="members of the cluster that are arbitrators (garbd): they vote, never serve")
    parser.add_argument("--cache", type=float, default=0.5, help="seconds a verdict is reused")
    parser.add_argument("--json", action="store_true", help="check: print health and verdict as JSON")
    args = parser.parse_args(argv)

    def probe() -> Health:
        return query_health(args.socket, args.user, args.disabled_file)

    if args.command == "check":
        health = probe()
        result = verdict(health, args.donor, args.arbitrators)
        if args.json:
            import json

            print(json.dumps({"health": dataclasses.asdict(health), "verdict": dataclasses.asdict(result),
                              "reply": result.reply().strip()}))
        else:
            print(f"{result.reply().strip()}    ({result.reason})")
        return 0 if result.up else 1
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        parser.error(f"--listen must be address:port, not {args.listen!r}")
    try:
        cache = CachedVerdict(probe, args.donor, args.cache, arbitrators=args.arbitrators)
        asyncio.run(serve(host, int(port), cache))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
