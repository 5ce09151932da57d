"""Ansible filter: nginx's TLS settings of heroes_infra.tls, for the nginx role.

{{ nginx_tls_profile | heroes_nginx_tls(nginx_tls_guideline, openssl_version, nginx_version) }}
  ->  ssl_protocols, ssl_ciphers, ssl_ecdh_curve, ... (see heroes_infra.tls.nginx_settings)
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

from heroes_infra.tls import TLSError, nginx_settings  # noqa: E402


def heroes_nginx_tls(profile: str, guideline: str, openssl: str, nginx: str) -> dict[str, Any]:
    """The settings for a host with these OpenSSL and nginx versions; bad input is an error
    that names the variable and the expected form."""
    try:
        return nginx_settings(str(guideline), str(profile), str(openssl), str(nginx))
    except TLSError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    """heroes-infra filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"heroes_nginx_tls": heroes_nginx_tls}
