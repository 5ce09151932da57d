"""nginx's TLS settings from Mozilla's Server Side TLS guidelines, decided from the host.

The guideline is data: one file per guideline version (``tls_guidelines/mozilla-<version>.yml``),
kept equal to the published document by the unit tests. What a host can do is decided here, not
hard-coded in a template:

* TLS 1.3 where the host's OpenSSL has it (1.1.1 and later); TLS 1.0 and 1.1 never, whatever a
  data file says;
* the hybrid post-quantum group ``X25519MLKEM768`` where OpenSSL is 3.5 or later (older ones
  refuse to start with a group they do not know);
* ``http2 on;`` on nginx 1.25.1 and later, the ``http2`` parameter of ``listen`` before.

    >>> nginx_settings("6.0", "intermediate", openssl="3.0.17", nginx="1.22.1")["ssl_protocols"]
    'TLSv1.2 TLSv1.3'
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

GUIDELINES = Path(__file__).resolve().parent / "tls_guidelines"
NEVER = frozenset({"SSLv2", "SSLv3", "TLSv1", "TLSv1.1"})
PQ_GROUP = "X25519MLKEM768"
PQ_SINCE = (3, 5)  # OpenSSL
TLS13_SINCE = (1, 1, 1)  # OpenSSL
HTTP2_DIRECTIVE_SINCE = (1, 25, 1)  # nginx


class TLSError(ValueError):
    """Bad input: the message names the variable and the expected form."""


def parse_version(text: str, name: str) -> tuple[int, ...]:
    """The first dotted version in ``text`` ('OpenSSL 3.5.1 1 Jul 2025', 'nginx/1.22.1',
    '3.0.17-1~deb12u2'), as a tuple of ints."""
    match = re.search(r"(\d+(?:\.\d+)+)", str(text))
    if not match:
        raise TLSError(f"{name} must contain a version such as 3.0.17 (got {text!r})")
    return tuple(int(part) for part in match.group(1).split("."))


def available() -> list[str]:
    """The guideline versions there is a data file for, oldest first."""
    found = (p.stem.removeprefix("mozilla-") for p in GUIDELINES.glob("mozilla-*.yml"))
    return sorted(found, key=lambda v: parse_version(v, "guideline"))


@cache
def _load(version: str) -> dict[str, Any]:
    path = GUIDELINES / f"mozilla-{version}.yml"
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or str(data.get("guideline")) != version:
        raise TLSError(f"{path} must say guideline: \"{version}\"")
    return data


def guideline(version: str, profile: str) -> dict[str, Any]:
    """One profile of one guideline version, as its data file holds it."""
    version = str(version)
    if version not in available():
        raise TLSError(f"nginx_tls_guideline must be one of {', '.join(available())} (got {version!r})")
    profiles = _load(version)["profiles"]
    if profile not in profiles:
        raise TLSError(f"nginx_tls_profile must be one of {', '.join(sorted(profiles))} (got {profile!r})")
    return dict(profiles[profile])


def nginx_settings(version: str, profile: str, openssl: str, nginx: str) -> dict[str, Any]:
    """What the nginx role renders for a host with these OpenSSL and nginx versions."""
    data = guideline(version, profile)
    have_openssl = parse_version(openssl, "openssl version")
    have_nginx = parse_version(nginx, "nginx version")
    banned = NEVER.intersection(data["tls_versions"])
    if banned:
        raise TLSError(f"guideline {version} {profile} names {', '.join(sorted(banned))}: never served")
    protocols = [v for v in data["tls_versions"] if v != "TLSv1.3" or have_openssl >= TLS13_SINCE]
    if not protocols:
        raise TLSError(f"profile {profile} needs TLS 1.3, which OpenSSL {openssl} does not have")
    curves = [c for c in data["tls_curves"] if c != PQ_GROUP or have_openssl >= PQ_SINCE]
    return {
        "guideline": f"Mozilla Server Side TLS {version}, {profile}",
        "ssl_protocols": " ".join(protocols),
        # an empty list (modern: TLS 1.3 only) keeps OpenSSL's defaults
        "ssl_ciphers": ":".join(data["ciphers"]),
        "ssl_ecdh_curve": ":".join(curves),
        "ssl_prefer_server_ciphers": "on" if data["server_preferred_order"] else "off",
        "ssl_session_tickets": "off",
        "hsts": f"max-age={int(data['hsts_min_age'])}",
        "ocsp_stapling": bool(data["ocsp_staple"]),
        "http2_directive": have_nginx >= HTTP2_DIRECTIVE_SINCE,
        "pq_group": PQ_GROUP in curves,
    }
