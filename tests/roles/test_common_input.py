"""Bad input to the common role fails before anything changes, naming the variable.

The role runs against the controller in check mode with gathered facts off: a validation
that let bad input through would still change nothing, and the test would fail on the message.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT


def run_role(tmp_path: Path, role: str, variables: dict[str, object]) -> subprocess.CompletedProcess[str]:
    playbook = tmp_path / "play.yml"
    playbook.write_text(f"- hosts: all\n  gather_facts: false\n  roles:\n    - role: {role}\n")
    return subprocess.run(
        [
            "ansible-playbook",
            "-i",
            "localhost,",
            "-c",
            "local",
            "--check",
            "-e",
            json.dumps(variables),
            str(playbook),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "ANSIBLE_ROLES_PATH": str(ROOT / "roles"), "ANSIBLE_NOCOLOR": "1"},
        check=False,
    )


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"common_timezone": "Berlin time"}, "common_timezone must be a tz database name"),
        ({"common_locale": "english"}, "common_locale must be a UTF-8 locale"),
        ({"common_journald_system_max_use": "lots"}, "common_journald_system_max_use must be a size"),
        ({"common_journald_max_retention": "forever"}, "common_journald_max_retention a time span"),
        (
            {"common_timesync_servers": ["ntp.example.org; rm -rf /"]},
            "common_timesync_servers must be a list",
        ),
        ({"common_timesync_state": "sometimes"}, "common_timesync_state must be one of"),
        ({"common_journald_storage": "tape"}, "common_journald_storage must be one of"),
    ],
)
def test_bad_input_fails_naming_the_variable(
    tmp_path: Path, variables: dict[str, object], message: str
) -> None:
    proc = run_role(tmp_path, "common", variables)
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0, out
    assert message in out, out
    # nothing ran past validation
    assert "Install the base packages" not in out
