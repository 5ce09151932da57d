"""Run one role in check mode on this machine (local connection) with an inventory and extra
variables: what the roles' bad-input tests share."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": "python3"}


def check_run(tmp_path: Path, inventory: dict[str, Any], hosts: str, role: str,
              variables: dict[str, Any], gather_facts: bool = False) -> subprocess.CompletedProcess[str]:
    """ansible-playbook --check of a play applying role to hosts; its output, as it came."""
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "play.yml").write_text(
        f"- hosts: {hosts}\n  gather_facts: {str(gather_facts).lower()}\n  roles: [{role}]\n")
    return subprocess.run(
        ["ansible-playbook", "-i", str(tmp_path / "inventory.json"), "--check",
         "-e", json.dumps(variables), str(tmp_path / "play.yml")],
        capture_output=True, text=True, cwd=ROOT, check=False,
        env={**os.environ, "ANSIBLE_ROLES_PATH": str(ROOT / "roles"), "ANSIBLE_NOCOLOR": "1",
             "ANSIBLE_FILTER_PLUGINS": str(ROOT / "plugins/filter")},
    )
