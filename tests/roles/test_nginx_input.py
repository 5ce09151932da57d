"""Bad input to the nginx role fails before anything changes, naming the variable; so does a
host where another program holds the web ports. The role runs here in check mode against this
machine (which has no nginx)."""

from __future__ import annotations

import datetime
import socket
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.roles.checkrun import LOCAL, check_run

INSTALL = "TASK [nginx : Install the nginx packages"


def pair(name: str) -> tuple[str, str]:
    """A self-signed certificate for name and its key (PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


CERT, KEY = pair("site.example")
OTHER_CERT, OTHER_KEY = pair("other.example")


def site(**over: Any) -> dict[str, Any]:
    return {"name": "site", "server_names": ["site.example"],
            "tls": {"certificate": CERT, "private_key": KEY}, "root": "/srv/site", **over}


def run(tmp_path: Path, variables: dict[str, Any], facts: bool = False) -> str:
    proc = check_run(tmp_path, {"web": {"hosts": {"web1": {}}, "vars": LOCAL}}, "web", "nginx", variables,
                     gather_facts=facts)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert INSTALL not in out, "the play went on past the checks"
    # a private key never reaches the output, not even in an error
    assert KEY.splitlines()[1] not in out and OTHER_KEY.splitlines()[1] not in out
    return " ".join(out.split())


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"nginx_tls_profile": "old"}, "nginx_tls_profile must be one of intermediate, modern (got 'old')"),
        ({"nginx_tls_guideline": "5.9"}, "nginx_tls_guideline must be one of 6.0 (got '5.9')"),
        ({"nginx_vhosts": [site(tls={})]},
         "nginx_vhosts[0] (site) has no certificate: nginx_vhosts[0].tls must hold certificate"),
        ({"nginx_vhosts": [site(), site(name="other", server_names=["www.example", "SITE.example"])]},
         "nginx_vhosts[1] (other) claims server name 'SITE.example', which nginx_vhosts[0] (site) "
         "claims too"),
        ({"nginx_vhosts": [site(tls={"certificate": CERT, "private_key": OTHER_KEY})]},
         "nginx_vhosts[0].tls.private_key does not match nginx_vhosts[0].tls.certificate"),
        ({"nginx_vhosts": [site(proxy={"servers": ["127.0.0.1:8080"]})]},
         "nginx_vhosts[0] (site) must have exactly one of root"),
        ({"nginx_vhosts": [site(root=None, proxy={"servers": ["app:80"], "read_timeout": "ten"})]},
         "nginx_vhosts[0].proxy.read_timeout must be an nginx time such as 2s or 500ms (got 'ten')"),
        ({"nginx_http_port": 443}, "nginx_http_port and nginx_https_port must be two different TCP ports"),
        ({"nginx_access_log_buffer": "64 KB"},
         "nginx_access_log_buffer a size such as 64k or \"\" (got '64 KB')"),
        ({"nginx_open_file_cache_valid": "1 second"},
         "nginx_open_file_cache_valid nginx times such as 60s and 1s (got '60s' and '1 second')"),
    ],
    ids=["profile", "guideline", "no-certificate", "server-name-twice", "key-mismatch",
         "root-and-proxy", "timeout", "ports", "log-buffer", "file-cache"],
)
def test_bad_input_fails_before_anything_changes(tmp_path: Path, variables: dict[str, Any],
                                                 message: str) -> None:
    assert message in run(tmp_path, variables)


def test_a_host_where_another_program_holds_the_port_is_refused(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        out = run(tmp_path, {"nginx_http_port": port, "nginx_https_port": port + 1,
                             "nginx_vhosts": [site()]}, facts=True)
    assert f"port {port} is held by pytest" in out or f"port {port} is held by python" in out
    assert "belong to another web server" in out
    assert "playbooks/web/mirror-lighttpd-to-nginx.yml" in out and "Nothing was changed." in out
