"""Ansible filters over HAProxy's runtime API output (heroes_infra.haproxy_stat).

{{ out.stdout | heroes_haproxy_servers('galera_write') }}          -> list of servers
{{ out.stdout | heroes_haproxy_ready_others('galera_write', 'db1') }} -> names of the others UP
{{ out.stdout | heroes_haproxy_writer('galera_write') }}               -> the server written to now
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

_SRC = Path(__file__).resolve().parents[2] / "src"
if str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

from heroes_infra.haproxy_stat import ready_others, servers, writer  # noqa: E402


class FilterModule:
    """heroes-infra filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"heroes_haproxy_servers": servers, "heroes_haproxy_ready_others": ready_others,
                "heroes_haproxy_writer": writer}
