"""Under `make test` (heroes-test) this scenario's hosts are built, converged and checked for
idempotence beside the role scenarios, and its tests wait here until those have ended: they
measure stalls and failover times, which the role scenarios' load would stretch. heroes-test
names a file in HEROES_TEST_VERIFY_GATE: the tests start once it is gone, and stop at once when
it says "stop" (a role scenario failed, the suite has failed). Run by hand, nothing waits."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

GATE_TIMEOUT = 3 * 3600  # heroes-test gone without opening it: fail rather than wait for ever


def gate_says(gate: Path) -> str | None:
    """What the gate file holds (while it is written: ""), None once it is gone."""
    try:
        return gate.read_text().strip()
    except FileNotFoundError:
        return None


def pytest_sessionstart(session: pytest.Session) -> None:
    name = os.environ.get("HEROES_TEST_VERIFY_GATE", "")
    if not name:
        return
    gate, began = Path(name), time.monotonic()
    while (said := gate_says(gate)) not in (None, "stop"):
        if time.monotonic() - began > GATE_TIMEOUT:
            pytest.exit(f"not run: heroes-test's gate {gate} still closed after {GATE_TIMEOUT} s",
                        returncode=1)
        time.sleep(2)
    if said == "stop":
        pytest.exit("not run: another stage of the suite failed (heroes-test's gate says stop)", returncode=1)
    print(f"\nwaited {time.monotonic() - began:.0f} s for the role scenarios to end", flush=True)
