"""The lab CA (heroes_infra.labpki): certificates that verify, name their host, match their keys."""

from __future__ import annotations

import ipaddress

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from heroes_infra.labpki import BEGIN, issue_all, public_yaml, vault_text


def test_every_certificate_is_signed_by_the_ca_and_names_its_host() -> None:
    ca_pem, issued = issue_all({"db1": ["172.30.0.11", "db.lab", "172.30.0.20"], "web1": ["172.30.0.31"]})
    ca = x509.load_pem_x509_certificate(ca_pem.encode())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for host, address in (("db1", "172.30.0.11"), ("web1", "172.30.0.31")):
        cert = x509.load_pem_x509_certificate(issued[host].cert_pem.encode())
        cert.verify_directly_issued_by(ca)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert host in san.get_values_for_type(x509.DNSName)
        assert f"heroes-lab-{host}" in san.get_values_for_type(x509.DNSName)
        assert ipaddress.ip_address(address) in san.get_values_for_type(x509.IPAddress)
        if host == "db1":  # the service behind a TCP proxy: its name and VIP
            assert "db.lab" in san.get_values_for_type(x509.DNSName)
            assert ipaddress.ip_address("172.30.0.20") in san.get_values_for_type(x509.IPAddress)
        key = serialization.load_pem_private_key(issued[host].key_pem.encode(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        assert key.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]
        # Mozilla's profiles: a lifespan under 366 days
        assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 365
        assert (ca.not_valid_after_utc - ca.not_valid_before_utc).days > 3000


def test_the_public_file_holds_certificates_only() -> None:
    ca_pem, issued = issue_all({"db1": ["172.30.0.11"]})
    text = public_yaml(ca_pem, issued)
    data = yaml.safe_load(text)
    assert data["lab_ca_cert"] == ca_pem
    assert data["lab_tls_certs"]["db1"] == issued["db1"].cert_pem
    assert "PRIVATE KEY" not in text


def test_the_vault_block_is_replaced_and_the_rest_kept() -> None:
    existing = "---\n# LAB ONLY\nvault_x_password: keep-me\n"
    _, first = issue_all({"db1": ["172.30.0.11"]})
    once = vault_text(existing, first)
    _, second = issue_all({"db1": ["172.30.0.11"]})
    twice = vault_text(once, second)
    data = yaml.safe_load(twice)
    assert data["vault_x_password"] == "keep-me"
    assert data["vault_lab_tls_private_keys"]["db1"] == second["db1"].key_pem
    assert twice.count(BEGIN) == 1
    assert first["db1"].key_pem not in twice
