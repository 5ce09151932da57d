"""The health agent's verdict for every node state, and its wire format."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest

from heroes_infra.galera_agent import CachedVerdict, Health, Verdict, main, query_health, serve, verdict

SYNCED = Health(reachable=True, local_state=4, cluster_status="Primary", ready=True, cluster_size=3)


# (name, health, donor policy, expected reply)
TABLE = [
    ("synced", SYNCED, "last", "up 100%"),
    ("donor, others can serve", Health(True, 2, "Primary", True, False, 3), "last", "down#"),
    ("donor, last able to serve", Health(True, 2, "Primary", True, False, 2), "last", "up 100%"),
    ("donor, policy never", Health(True, 2, "Primary", True, False, 2), "never", "down#"),
    ("donor, policy always", Health(True, 2, "Primary", True, False, 3), "always", "up 100%"),
    ("joiner", Health(True, 1, "Primary", False, False, 3), "last", "down#"),
    ("joined", Health(True, 3, "Primary", True, False, 3), "last", "down#"),
    ("non-primary", Health(True, 4, "non-Primary", False, False, 1), "last", "down#"),
    ("disconnected", Health(True, 0, "Disconnected", False, False, 0), "last", "down#"),
    ("no wsrep at all", Health(True, None, None, False, False, 0), "last", "down#"),
    ("read_only", Health(True, 4, "Primary", True, True, 3), "last", "down#"),
    ("wsrep not ready", Health(True, 4, "Primary", False, False, 3), "last", "down#"),
    ("disabled by operator", Health(True, 4, "Primary", True, False, 3, disabled=True), "last", "up 0%"),
    ("disabled and not synced", Health(True, 1, "Primary", False, False, 3, disabled=True), "last", "down#"),
    ("unreachable", Health(False, error="Can't connect"), "last", "down#"),
    ("unreachable and disabled", Health(False, disabled=True), "last", "down#"),
]


@pytest.mark.parametrize(("name", "health", "policy", "expected"), TABLE, ids=[row[0] for row in TABLE])
def test_verdict_table(name: str, health: Health, policy: str, expected: str) -> None:
    reply = verdict(health, policy).reply()
    assert reply.endswith("\n")
    assert reply.startswith(expected), f"{name}: {reply!r}"
    if expected == "down#":
        assert len(reply.strip()) > len("down#"), "a down verdict says why"


def test_a_donor_of_two_data_nodes_and_an_arbitrator_is_the_last_to_serve() -> None:
    # wsrep_cluster_size 3 = donor + joiner + garbd: nobody else can serve
    donor = Health(True, 2, "Primary", True, False, 3)
    assert verdict(donor, "last").reply().startswith("down#")
    assert verdict(donor, "last", arbitrators=1).reply() == "up 100%\n"
    # four members, one an arbitrator: the third data node serves, the donor steps aside
    assert "another of 3 data nodes" in verdict(Health(True, 2, "Primary", True, False, 4), "last", 1).reason


def test_check_command_takes_the_arbitrator_count(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import heroes_infra.galera_agent as agent

    monkeypatch.setattr(agent, "query_health", lambda *_: Health(True, 2, "Primary", True, False, 3))
    assert main(["check", "--arbitrators", "1"]) == 0
    assert capsys.readouterr().out.startswith("up 100%")
    assert main(["check"]) == 1


def test_down_reasons_name_the_state() -> None:
    assert "Joining" in verdict(Health(True, 1, "Primary", True, False, 3)).reason
    assert "non-Primary" in verdict(Health(True, 4, "non-Primary", True, False, 1)).reason
    assert "read_only" in verdict(Health(True, 4, "Primary", True, True, 3)).reason
    assert "Can't connect" in verdict(Health(False, error="Can't connect")).reason


def test_reply_never_uses_administrative_words() -> None:
    # ready/drain/maint would override the runtime API's drain during a rolling restart.
    for _, health, policy, _ in TABLE:
        word = verdict(health, policy).reply().split("#")[0].split()[0]
        assert word in {"up", "down"}


def test_reply_is_one_clean_line() -> None:
    reply = Verdict(False, 0, "line one\nline #two " + "x" * 300).reply()
    assert reply.count("\n") == 1
    assert reply.count("#") == 1
    assert len(reply) < 120


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="donor_policy must be one of"):
        verdict(SYNCED, "sometimes")


def test_cache_asks_once_per_ttl() -> None:
    calls: list[int] = []
    now = [0.0]

    def probe() -> Health:
        calls.append(1)
        return SYNCED

    cache = CachedVerdict(probe, "last", ttl=0.5, clock=lambda: now[0])
    cache.get()
    cache.get()
    now[0] = 0.4
    cache.get()
    assert len(calls) == 1
    now[0] = 0.6
    cache.get()
    assert len(calls) == 2


def test_unreachable_socket_means_down() -> None:
    health = query_health("/nonexistent/mysqld.sock", "nobody", "/nonexistent/disabled", timeout=0.2)
    assert not health.reachable
    assert verdict(health).reply().startswith("down#mysqld unreachable")


def test_serves_the_verdict_over_tcp() -> None:
    async def scenario() -> bytes:
        cache = CachedVerdict(lambda: SYNCED, "last", ttl=0.0)
        with socket.socket() as probe:  # a free port on loopback
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        task = asyncio.create_task(serve("127.0.0.1", port, cache))
        for _ in range(50):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.02)
        data = await reader.read()
        writer.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return data

    assert asyncio.run(scenario()) == b"up 100%\n"


def test_check_command_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["check", "--socket", "/nonexistent.sock", "--disabled-file", "/nonexistent"])
    assert rc == 1
    assert capsys.readouterr().out.startswith("down#mysqld unreachable")


def test_bad_listen_address_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--listen", "nowhere"])
    assert "--listen must be address:port" in capsys.readouterr().err
