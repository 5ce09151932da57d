"""Find SQL that Galera cannot replicate, or handles badly, in an application's source tree or
in a server's statement digests.

    heroes-sql-audit path/to/app                       # a table for people, exit 1 on findings
    heroes-sql-audit --json digests.txt                # JSON for CI
    mariadb -N -e "SELECT DIGEST_TEXT FROM performance_schema.events_statements_summary_by_digest" \\
        > digests.txt

Each finding gives the file, the line, the rule, the statement's start and a suggested fix.
The rules are textual (regular expressions over the files' text, statements spanning lines
included), so they also catch SQL built in PHP or Python strings; they can report SQL inside
comments too.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

SOURCE_SUFFIXES = {
    ".sql",
    ".php",
    ".inc",
    ".py",
    ".js",
    ".ts",
    ".rb",
    ".pl",
    ".java",
    ".go",
    ".txt",
    ".log",
    ".tpl",
}
SKIP_DIRS = {".git", "node_modules", "vendor", ".venv", "__pycache__"}


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    problem: str
    fix: str


def _rx(text: str) -> re.Pattern[str]:
    return re.compile(text, re.IGNORECASE | re.DOTALL)


RULES = (
    Rule(
        "insert-delayed",
        _rx(r"\bINSERT\s+DELAYED\b"),
        "INSERT DELAYED is not supported with Galera (and deprecated in MariaDB)",
        "use a plain INSERT, batched in a transaction if the point was speed",
    ),
    Rule(
        "lock-tables",
        _rx(r"\bLOCK\s+TABLES?\b"),
        "LOCK TABLES is local to one node: other nodes keep writing",
        "use an InnoDB transaction with SELECT ... FOR UPDATE, sent to the single writer",
    ),
    Rule(
        "get-lock",
        # also as a digest writes it: SELECT `GET_LOCK` (...)
        _rx(r"\b(GET_LOCK|RELEASE_LOCK|IS_FREE_LOCK)`?\s*\("),
        "user-level locks (GET_LOCK) are not replicated: each node has its own",
        "lock a row of an InnoDB table (SELECT ... FOR UPDATE), or keep the lock in the application",
    ),
    Rule(
        "non-innodb-engine",
        _rx(r"\bENGINE\s*=?\s*['\"`]?(MyISAM|Aria|MEMORY|HEAP|CSV|ARCHIVE|MERGE|MRG_MyISAM)\b"),
        "only InnoDB tables are replicated; rows of other engines drift apart",
        "use ENGINE=InnoDB (playbooks convert existing tables)",
    ),
    Rule(
        "xa-transaction",
        _rx(r"\bXA\s+(START|BEGIN|END|PREPARE|COMMIT|ROLLBACK|RECOVER)\b"),
        "XA transactions are not supported by Galera",
        "use ordinary transactions",
    ),
    Rule(
        "create-table-select",
        _rx(r"\bCREATE\s+(?!TEMPORARY\b)TABLE\b(?:(?!;).){0,2000}?\bSELECT\b"),
        "CREATE TABLE ... SELECT is replicated as one statement and breaks with row-based replication",
        "create the table first (with a primary key), then INSERT ... SELECT",
    ),
)
NO_PRIMARY_KEY = Rule(
    "no-primary-key",
    _rx(r"\bCREATE\s+(?!TEMPORARY\b)TABLE\b"),
    "a table without a primary key: Galera needs one to apply row events in order and fast",
    "add a PRIMARY KEY (an AUTO_INCREMENT id if nothing else fits)",
)


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str
    statement: str
    problem: str
    fix: str


def _statement(text: str, start: int) -> str:
    """The statement starting at `start`, up to its ';' (or 2000 characters)."""
    end = text.find(";", start)
    end = len(text) if end == -1 or end - start > 2000 else end
    return text[start:end]


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _snippet(statement: str) -> str:
    flat = " ".join(statement.split())
    return flat if len(flat) <= 80 else flat[:77] + "..."


def audit_text(text: str, path: str) -> list[Finding]:
    """Every finding in one text."""
    findings: list[Finding] = []
    for rule in RULES:
        for match in rule.pattern.finditer(text):
            stmt = _statement(text, match.start())
            findings.append(
                Finding(
                    path, _line_of(text, match.start()), rule.name, _snippet(stmt), rule.problem, rule.fix
                )
            )
    for match in NO_PRIMARY_KEY.pattern.finditer(text):
        stmt = _statement(text, match.start())
        if re.search(r"\bPRIMARY\s+KEY\b|\bLIKE\b|\bSELECT\b", stmt, re.IGNORECASE):
            continue
        if "(" not in stmt:
            continue  # not a definition (e.g. a message that mentions CREATE TABLE)
        findings.append(
            Finding(
                path,
                _line_of(text, match.start()),
                NO_PRIMARY_KEY.name,
                _snippet(stmt),
                NO_PRIMARY_KEY.problem,
                NO_PRIMARY_KEY.fix,
            )
        )
    return sorted(findings, key=lambda f: (f.path, f.line, f.rule))


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Source files under the given paths; a file named directly is always read."""
    for path in paths:
        if path.is_file():
            yield path
            continue
        for child in sorted(path.rglob("*")):
            if any(part in SKIP_DIRS for part in child.parts):
                continue
            if child.is_file() and child.suffix.lower() in SOURCE_SUFFIXES:
                yield child


def audit(paths: Iterable[Path]) -> list[Finding]:
    findings: list[Finding] = []
    for path in iter_files(paths):
        try:
            text = path.read_text(errors="replace")
        except OSError as exc:
            raise SystemExit(f"sql-audit: cannot read {path}: {exc}") from exc
        findings.extend(audit_text(text, str(path)))
    return findings


def render(findings: Sequence[Finding]) -> str:
    if not findings:
        return "sql-audit: nothing Galera cannot replicate was found"
    rows = [("where", "rule", "statement", "fix")]
    rows += [(f"{f.path}:{f.line}", f.rule, f.statement, f.fix) for f in findings]
    widths = [min(max(len(r[i]) for r in rows), 60) for i in range(3)]
    lines = [
        "  ".join(r[i].ljust(widths[i])[: max(widths[i], 1)] for i in range(3)) + "  " + r[3] for r in rows
    ]
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.rule] = counts.get(f.rule, 0) + 1
    lines.append("")
    lines.append(", ".join(f"{n} {rule}" for rule, n in sorted(counts.items())))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Report SQL that Galera cannot replicate.")
    parser.add_argument("paths", nargs="+", type=Path, help="source trees, SQL files or digest exports")
    parser.add_argument("--json", action="store_true", help="print JSON (for CI)")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        parser.error(f"no such file or directory: {', '.join(missing)}")
    findings = audit(args.paths)
    if args.json:
        print(json.dumps({"findings": [asdict(f) for f in findings], "count": len(findings)}, indent=2))
    else:
        print(render(findings))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
