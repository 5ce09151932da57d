"""The nginx role's virtual hosts: checked before nginx is touched, then normalised for the template.

A virtual host is data (``nginx_vhosts`` in inventory, or one ``nginx_vhost`` that an
application role hands to the nginx role's ``vhost`` tasks)::

    - name: mirror                    # file and log name
      server_names: [mirror.example.org]
      tls: {certificate: "<PEM, leaf first>", private_key: "<PEM, from vault>"}
      plain_http: serve               # or redirect (the default): HTTP only redirects to HTTPS
      root: /srv/mirror               # or proxy: {servers: [...], ...}
      # with root, PHP through FastCGI: only the scripts named run, any other .php is 404
      # fastcgi: {servers: ["unix:/run/php/app.sock"], scripts: [index.php], ...}
      autoindex: true
      locations: [{match: "~ /repodata/", directives: ["expires 5m"]}]
    - {name: old-site, state: absent}  # its file and certificate are removed

``check_vhosts`` raises :class:`VhostError` naming the variable and the expected form;
``normalise`` merges the proxy defaults (backpressure, for proxy and fastcgi alike) and says,
from the certificate itself, whether OCSP stapling applies (only when the certificate names a
responder). Private keys never appear in what ``normalise`` returns.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import AuthorityInformationAccessOID

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = re.compile(rf"^(\*\.)?{LABEL}(\.{LABEL})*$")
TIME = re.compile(r"^[0-9]+(ms|s|m|h)?$")
RATE = re.compile(r"^[0-9]+r/[sm]$")
SCRIPT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*\.php$")  # no ..
SERVER = re.compile(r"^(unix:/\S+|[A-Za-z0-9.-]+:[0-9]{1,5}|\[[0-9A-Fa-f:]+\]:[0-9]{1,5})$")
PLAIN_HTTP = ("redirect", "serve")
KEYS = frozenset({"name", "server_names", "tls", "plain_http", "root", "proxy", "fastcgi", "autoindex",
                  "locations", "directives", "default_server", "access_log_format", "index", "state"})
PROXY_KEYS = frozenset({"servers", "max_conns", "connect_timeout", "read_timeout", "send_timeout",
                        "max_fails", "fail_timeout", "keepalive", "limit_conn_per_client",
                        "limit_conn_total", "limit_req_rate", "limit_req_burst"})
FASTCGI_KEYS = PROXY_KEYS | {"scripts"}


class VhostError(ValueError):
    """Bad input: the message names the variable and the expected form."""


def _pem_certs(text: str, where: str) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(str(text).encode())
    except ValueError as exc:
        raise VhostError(f"{where}.tls.certificate must be PEM certificates, the server's first "
                         f"('-----BEGIN CERTIFICATE-----'): {exc}") from exc
    return certs


def _key_matches(cert: x509.Certificate, key_pem: str, where: str) -> None:
    try:
        key = serialization.load_pem_private_key(str(key_pem).encode(), password=None)
    except (ValueError, TypeError) as exc:
        # the key's text is never part of the message
        raise VhostError(f"{where}.tls.private_key must be an unencrypted PEM private key "
                         "('-----BEGIN PRIVATE KEY-----', from the vault)") from exc
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        raise VhostError(f"{where}.tls.private_key does not match {where}.tls.certificate "
                         f"(subject {cert.subject.rfc4514_string()})")


def ocsp_responder(cert: x509.Certificate) -> str:
    """The OCSP responder the certificate names in its Authority Information Access, or ''."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return ""
    for desc in aia:
        if desc.access_method == AuthorityInformationAccessOID.OCSP:
            return str(desc.access_location.value)
    return ""


def _server_name(name: object) -> bool:
    if not isinstance(name, str) or not name:
        return False
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return bool(HOSTNAME.match(name))


def _mapping(value: object, where: str, known: frozenset[str], expected: str) -> Mapping[str, Any]:
    """value as a mapping of known keys, else the error naming where and what was expected."""
    if not isinstance(value, Mapping):
        raise VhostError(f"{where} must be a mapping with {expected}")
    unknown = set(value) - known
    if unknown:
        raise VhostError(f"{where} has unknown keys {sorted(unknown)}; known: {sorted(known)}")
    return value


def _check_fastcgi(value: object, where: str) -> None:
    fastcgi = _mapping(value, f"{where}.fastcgi", FASTCGI_KEYS,
                       "servers: [unix:/path or host:port, ...] and scripts: [index.php, ...]")
    scripts = fastcgi.get("scripts")
    if (not isinstance(scripts, Sequence) or isinstance(scripts, str) or not scripts
            or not all(isinstance(s, str) and SCRIPT.match(s.lstrip("/")) for s in scripts)):
        raise VhostError(f"{where}.fastcgi.scripts must be a non-empty list of the PHP scripts that "
                         f"may run, paths under root ending in .php such as index.php (got {scripts!r})")
    _check_proxy({k: v for k, v in fastcgi.items() if k != "scripts"}, where, "fastcgi")


def _check_proxy(value: object, where: str, kind: str = "proxy") -> None:
    proxy = _mapping(value, f"{where}.{kind}", PROXY_KEYS, "servers: [host:port, ...]")
    servers = proxy.get("servers")
    if (not isinstance(servers, Sequence) or isinstance(servers, str) or not servers
            or not all(isinstance(s, str) and SERVER.match(s) for s in servers)):
        raise VhostError(f"{where}.{kind}.servers must be a non-empty list of host:port or "
                         f"unix:/path (got {servers!r})")
    for key in ("connect_timeout", "read_timeout", "send_timeout", "fail_timeout"):
        if key in proxy and not TIME.match(str(proxy[key])):
            raise VhostError(f"{where}.{kind}.{key} must be an nginx time such as 2s or 500ms "
                             f"(got {proxy[key]!r})")
    for key in ("max_conns", "max_fails", "keepalive", "limit_conn_per_client", "limit_conn_total",
                "limit_req_burst"):
        value = proxy.get(key)
        if key in proxy and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise VhostError(f"{where}.{kind}.{key} must be a whole number >= 0 (got {value!r})")
    if "limit_req_rate" in proxy and proxy["limit_req_rate"] and not RATE.match(str(proxy["limit_req_rate"])):
        raise VhostError(f"{where}.{kind}.limit_req_rate must be a rate such as 20r/s or 600r/m, or '' "
                         f"for none (got {proxy['limit_req_rate']!r})")


def _check_one(value: object, where: str) -> None:
    vhost = _mapping(value, where, KEYS, "name, server_names, tls and root or proxy")
    name = vhost.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise VhostError(f"{where}.name must be lower-case letters, digits, - or _ (got {name!r})")
    if vhost.get("state", "present") not in ("present", "absent"):
        raise VhostError(f"{where}.state must be present or absent (got {vhost.get('state')!r})")
    if vhost.get("state") == "absent":
        return
    names = vhost.get("server_names")
    if (not isinstance(names, Sequence) or isinstance(names, str) or not names
            or not all(_server_name(n) for n in names)):
        raise VhostError(f"{where}.server_names must be a non-empty list of host names or "
                         f"addresses (got {names!r})")
    tls = vhost.get("tls")
    if not isinstance(tls, Mapping) or not tls.get("certificate") or not tls.get("private_key"):
        raise VhostError(f"{where} ({name}) has no certificate: {where}.tls must hold certificate "
                         "(PEM, the server's first, then the chain) and private_key (PEM, from "
                         "the vault); every virtual host is served over TLS")
    certs = _pem_certs(tls["certificate"], where)
    _key_matches(certs[0], tls["private_key"], where)
    if vhost.get("plain_http", "redirect") not in PLAIN_HTTP:
        raise VhostError(f"{where}.plain_http must be one of {', '.join(PLAIN_HTTP)} "
                         f"(got {vhost.get('plain_http')!r})")
    has_root, has_proxy = vhost.get("root") is not None, vhost.get("proxy") is not None
    if has_root == has_proxy:
        raise VhostError(f"{where} ({name}) must have exactly one of root (a directory served as "
                         "files, with fastcgi for its PHP scripts if any) or proxy (backends)")
    if has_root and not str(vhost["root"]).startswith("/"):
        raise VhostError(f"{where}.root must be an absolute path (got {vhost['root']!r})")
    if has_proxy:
        _check_proxy(vhost["proxy"], where)
    if vhost.get("fastcgi") is not None:
        if not has_root:
            raise VhostError(f"{where} ({name}): fastcgi runs PHP scripts found under root; "
                             "give root, not proxy")
        _check_fastcgi(vhost["fastcgi"], where)
    locations = vhost.get("locations", [])
    if not isinstance(locations, Sequence) or isinstance(locations, str):
        raise VhostError(f"{where}.locations must be a list of {{match, directives}}")
    for j, loc in enumerate(locations):
        lwhere = f"{where}.locations[{j}]"
        if (not isinstance(loc, Mapping) or not isinstance(loc.get("match"), str) or not loc["match"]
                or not _directives(loc.get("directives", []))):
            raise VhostError(f"{lwhere} must be {{match: '<nginx location match>', directives: "
                             f"['<directive without ;>', ...]}} (got {loc!r})")
    if not _directives(vhost.get("directives", [])):
        raise VhostError(f"{where}.directives must be a list of nginx directives (strings)")


def _directives(value: object) -> bool:
    return (isinstance(value, Sequence) and not isinstance(value, str)
            and all(isinstance(d, str) and d.strip() for d in value))


def check_vhosts(vhosts: object, variable: str = "nginx_vhosts") -> None:
    """Raise VhostError for the first problem, naming ``variable[i]`` and the expected form."""
    if not isinstance(vhosts, Sequence) or isinstance(vhosts, str):
        raise VhostError(f"{variable} must be a list of virtual hosts")
    seen_names: dict[str, str] = {}
    seen_servers: dict[str, str] = {}
    defaults: list[str] = []
    for i, vhost in enumerate(vhosts):
        where = f"{variable}[{i}]"
        _check_one(vhost, where)
        name = vhost["name"]
        if name in seen_names:
            raise VhostError(f"{where}.name {name!r} is also {seen_names[name]}'s: names must be unique")
        seen_names[name] = where
        if vhost.get("state") == "absent":
            continue
        for server in vhost["server_names"]:
            key = server.lower()
            if key in seen_servers:
                raise VhostError(f"{where} ({name}) claims server name {server!r}, which "
                                 f"{seen_servers[key]} claims too: one server name, one virtual host")
            seen_servers[key] = f"{where} ({name})"
        if vhost.get("default_server"):
            defaults.append(f"{where} ({name})")
    if len(defaults) > 1:
        raise VhostError(f"{variable}: only one virtual host can be default_server "
                         f"(got {', '.join(defaults)})")


def normalise(vhosts: Sequence[Mapping[str, Any]], proxy_defaults: Mapping[str, Any],
              variable: str = "nginx_vhosts") -> list[dict[str, Any]]:
    """Checked vhosts with their defaults filled in, for the template; no private keys."""
    check_vhosts(vhosts, variable)
    out = []
    for vhost in vhosts:
        if vhost.get("state") == "absent":
            out.append({"name": vhost["name"], "state": "absent"})
            continue
        certs = _pem_certs(vhost["tls"]["certificate"], variable)
        item: dict[str, Any] = {
            "name": vhost["name"],
            "state": "present",
            "server_names": list(vhost["server_names"]),
            "plain_http": vhost.get("plain_http", "redirect"),
            "root": vhost.get("root"),
            "index": list(vhost.get("index", ["index.html"])),
            "autoindex": bool(vhost.get("autoindex", False)),
            "locations": [{"match": loc["match"], "directives": list(loc.get("directives", []))}
                          for loc in vhost.get("locations", [])],
            "directives": list(vhost.get("directives", [])),
            "default_server": bool(vhost.get("default_server", False)),
            "access_log_format": vhost.get("access_log_format", "main"),
            "ocsp_responder": ocsp_responder(certs[0]),
            "proxy": None,
            "fastcgi": None,
        }
        if vhost.get("proxy") is not None:
            item["proxy"] = {**proxy_defaults, **vhost["proxy"]}
            _check_proxy(item["proxy"], f"{variable} ({vhost['name']}) with nginx_proxy_defaults")
        if vhost.get("fastcgi") is not None:
            fastcgi = {**proxy_defaults, **vhost["fastcgi"]}
            _check_fastcgi(fastcgi, f"{variable} ({vhost['name']}) with nginx_proxy_defaults")
            item["fastcgi"] = {**fastcgi, "scripts": [str(s).lstrip("/") for s in fastcgi["scripts"]]}
        out.append(item)
    return out


MIME_ENTRY = re.compile(r"^\s*([A-Za-z0-9.+/-]+)\s+([^;]+);\s*$")


def merge_mime_types(distribution: str, extra: Mapping[str, str]) -> str:
    """The distribution's mime.types with ``extra`` (extension -> type) taking their extensions
    over, as one ``types { }`` block: no extension twice (nginx warns at every reload otherwise)."""
    by_type: dict[str, list[str]] = {}
    for line in distribution.splitlines():
        match = MIME_ENTRY.match(line)
        if not match:
            continue
        kept = [ext for ext in match.group(2).split() if ext not in extra]
        if kept:
            by_type.setdefault(match.group(1), []).extend(kept)
    for ext, mime in sorted(extra.items()):
        by_type.setdefault(mime, []).append(ext)
    seen: set[str] = set()
    lines = ["types {"]
    for mime, exts in by_type.items():
        fresh = [e for e in exts if e not in seen]
        seen.update(fresh)
        if fresh:
            lines.append(f"    {mime} {' '.join(fresh)};")
    lines.append("}")
    return "\n".join(lines) + "\n"
