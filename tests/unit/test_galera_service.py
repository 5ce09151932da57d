"""The galera role's service module (roles/galera/library/galera_service.py): the check of
multi-master.info on real files, the watched start against a scripted systemd double (what
``systemctl show`` and ``journalctl`` print, in order)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import load_file

gs = load_file("roles/galera/library/galera_service.py", "galera_service")

# What a CI run found in a joiner's multi-master.info (see the README, "Verified for real"): a TLS
# 1.3 record of 24 bytes, the size of a close_notify.
TLS_RECORD = bytes([0x17, 0x03, 0x03, 0x00, 0x13, 0x46, 0x53, 0xF3, 0xCE, 0xBC, 0x17, 0xB8, 0x64, 0x0A,
                    0xF8, 0xBC, 0x17, 0x0A, 0x23, 0x3A, 0x2E, 0x2A, 0x76, 0xA6])


@pytest.mark.parametrize("data", [b"", b"\n", b"europe\nasia-2\n", "été\n".encode(), b"x" * 64 + b"\n"])
def test_names_are_readable(data: bytes) -> None:
    assert gs.unreadable(data) == ""


@pytest.mark.parametrize(("data", "why"), [
    (TLS_RECORD, "not UTF-8 text (byte 7"),
    (b"\x17\x03\x03\n", "line 1 holds the control byte '\\x17'"),
    (b"ok\nbad\x00name\n", "line 2 holds the control byte '\\x00'"),
    (b"y" * 65, "line 1 is 65 characters long"),
])
def test_anything_else_is_unreadable(data: bytes, why: str) -> None:
    assert gs.unreadable(data).startswith(why)


def test_an_unreadable_file_is_set_aside_and_an_empty_one_takes_its_place(tmp_path: Path) -> None:
    index = tmp_path / "multi-master.info"
    index.write_bytes(TLS_RECORD)
    index.chmod(0o640)
    target, why = gs.set_aside_unreadable(str(tmp_path), False, 1796601600.0)
    assert target == f"{index}.unreadable-20261207T000000Z"
    assert why.startswith("24 bytes, not UTF-8 text")
    assert Path(target).read_bytes() == TLS_RECORD
    assert index.read_bytes() == b""
    assert index.stat().st_mode & 0o777 == 0o640 and index.stat().st_uid == os.getuid()


def test_check_mode_and_readable_or_missing_files_change_nothing(tmp_path: Path) -> None:
    index = tmp_path / "multi-master.info"
    assert gs.set_aside_unreadable(str(tmp_path), False, 0.0) == ("", "")
    index.write_bytes(TLS_RECORD)
    target, _ = gs.set_aside_unreadable(str(tmp_path), True, 0.0)
    assert target.endswith(".unreadable-19700101T000000Z")
    assert index.read_bytes() == TLS_RECORD and sorted(p.name for p in tmp_path.iterdir()) == [index.name]
    index.write_bytes(b"europe\n")
    assert gs.set_aside_unreadable(str(tmp_path), False, 0.0) == ("", "")
    assert index.read_bytes() == b"europe\n"


class Systemd:
    """A scripted double of systemctl show and journalctl: each poll takes the next state."""

    def __init__(self, states: list[tuple[str, str, str]], journal: dict[str, list[str]]) -> None:
        self.states, self.journal = states, journal
        self.calls: list[list[str]] = []
        self.now = 0.0

    def run(self, argv: list[str]) -> tuple[int, str, str]:
        self.calls.append(argv)
        if argv[:2] == ["systemctl", "show"]:
            active, sub, invocation = self.states.pop(0) if len(self.states) > 1 else self.states[0]
            return 0, f"ActiveState={active}\nSubState={sub}\nInvocationID={invocation}\n", ""
        if argv[0] == "journalctl":
            invocation = argv[1].split("=", 1)[1]
            return 0, "".join(f"{line}\n" for line in self.journal.get(invocation, [])), ""
        raise AssertionError(argv)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def watch(systemd: Systemd, before: str = "old", timeout: float = 600) -> Any:
    return gs.watch_start(systemd.run, "mariadb", before, timeout, clock=systemd.clock, sleep=systemd.sleep)


def test_a_start_that_becomes_active_is_waited_for() -> None:
    systemd = Systemd([("inactive", "dead", "old"), ("activating", "start", "new"),
                       ("active", "running", "new")], {"new": ["2026-12-07 [Note] WSREP: SST received"]})
    unit = watch(systemd)
    assert unit.active == "active" and systemd.now == 2.0


def test_an_abort_that_hangs_fails_at_once_with_the_servers_errors() -> None:
    errors = ["2026-12-07  6:57:53 7 [ERROR] Initialized Master_info from 'master-.info' failed",
              "2026-12-07  6:57:53 0 [ERROR] Failed to initialize multi master structures",
              "2026-12-07  6:57:53 0 [ERROR] Aborting"]
    systemd = Systemd([("activating", "start", "new")] * 3, {"new": ["[Note] WSREP: IST received", *errors]})
    with pytest.raises(gs.StartFailed) as failed:
        watch(systemd)
    said = str(failed.value)
    assert "aborted its start and has not exited (activating/start)" in said
    assert "Failed to initialize multi master structures" in said and "systemctl stop mariadb" in said
    assert systemd.now == 0.0, "no waiting once the server said it aborts"


@pytest.mark.parametrize(("active", "sub"), [("failed", "failed"), ("activating", "auto-restart"),
                                             ("inactive", "dead")])
def test_a_unit_that_failed_or_restarts_fails_with_its_errors(active: str, sub: str) -> None:
    systemd = Systemd([("activating", "start", "new"), (active, sub, "new")],
                      {"new": ["[ERROR] mariadbd: unknown variable 'heroes-no-such-option=1'"]})
    with pytest.raises(gs.StartFailed) as failed:
        watch(systemd)
    assert f"failed to start ({active}/{sub})" in str(failed.value)
    assert "unknown variable 'heroes-no-such-option=1'" in str(failed.value)


def test_a_start_job_that_never_runs_times_out_and_says_so() -> None:
    systemd = Systemd([("inactive", "dead", "old")], {})
    with pytest.raises(gs.StartFailed) as failed:
        watch(systemd, timeout=30)
    assert "not active 30 s after its start (inactive/dead, the start job has not run)" in str(failed.value)
    assert systemd.now == 30.0


def test_a_slow_start_without_error_is_waited_for_until_the_timeout() -> None:
    systemd = Systemd([("activating", "start", "new")], {"new": ["[Note] WSREP: SST request"]})
    with pytest.raises(gs.StartFailed) as failed:
        watch(systemd, timeout=10)
    assert "not active 10 s after its start (activating/start)." in str(failed.value)


def test_a_boot_start_already_under_way_is_watched_from_its_own_invocation() -> None:
    systemd = Systemd([("activating", "start", "boot"), ("active", "running", "boot")], {})
    assert watch(systemd, before="").active == "active"
