#!/usr/bin/python
"""Ansible module: stop, start or restart MariaDB on a Galera node, the galera role's one way.

Two things ``ansible.builtin.systemd_service`` does not do:

* Between the stop and the start it checks the data directory's ``multi-master.info`` (the list
  of the server's replication connection names). A file that holds anything but names (control
  bytes, a line longer than a name may be) makes MariaDB abort its start, and on a Galera node
  that abort can hang until systemd's start timeout (15 minutes on Debian). The role configures
  no replication connection, so such a file is set aside (kept, renamed with the time) and an
  empty one takes its place. A file of valid names is left alone.
* It starts without blocking on systemd and watches the start: it fails at once, with the
  server's own ``[ERROR]`` lines, when MariaDB logs ``Aborting`` or its unit fails, instead of
  waiting for systemd's timeout.

stdlib only; runs on the node.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DOCUMENTATION = r"""
---
module: galera_service
short_description: Stop, start or restart MariaDB on a Galera node, checked and watched
description:
  - Stops, starts or restarts the MariaDB unit. Before any start, and after any stop, a
    C(multi-master.info) in O(datadir) that does not hold replication connection names (one per
    line, printable, at most 64 characters) is renamed C(multi-master.info.unreadable-<UTC time>)
    and an empty file with the same owner and mode takes its place.
  - The start does not block on systemd; the module watches the unit and its journal (this start
    only) and fails as soon as MariaDB logs C(Aborting) or the unit fails, quoting the server's
    C([ERROR]) lines; or after O(timeout) seconds.
  - A unit already active is not started again (state=started); one still starting (a boot's
    start) is watched the same way. Supports check mode.
options:
  name:
    description: The systemd unit.
    type: str
    default: mariadb
  state:
    description: What to do.
    type: str
    choices: [started, stopped, restarted]
    required: true
  datadir:
    description: The server's data directory.
    type: str
    default: /var/lib/mysql
  timeout:
    description: Seconds a start may take until the unit is active (an SST runs within it).
    type: int
    default: 600
"""

RETURN = r"""
set_aside:
  description: Where an unreadable multi-master.info was moved, or an empty string.
  type: str
  returned: always
active_state:
  description: The unit's ActiveState at the end.
  type: str
  returned: always
"""

NAME_MAX = 64
INDEX = "multi-master.info"
Runner = Callable[[list[str]], tuple[int, str, str]]


def unreadable(data: bytes) -> str:
    """Why ``data`` is not a multi-master.info of connection names; '' when it is one."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text (byte {exc.start}: {data[exc.start:exc.start + 1]!r})"
    for number, line in enumerate(text.split("\n"), start=1):
        bad = [c for c in line if ord(c) < 0x20 or ord(c) == 0x7F]
        if bad:
            return f"line {number} holds the control byte {bad[0]!r}"
        if len(line) > NAME_MAX:
            return f"line {number} is {len(line)} characters long, a name is at most {NAME_MAX}"
    return ""


def set_aside_unreadable(datadir: str, check_mode: bool, now: float) -> tuple[str, str]:
    """Move an unreadable multi-master.info aside; (where it went, why) or ('', '')."""
    path = os.path.join(datadir, INDEX)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return "", ""
    why = unreadable(data)
    if not why:
        return "", ""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    target = f"{path}.unreadable-{stamp}"
    if not check_mode:
        info = os.stat(path)
        shutil.move(path, target)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, info.st_mode & 0o7777)
        os.close(fd)
        os.chown(path, info.st_uid, info.st_gid)
        os.chmod(path, info.st_mode & 0o7777)
    return target, f"{len(data)} bytes, {why}"


@dataclass
class Unit:
    active: str
    sub: str
    invocation: str


def show(run: Runner, name: str) -> Unit:
    rc, out, err = run(["systemctl", "show", name, "--property=ActiveState,SubState,InvocationID"])
    if rc != 0:
        raise RuntimeError(f"systemctl show {name} failed: {err.strip() or out.strip()}")
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return Unit(values.get("ActiveState", ""), values.get("SubState", ""), values.get("InvocationID", ""))


def journal_errors(run: Runner, invocation: str) -> tuple[list[str], bool]:
    """This start's [ERROR] lines, and whether the server logged that it aborts."""
    if not invocation:
        return [], False
    rc, out, _ = run(["journalctl", f"_SYSTEMD_INVOCATION_ID={invocation}", "--output=cat", "--no-pager"])
    if rc != 0:
        return [], False
    errors = [line.strip() for line in out.splitlines() if "[ERROR]" in line]
    return errors, any(line.endswith("[ERROR] Aborting") for line in errors)


class StartFailed(Exception):
    def __init__(self, msg: str, unit: Unit) -> None:
        super().__init__(msg)
        self.unit = unit


def watch_start(run: Runner, name: str, before: str, timeout: float,
                clock: Callable[[], float] = time.monotonic,
                sleep: Callable[[float], None] = time.sleep, poll: float = 1.0) -> Unit:
    """Wait until the start begun after invocation ``before`` is active; raise StartFailed at the
    first sign that it will not be (logged Aborting, unit failed or restarting, timeout)."""
    deadline = clock() + timeout
    while True:
        unit = show(run, name)
        new = unit.invocation not in ("", before)
        if new and unit.active == "active":
            return unit
        if new:
            errors, aborting = journal_errors(run, unit.invocation)
            said = "; ".join(errors[-10:]) or "no [ERROR] line in its journal"
            if aborting:
                raise StartFailed(
                    f"MariaDB ({name}) aborted its start and has not exited ({unit.active}/{unit.sub}); "
                    f"systemd would wait for its start timeout. The server said: {said}. "
                    f"'systemctl stop {name}' ends it; 'journalctl -u {name}' has the whole log.", unit)
            if unit.active in ("failed", "inactive") or unit.sub == "auto-restart":
                raise StartFailed(f"MariaDB ({name}) failed to start ({unit.active}/{unit.sub}). "
                                  f"The server said: {said}", unit)
        if clock() >= deadline:
            raise StartFailed(
                f"MariaDB ({name}) was not active {timeout:.0f} s after its start "
                f"({unit.active}/{unit.sub}{'' if new else ', the start job has not run'}).", unit)
        sleep(poll)


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "default": "mariadb"},
            "state": {"type": "str", "required": True, "choices": ["started", "stopped", "restarted"]},
            "datadir": {"type": "str", "default": "/var/lib/mysql"},
            "timeout": {"type": "int", "default": 600},
        },
        supports_check_mode=True,
    )
    p: dict[str, Any] = module.params
    name, state = p["name"], p["state"]

    def run(argv: list[str]) -> tuple[int, str, str]:
        rc, out, err = module.run_command(argv)
        return int(rc), str(out), str(err)

    def fail(msg: str, unit: Unit | None = None, **extra: Any) -> None:
        module.fail_json(msg=msg, active_state=unit.active if unit else "", **extra)

    result: dict[str, Any] = {"changed": False, "set_aside": ""}
    try:
        unit = show(run, name)
        running = unit.active in ("active", "activating", "reloading")
        if state in ("stopped", "restarted") and running:
            result["changed"] = True
            if not module.check_mode:
                rc, out, err = run(["systemctl", "stop", name])
                if rc != 0:
                    fail(f"systemctl stop {name} failed: {err.strip() or out.strip()}", show(run, name))
                unit = show(run, name)
            running = False
        if running:  # started, and it is: a server's own files are not touched under it
            if unit.active == "activating" and not module.check_mode:  # a boot's start: watched too
                unit = watch_start(run, name, "", float(p["timeout"]))
            module.exit_json(**result, active_state=unit.active)
        target, why = set_aside_unreadable(p["datadir"], module.check_mode, time.time())
        if target:
            result.update(changed=True, set_aside=target)
            module.warn(f"{p['datadir']}/{INDEX} was not a list of replication connection names ({why}), "
                        f"which MariaDB cannot start with; it was set aside as {target} and an empty "
                        f"one put in its place (the role configures no replication connection).")
        if state == "stopped":
            module.exit_json(**result, active_state=unit.active)
        result["changed"] = True
        if module.check_mode:
            module.exit_json(**result, active_state=unit.active)
        rc, out, err = run(["systemctl", "start", "--no-block", name])
        if rc != 0:
            fail(f"systemctl start {name} failed: {err.strip() or out.strip()}", unit)
        unit = watch_start(run, name, unit.invocation, float(p["timeout"]))
    except StartFailed as exc:
        fail(str(exc), exc.unit, set_aside=result["set_aside"])
    except (OSError, RuntimeError) as exc:
        fail(f"{name}: {exc}", None, set_aside=result["set_aside"])
    module.exit_json(**result, active_state=unit.active)


if __name__ == "__main__":
    main()
