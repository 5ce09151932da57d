from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from heroes_infra.sqlaudit import Finding, audit, audit_text, main
from tests.conftest import ROOT, load_file


def _filter() -> Any:
    """plugins/filter/sqlaudit.py, the playbook step's filter (loaded by path: Ansible does)."""
    return load_file("plugins/filter/sqlaudit.py", "heroes_filter_sqlaudit")


heroes_sql_audit_text = _filter().heroes_sql_audit_text

FIXTURES = ROOT / "tests/fixtures/sqlaudit"


def where(findings: Sequence[Finding], rule: str) -> list[tuple[str, int]]:
    return [(Path(f.path).name, f.line) for f in findings if f.rule == rule]


def test_each_rule_with_file_and_line() -> None:
    findings = audit([FIXTURES / "app"])
    assert where(findings, "insert-delayed") == [("stats.php", 4)]
    assert where(findings, "lock-tables") == [("stats.php", 8)]
    assert where(findings, "get-lock") == [("stats.php", 9)]
    assert where(findings, "xa-transaction") == [("stats.php", 10)]
    assert where(findings, "non-innodb-engine") == [("schema.sql", 5), ("schema.sql", 17)]
    assert where(findings, "create-table-select") == [("schema.sql", 15)]
    # hits has no primary key; sessions and cache have one; the temporary table is left alone
    assert where(findings, "no-primary-key") == [("schema.sql", 2)]


def test_every_finding_suggests_a_fix() -> None:
    assert all(f.fix and f.problem and f.statement for f in audit([FIXTURES / "app"]))


def test_clean_sql_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert audit([FIXTURES / "clean.sql"]) == []
    assert main([str(FIXTURES / "clean.sql")]) == 0
    assert "nothing Galera cannot replicate" in capsys.readouterr().out


def test_json_for_ci_and_nonzero_exit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", str(FIXTURES / "app")]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["count"] == len(data["findings"]) == 8
    assert {"path", "line", "rule", "statement", "problem", "fix"} <= set(data["findings"][0])


def test_digest_lines_are_statements() -> None:
    digests = "SELECT `x` FROM `t` WHERE `id` = ?\nINSERT DELAYED INTO `log` VALUES (...)\n"
    assert [(f.rule, f.line) for f in audit_text(digests, "digests.txt")] == [("insert-delayed", 2)]


def test_digests_as_mariadb_writes_them() -> None:
    # performance_schema's DIGEST_TEXT of a MariaDB 10.11 server (read from a real one)
    digests = [
        "CREATE TABLE `app` . `hits` ( ID INTEGER PRIMARY KEY ) ENGINE = `InnoDB` ",
        "SELECT `GET_LOCK` (...) ",
        "INSERT DELAYED INTO `app` . `hits` VALUES (?) ",
        "LOCK TABLES `app` . `hits` WRITE ",
    ]
    found = [(f["rule"], f["line"]) for f in heroes_sql_audit_text(digests, "digests of db1")]
    assert found == [("get-lock", 2), ("insert-delayed", 3), ("lock-tables", 4)]


def test_engine_written_with_quotes_or_without_equals() -> None:
    assert (
        audit_text("CREATE TABLE a (id INT PRIMARY KEY) ENGINE 'Aria';", "x")[0].rule == "non-innodb-engine"
    )


def test_missing_path_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["/nonexistent/app"])
    assert exc.value.code == 2
