"""Ansible filter: the nginx role's virtual hosts, checked and normalised by heroes_infra.nginx.

{{ nginx_vhosts | heroes_nginx_vhosts(nginx_proxy_defaults, 'nginx_vhosts') }}
  ->  the vhosts with their proxy defaults, OCSP responder and no private keys
{{ mime_types_text | heroes_nginx_mime_types(nginx_mime_types) }}
  ->  one types { } block, the extra types taking their extensions over
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleFilterError

_SRC = Path(__file__).resolve().parents[2] / "src"
if str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

from heroes_infra.nginx import VhostError, merge_mime_types, normalise  # noqa: E402


def heroes_nginx_vhosts(vhosts: Any, proxy_defaults: Any,
                        variable: str = "nginx_vhosts") -> list[dict[str, Any]]:
    """The checked vhosts; bad input is an error naming the variable and the expected form."""
    try:
        return normalise(vhosts, proxy_defaults, str(variable))
    except VhostError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def heroes_nginx_mime_types(distribution: str, extra: Any) -> str:
    """The distribution's mime.types (its text) with the role's extra types taking over."""
    return merge_mime_types(str(distribution), dict(extra or {}))


class FilterModule:
    """heroes-infra filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"heroes_nginx_vhosts": heroes_nginx_vhosts,
                "heroes_nginx_mime_types": heroes_nginx_mime_types}
