"""The nginx role's vhost checks and normalisation (heroes_infra.nginx)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from heroes_infra.nginx import VhostError, check_vhosts, merge_mime_types, normalise


def pair(ocsp: str = "") -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "site.example")])
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)))
    if ocsp:
        builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp))]), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


CERT, KEY = pair()
A = {"servers": ["a:1"]}


def vhost(**over: Any) -> dict[str, Any]:
    return {"name": "site", "server_names": ["site.example"],
            "tls": {"certificate": CERT, "private_key": KEY}, "root": "/srv/site", **over}


def test_a_good_vhost_is_normalised_without_its_key() -> None:
    [item] = normalise([vhost()], {})
    assert item["name"] == "site" and item["plain_http"] == "redirect" and item["state"] == "present"
    assert item["ocsp_responder"] == "" and item["proxy"] is None
    assert "PRIVATE KEY" not in repr(item) and "tls" not in item


def test_proxy_defaults_are_merged_and_the_vhost_wins() -> None:
    [item] = normalise([vhost(root=None, proxy={"servers": ["app:8080"], "read_timeout": "5s"})],
                       {"read_timeout": "30s", "max_conns": 64})
    assert item["proxy"] == {"servers": ["app:8080"], "read_timeout": "5s", "max_conns": 64}


def test_fastcgi_takes_the_proxy_defaults_and_its_scripts_relative_to_root() -> None:
    fastcgi = {"servers": ["unix:/run/php/app.sock"], "scripts": ["/index.php", "x/y.php"],
               "read_timeout": "5s"}
    [item] = normalise([vhost(fastcgi=fastcgi)], {"read_timeout": "30s", "max_conns": 64})
    assert item["root"] == "/srv/site" and item["proxy"] is None
    assert item["fastcgi"] == {"servers": ["unix:/run/php/app.sock"], "scripts": ["index.php", "x/y.php"],
                               "read_timeout": "5s", "max_conns": 64}


def test_ocsp_stapling_follows_the_certificate() -> None:
    cert, key = pair(ocsp="http://ocsp.example/")
    [item] = normalise([vhost(tls={"certificate": cert, "private_key": key})], {})
    assert item["ocsp_responder"] == "http://ocsp.example/"


def test_an_absent_vhost_needs_only_its_name_and_frees_its_server_names() -> None:
    items = normalise([{"name": "old", "state": "absent"}, vhost()], {})
    assert items[0] == {"name": "old", "state": "absent"}


@pytest.mark.parametrize(
    ("vhosts", "message"),
    [
        ("site", "nginx_vhosts must be a list"),
        ([vhost(name="Site 1")], "nginx_vhosts[0].name must be lower-case letters"),
        ([vhost(server_names=[])], "nginx_vhosts[0].server_names must be a non-empty list"),
        ([vhost(server_names=["bad_name!"])], "nginx_vhosts[0].server_names must be a non-empty list"),
        ([vhost(tls={"certificate": "junk", "private_key": KEY})],
         "nginx_vhosts[0].tls.certificate must be PEM certificates"),
        ([vhost(tls={"certificate": CERT, "private_key": "junk"})],
         "nginx_vhosts[0].tls.private_key must be an unencrypted PEM private key"),
        ([vhost(plain_http="allow")], "nginx_vhosts[0].plain_http must be one of redirect, serve"),
        ([vhost(root="srv/site")], "nginx_vhosts[0].root must be an absolute path"),
        ([vhost(root=None)], "must have exactly one of root"),
        ([vhost(root=None, proxy={"servers": ["no port"]})], "proxy.servers must be a non-empty list"),
        ([vhost(root=None, proxy={**A, "max_conns": -1})], "proxy.max_conns must be a whole number"),
        ([vhost(root=None, proxy={**A, "limit_req_rate": "fast"})], "limit_req_rate must be a rate"),
        ([vhost(root=None, proxy={**A, "queue": 5})], "proxy has unknown keys ['queue']"),
        ([vhost(fastcgi={**A, "scripts": ["index.html"]})],
         "nginx_vhosts[0].fastcgi.scripts must be a non-empty list of the PHP scripts"),
        ([vhost(fastcgi={**A, "scripts": ["../etc/x.php"]})], "fastcgi.scripts must be a non-empty list"),
        ([vhost(fastcgi={"scripts": ["index.php"]})],
         "nginx_vhosts[0].fastcgi.servers must be a non-empty list"),
        ([vhost(fastcgi={**A, "scripts": ["index.php"], "read_timeout": "long"})],
         "nginx_vhosts[0].fastcgi.read_timeout must be an nginx time"),
        ([vhost(root=None, proxy=A, fastcgi={**A, "scripts": ["index.php"]})],
         "fastcgi runs PHP scripts found under root; give root, not proxy"),
        ([vhost(locations=[{"match": "/x", "directives": "expires 1d"}])],
         "nginx_vhosts[0].locations[0] must be"),
        ([vhost(colour="blue")], "nginx_vhosts[0] has unknown keys ['colour']"),
        ([vhost(state="gone")], "nginx_vhosts[0].state must be present or absent"),
        ([vhost(), vhost(server_names=["b.example"])],
         "nginx_vhosts[1].name 'site' is also nginx_vhosts[0]'s"),
        ([vhost(default_server=True), vhost(name="b", server_names=["b.example"], default_server=True)],
         "only one virtual host can be default_server"),
    ],
)
def test_bad_vhosts_are_refused_naming_the_variable(vhosts: Any, message: str) -> None:
    with pytest.raises(VhostError) as err:
        check_vhosts(vhosts)
    assert message in str(err.value)
    assert KEY.splitlines()[1] not in str(err.value)


def test_the_extra_mime_types_take_their_extensions_over() -> None:
    distribution = "types {\n    text/html html htm;\n    application/x-redhat-package-manager rpm;\n}\n"
    merged = merge_mime_types(distribution, {"rpm": "application/x-rpm", "zst": "application/zstd"})
    assert "application/x-redhat-package-manager" not in merged
    assert "    text/html html htm;" in merged
    assert "    application/x-rpm rpm;" in merged and "    application/zstd zst;" in merged
    extensions = [e for line in merged.splitlines()[1:-1] for e in line.strip(" ;").split()[1:]]
    assert len(extensions) == len(set(extensions))
