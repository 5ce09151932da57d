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
