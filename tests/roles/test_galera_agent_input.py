"""Bad input to the galera_agent role fails before anything changes, naming the variable."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT


def run(tmp_path: Path, variables: dict[str, Any]) -> tuple[int, str]:
    inventory = {
        "galera": {
            "hosts": {f"db{i}": {"host_address": f"192.0.2.{10 + i}"} for i in (1, 2, 3)},
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": "python3"},
        }
    }
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "play.yml").write_text("- hosts: db1\n  gather_facts: false\n  roles: [galera_agent]\n")
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(tmp_path / "inventory.json"), "--check", "-e", json.dumps(variables),
         str(tmp_path / "play.yml")],
        capture_output=True, text=True, cwd=ROOT, check=False,
        env={**os.environ, "ANSIBLE_ROLES_PATH": str(ROOT / "roles"), "ANSIBLE_NOCOLOR": "1"},
    )
    return proc.returncode, " ".join((proc.stdout + proc.stderr).split())


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"galera_agent_address": "db1.example.org"},
         "galera_agent_address must be an IPv4 address of this host, got 'db1.example.org'"),
        ({"galera_agent_port": 70000}, "galera_agent_port must be a TCP port 1-65535 (HAProxy's agent-port)"),
        ({"galera_agent_user": "Agent-1"}, "galera_agent_user must be a user name of lower-case letters"),
        ({"galera_agent_cache_seconds": -1}, "galera_agent_cache_seconds must be a number of seconds >= 0"),
        ({"galera_agent_donor_policy": "sometimes"}, "galera_agent_donor_policy must be one of: never, last"),
    ],
)
def test_bad_input_names_the_variable(tmp_path: Path, variables: dict[str, Any], message: str) -> None:
    rc, out = run(tmp_path, variables)
    assert rc != 0
    assert message in out, out[-2000:]
    assert "Install the agent's Python MySQL driver" not in out, "validation let the play go on"


def test_good_input_passes_the_checks(tmp_path: Path) -> None:
    # check mode on the controller without facts: every check passes and the play goes on to the
    # OS family's variables (and stops there, having no facts)
    _, out = run(tmp_path, {})
    assert "must be" not in out
    assert "TASK [galera_agent : Include the OS family's variables]" in out, out[-2000:]
