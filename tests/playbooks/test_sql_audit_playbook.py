"""The SQL audit as a playbook step (on the controller: source trees)."""

from __future__ import annotations

import json
import os
import subprocess

from tests.conftest import ROOT

FIXTURES = ROOT / "tests/fixtures/sqlaudit"
PLAYBOOK = ROOT / "playbooks/maintenance/galera-sql-audit.yml"


def run(*extra: str) -> tuple[int, str]:
    proc = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", *extra, str(PLAYBOOK)],
        capture_output=True, text=True, cwd=ROOT, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"},
    )
    return proc.returncode, " ".join((proc.stdout + proc.stderr).split())


def test_findings_fail_the_step_with_file_line_and_fix() -> None:
    rc, out = run("-e", json.dumps({"sql_audit_paths": [str(FIXTURES / "app")]}))
    assert rc != 0
    assert "app/stats.php:4 insert-delayed" in out
    assert "use a plain INSERT" in out
    assert "Galera cannot replicate or handles badly" in out


def test_clean_sql_passes() -> None:
    rc, out = run("-e", json.dumps({"sql_audit_paths": [str(FIXTURES / "clean.sql")]}))
    assert rc == 0, out[-2000:]
    assert "nothing Galera cannot replicate was found" in out


def test_report_only_mode_does_not_fail() -> None:
    variables = {"sql_audit_paths": [str(FIXTURES / "app")], "sql_audit_fail_on_findings": False}
    rc, out = run("-e", json.dumps(variables))
    assert rc == 0, out[-2000:]


def test_nothing_to_audit_is_refused() -> None:
    rc, out = run()
    assert rc != 0
    assert "Give sql_audit_paths" in out


def test_missing_path_is_named() -> None:
    rc, out = run("-e", json.dumps({"sql_audit_paths": ["/nonexistent/app"]}))
    assert rc != 0
    assert "sql_audit_paths: /nonexistent/app does not exist on the controller" in out
