"""Fail when a secret sits in an inventory in clear text.

Rules, for every inventory under ``inventory/``:

* a file named ``vault.yml`` (or ``vault.yaml``) is encrypted with ansible-vault;
* every variable in any other vars file whose name looks like a secret (password, secret,
  token, key material, ...) takes its value from a ``vault_*`` variable
  (``"{{ vault_galera_root_password }}"``) or is an inline ``!vault`` value;
* ``vault_*`` variables are defined only in vault files;
* no vault file outside the lab inventory opens with the lab's committed vault password
  (``inventory/lab-vault-password.txt``): production secrets have their own vault id
  (``--vault-id prod@prompt``), and a file encrypted with the lab password is as good as clear text.

Run: ``heroes-secrets-check inventory`` (non-zero exit and one line per finding).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SECRET_NAME = re.compile(
    r"(passw(or)?d|passphrase|secret|token|api_?key|private_?key|auth_?pass|credential|psk)",
    re.IGNORECASE,
)
# "{{ vault_x }}", "{{ vault_x | default(omit) }}", "{{ vault_keys[inventory_hostname] }}"
VAULT_REF = re.compile(r"^\s*\{\{\s*vault_[A-Za-z0-9_]+(\[[A-Za-z0-9_'\"]+\])*\s*(\|[^}]*)?\}\}\s*$")
VAULT_FILE_NAMES = {"vault.yml", "vault.yaml"}
ENCRYPTED_HEADER = "$ANSIBLE_VAULT;"


@dataclass(frozen=True)
class Finding:
    path: Path
    variable: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: {self.variable}" if self.variable else str(self.path)
        return f"{where}: {self.message}"


class _VaultTag:
    """An inline `!vault` value (already encrypted)."""


class _Loader(yaml.SafeLoader):
    pass


def _vault_constructor(loader: yaml.SafeLoader, node: yaml.Node) -> _VaultTag:
    return _VaultTag()


_Loader.add_constructor("!vault", _vault_constructor)
_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))  # type: ignore[arg-type]


def vars_files(inventory_root: Path) -> Iterator[Path]:
    """Every vars file of every inventory: group_vars/ and host_vars/ (files and folders)."""
    for kind in ("group_vars", "host_vars"):
        for base in sorted(inventory_root.rglob(kind)):
            for path in sorted(base.rglob("*")):
                if path.is_file() and path.suffix in {".yml", ".yaml", ".json"}:
                    yield path


def _walk(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted name, value) of every mapping entry, nested ones included."""
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            yield name, value
            yield from _walk(value, name)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _walk(item, f"{prefix}[{index}]")


def check_file(path: Path) -> list[Finding]:
    text = path.read_text()
    if path.name in VAULT_FILE_NAMES:
        if not text.startswith(ENCRYPTED_HEADER):
            return [Finding(path, "", "a vault file must be encrypted with ansible-vault")]
        return []
    if text.startswith(ENCRYPTED_HEADER):
        return []
    data = yaml.load(text, Loader=_Loader) or {}  # a SafeLoader that knows !vault
    findings: list[Finding] = []
    for name, value in _walk(data):
        leaf = name.rsplit(".", 1)[-1].split("[", 1)[0]
        if leaf.startswith("vault_") and "." not in name:
            findings.append(Finding(path, name, "vault_* variables belong in a vault.yml file"))
            continue
        if not SECRET_NAME.search(leaf) or isinstance(value, dict | list):
            continue
        if value is None or value == "" or isinstance(value, _VaultTag):
            continue
        if isinstance(value, str) and VAULT_REF.match(value):
            continue
        findings.append(
            Finding(
                path,
                name,
                'looks like a secret but is not vaulted; set it to "{{ vault_<name> }}" and put '
                "the value in the group's encrypted vault.yml",
            )
        )
    return findings


def opens_with(text: str, password: bytes) -> bool:
    """Whether an ansible-vault text decrypts with this password."""
    from ansible.errors import AnsibleError
    from ansible.parsing.vault import VaultLib, VaultSecret

    try:
        VaultLib([("lab", VaultSecret(password))]).decrypt(text)
    except AnsibleError:
        return False
    return True


def check_lab_password(inventory_root: Path, password_file: Path, lab_inventory: Path) -> list[Finding]:
    """Vault files (and inline !vault values) outside the lab that the lab password opens."""
    password = password_file.read_bytes().strip()
    findings: list[Finding] = []
    for path in vars_files(inventory_root):
        if path.resolve().is_relative_to(lab_inventory.resolve()):
            continue
        text = path.read_text()
        blocks = [text] if text.startswith(ENCRYPTED_HEADER) else _inline_vaults(text)
        if any(opens_with(block, password) for block in blocks):
            findings.append(
                Finding(
                    path,
                    "",
                    f"opens with the lab's committed vault password ({password_file}): encrypt "
                    "production secrets with their own vault id (ansible-vault encrypt --vault-id "
                    "prod@prompt)",
                )
            )
    return findings


def _inline_vaults(text: str) -> list[str]:
    """The ciphertexts of inline `!vault |` values."""
    blocks: list[str] = []
    for match in re.finditer(r"!vault\s*\|\s*\n((?:[ \t]+\S.*\n?)+)", text):
        blocks.append("\n".join(line.strip() for line in match.group(1).splitlines()))
    return blocks


def check_tree(inventory_root: Path) -> list[Finding]:
    """Every rule, for every inventory below inventory_root.

    The lab-password rule applies when ``lab-vault-password.txt`` sits in inventory_root (the
    repository's layout): the inventory ``lab`` beside it may use it, no other may.
    """
    findings: list[Finding] = []
    for path in vars_files(inventory_root):
        findings.extend(check_file(path))
    password_file = inventory_root / "lab-vault-password.txt"
    if password_file.is_file():
        findings.extend(check_lab_password(inventory_root, password_file, inventory_root / "lab"))
    return findings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Find secrets that are not vaulted.")
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("inventory")])
    args = parser.parse_args(argv)
    findings = [f for root in args.paths for f in check_tree(root)]
    for finding in findings:
        print(finding)
    if not findings:
        print("secrets: every secret-looking variable is vaulted")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
