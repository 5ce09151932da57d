"""Ansible filter: nginx's TLS settings of heroes_infra.tls, for the nginx role.

{{ nginx_tls_profile | heroes_nginx_tls(nginx_tls_guideline, openssl_version, nginx_version) }}
  ->  ssl_protocols, ssl_ciphers, ssl_ecdh_curve, ... (see heroes_infra.tls.nginx_settings)
{{ nginx_tls_profile | heroes_tls_guideline(nginx_tls_guideline) }}
  ->  the profile's data, or an error naming the variable
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

from heroes_infra.tls import TLSError, guideline, nginx_settings  # noqa: E402


def heroes_nginx_tls(profile: str, guideline: str, openssl: str, nginx: str) -> dict[str, Any]:
    """The settings for a host with these OpenSSL and nginx versions; bad input is an error
    that names the variable and the expected form."""
    try:
        return nginx_settings(str(guideline), str(profile), str(openssl), str(nginx))
    except TLSError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def heroes_tls_guideline(profile: str, version: str) -> dict[str, Any]:
    """One profile of one guideline version as its data file holds it; an unknown version or
    profile is an error naming nginx_tls_guideline or nginx_tls_profile."""
    try:
        return guideline(str(version), str(profile))
    except TLSError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    """heroes-infra filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"heroes_nginx_tls": heroes_nginx_tls, "heroes_tls_guideline": heroes_tls_guideline}
