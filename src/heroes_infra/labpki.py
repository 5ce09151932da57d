"""The lab's certificate authority: one CA and one certificate per lab host, as inventory data.

LAB ONLY. Production brings its own CA and puts the PEMs in its inventory (the private keys in
its vault); the roles only read variables. This writes:

* ``inventory/lab/group_vars/all/lab_pki.yml``: ``lab_ca_cert`` and ``lab_tls_certs`` (host ->
  certificate PEM), public;
* the block ``vault_lab_tls_private_keys`` (host -> key PEM) in
  ``inventory/lab/group_vars/all/vault.yml``, re-encrypted with the lab's vault password.

The CA's own key is thrown away: to add a host, run it again and every certificate is new.
Each certificate names the host, ``<host>.lab``, its container ``heroes-lab-<host>``, its
``host_address`` (so clients can verify identity by address) and the names and addresses in the
host's ``lab_tls_names`` (a service's VIP that reaches the host through a TCP proxy), and serves
as server and client.

    .venv/bin/python -m heroes_infra.labpki            # every host of inventory/lab
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 3650  # the CA
# A host's certificate: Mozilla's profiles want a lifespan under 366 days (sslyze checks it),
# so the lab's certificates are issued again within a year (tests/inventory warns 30 days ahead).
LEAF_LIFESPAN_DAYS = 365
BEGIN = "# --- vault_lab_tls_private_keys: written by heroes_infra.labpki, do not edit below ---"


@dataclass(frozen=True)
class Issued:
    cert_pem: str
    key_pem: str


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "heroes-infra lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def make_ca(now: datetime.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("heroes-infra lab CA")
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def issue(ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, host: str, names: Sequence[str],
          now: datetime.datetime) -> Issued:
    """A server+client certificate for one host: its name, ``<host>.lab``, its container and
    the given addresses and names."""
    key = ec.generate_private_key(ec.SECP256R1())
    wanted = [host, f"{host}.lab", f"heroes-lab-{host}", *names]
    alt = [_general_name(n) for n in dict.fromkeys(wanted)]
    cert = (x509.CertificateBuilder().subject_name(_name(host)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now - datetime.timedelta(days=1) + datetime.timedelta(days=LEAF_LIFESPAN_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return Issued(cert.public_bytes(serialization.Encoding.PEM).decode(), _pem_key(key))


def issue_all(names: Mapping[str, Sequence[str]]) -> tuple[str, dict[str, Issued]]:
    """A fresh CA (PEM) and a certificate for every host -> [address, other names...]."""
    now = datetime.datetime.now(datetime.UTC)
    ca_cert, ca_key = make_ca(now)
    issued = {host: issue(ca_cert, ca_key, host, alt, now) for host, alt in sorted(names.items())}
    return ca_cert.public_bytes(serialization.Encoding.PEM).decode(), issued


class _Literal(str):
    """A string dumped as a YAML block literal."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|")


yaml.SafeDumper.add_representer(_Literal, _literal)


def public_yaml(ca_pem: str, issued: Mapping[str, Issued]) -> str:
    head = ("---\n# LAB ONLY: the lab CA and the lab hosts' certificates, written by heroes_infra.labpki\n"
            "# (python -m heroes_infra.labpki). Their keys: vault_lab_tls_private_keys in vault.yml.\n")
    body = {"lab_ca_cert": _Literal(ca_pem),
            "lab_tls_certs": {h: _Literal(i.cert_pem) for h, i in issued.items()}}
    return head + yaml.safe_dump(body, sort_keys=False, width=200)


def vault_text(existing: str, issued: Mapping[str, Issued]) -> str:
    """The vault file's clear text with the generated key block replaced (the rest kept)."""
    kept = existing.split(BEGIN)[0].rstrip("\n") + "\n"
    keys = {h: _Literal(i.key_pem) for h, i in issued.items()}
    block = yaml.safe_dump({"vault_lab_tls_private_keys": keys}, sort_keys=False, width=200)
    return f"{kept}{BEGIN}\n{block}"


def lab_names(inventory: Path) -> dict[str, list[str]]:
    """host -> [host_address, *lab_tls_names] from the lab's host_vars."""
    out: dict[str, list[str]] = {}
    for path in sorted((inventory / "host_vars").glob("*.yml")):
        data = yaml.safe_load(path.read_text()) or {}
        if "host_address" in data:
            out[path.stem] = [str(data["host_address"]), *map(str, data.get("lab_tls_names", []))]
    return out


def _vault(args: Sequence[str], root: Path, stdin: str | None = None) -> str:
    env = {**os.environ, "ANSIBLE_CONFIG": str(root / "ansible.cfg")}
    beside = Path(sys.executable).parent / "ansible-vault"
    command = str(beside) if beside.exists() else "ansible-vault"
    return subprocess.run([command, *args], input=stdin, capture_output=True, text=True,
                          check=True, cwd=root, env=env).stdout


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository (default: here)")
    args = parser.parse_args(argv)
    inventory = args.root / "inventory/lab"
    names = lab_names(inventory)
    if not names:
        print(f"no host_vars with host_address under {inventory}", file=sys.stderr)
        return 2
    ca_pem, issued = issue_all(names)
    (inventory / "group_vars/all/lab_pki.yml").write_text(public_yaml(ca_pem, issued))
    vault = inventory / "group_vars/all/vault.yml"
    clear = _vault(["view", str(vault)], args.root)
    encrypted = _vault(["encrypt", "--output", "-", "-"], args.root, stdin=vault_text(clear, issued))
    vault.write_text(encrypted)
    print(f"lab CA and {len(issued)} certificates: {', '.join(issued)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
