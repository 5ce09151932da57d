from __future__ import annotations

from pathlib import Path

import pytest

from heroes_infra.secrets_check import check_tree, main
from tests.conftest import ROOT


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_repository_inventories_are_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_tree(ROOT / "inventory") == []
    assert main([str(ROOT / "inventory")]) == 0
    assert "every secret-looking variable is vaulted" in capsys.readouterr().out


def test_lab_vault_is_encrypted() -> None:
    assert (ROOT / "inventory/lab/group_vars/all/vault.yml").read_text().startswith("$ANSIBLE_VAULT;")


@pytest.mark.parametrize(
    ("text", "variable"),
    [
        ("galera_root_password: hunter2\n", "galera_root_password"),
        ("keepalived_auth_pass: abc\n", "keepalived_auth_pass"),
        ("matomo_api_token: '0123'\n", "matomo_api_token"),
        ("galera_users:\n  - name: app\n    password: plain\n", "galera_users[0].password"),
        ('x_password: "{{ other_var }}"\n', "x_password"),
        ("vault_galera_root_password: x\n", "vault_galera_root_password"),
        ("galera_tls_private_key: |\n  -----BEGIN PRIVATE KEY-----\n", "galera_tls_private_key"),
        ('galera_tls_private_key: "{{ lab_keys[inventory_hostname] }}"\n', "galera_tls_private_key"),
    ],
)
def test_clear_text_secrets_are_found(tmp_path: Path, text: str, variable: str) -> None:
    write(tmp_path, "prod/group_vars/galera/vars.yml", "---\n" + text)
    findings = check_tree(tmp_path)
    assert [f.variable for f in findings] == [variable]
    assert "prod/group_vars/galera/vars.yml" in str(findings[0])


@pytest.mark.parametrize(
    "text",
    [
        'galera_root_password: "{{ vault_galera_root_password }}"\n',
        'galera_root_password: "{{ vault_galera_root_password | default(omit) }}"\n',
        'galera_tls_private_key: "{{ vault_lab_tls_private_keys[inventory_hostname] }}"\n',
        "galera_root_password: ''\n",
        "galera_root_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3338\n",
        "galera_port: 3306\n",
    ],
)
def test_vaulted_or_empty_values_pass(tmp_path: Path, text: str) -> None:
    write(tmp_path, "prod/group_vars/galera/vars.yml", "---\n" + text)
    assert check_tree(tmp_path) == []


def test_unencrypted_vault_file_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "prod/host_vars/db1/vault.yml", "---\nvault_x: clear\n")
    findings = check_tree(tmp_path)
    assert len(findings) == 1
    assert "must be encrypted" in findings[0].message
    assert main([str(tmp_path)]) == 1


def _encrypt(plain: str, password: bytes, vault_id: str = "default") -> str:
    from ansible.parsing.vault import VaultLib, VaultSecret

    data: bytes = VaultLib([(vault_id, VaultSecret(password))]).encrypt(plain, vault_id=vault_id)
    return data.decode()


def _inline(cipher: str) -> str:
    return "x_password: !vault |\n" + "".join(f"  {line}\n" for line in cipher.splitlines())


@pytest.mark.parametrize("inline", [False, True])
def test_a_production_vault_that_opens_with_the_lab_password_is_refused(tmp_path: Path, inline: bool) -> None:
    write(tmp_path, "lab-vault-password.txt", "lab-only\n")
    write(tmp_path, "lab/group_vars/all/vault.yml", _encrypt("vault_a: 1\n", b"lab-only"))
    cipher = _encrypt("vault_b: 2\n", b"lab-only", "prod")
    if inline:
        write(tmp_path, "production/group_vars/all/vars.yml", _inline(_encrypt("s3cret", b"lab-only")))
    else:
        write(tmp_path, "production/group_vars/all/vault.yml", cipher)
    findings = check_tree(tmp_path)
    assert [f.path.relative_to(tmp_path).parts[0] for f in findings] == ["production"]
    assert "opens with the lab's committed vault password" in findings[0].message
    assert "--vault-id prod@prompt" in findings[0].message


def test_a_production_vault_with_its_own_password_passes(tmp_path: Path) -> None:
    write(tmp_path, "lab-vault-password.txt", "lab-only\n")
    write(tmp_path, "lab/group_vars/all/vault.yml", _encrypt("vault_a: 1\n", b"lab-only"))
    write(tmp_path, "production/group_vars/all/vault.yml", _encrypt("vault_b: 2\n", b"prod-pw", "prod"))
    write(tmp_path, "production/group_vars/all/vars.yml", _inline(_encrypt("s3cret", b"prod-pw", "prod")))
    assert check_tree(tmp_path) == []
