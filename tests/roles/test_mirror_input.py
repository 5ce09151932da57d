"""Bad input to the mirror role fails before anything changes, naming the variable."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": "python3"}
GOOD = {"mirror_server_names": ["mirror.example"], "mirror_tls_certificate": "cert",
        "mirror_tls_private_key": "key", "mirror_upstream": "rsync://upstream.example/pub/"}


def run(tmp_path: Path, variables: dict[str, Any]) -> str:
    (tmp_path / "inventory.json").write_text(json.dumps({"mirror": {"hosts": {"web1": {}}, "vars": LOCAL}}))
    (tmp_path / "play.yml").write_text("- hosts: mirror\n  gather_facts: false\n  roles: [mirror]\n")
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(tmp_path / "inventory.json"), "--check",
         "-e", json.dumps({**GOOD, **variables}), str(tmp_path / "play.yml")],
        capture_output=True, text=True, cwd=ROOT, check=False,
        env={**os.environ, "ANSIBLE_ROLES_PATH": str(ROOT / "roles"), "ANSIBLE_NOCOLOR": "1",
             "ANSIBLE_FILTER_PLUGINS": str(ROOT / "plugins/filter")},
    )
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0, out
    assert "Install rsync and flock" not in out, "the play went on past the checks"
    return out


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"mirror_upstream": "upstream.example:/pub"},
         "mirror_upstream must be empty or an rsync URL of a directory, "
         "rsync://host[:port]/module/[path/] ending in / (got 'upstream.example:/pub')"),
        ({"mirror_upstream": "rsync://upstream.example/pub"}, "(got 'rsync://upstream.example/pub')"),
        ({"mirror_server_names": []}, "mirror_server_names a non-empty list"),
        ({"mirror_root": "srv/mirror"}, "mirror_root must be an absolute path"),
        ({"mirror_metadata_max_age": "five minutes"}, "mirror_metadata_max_age and mirror_package_max_age"),
    ],
    ids=["not-a-url", "no-trailing-slash", "no-names", "relative-root", "lifetime"],
)
def test_bad_input_fails_before_anything_changes(tmp_path: Path, variables: dict[str, Any],
                                                 message: str) -> None:
    assert message in run(tmp_path, variables)
