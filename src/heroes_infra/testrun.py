"""Run every check of the repository, cheapest first, and print one closing summary line.

Stages are discovered from the tree (playbooks, molecule scenarios), run one after another and
stopped at the first failure so that a broken lint costs seconds, not a molecule run. Stages
that run pytest (the unit tests, and testinfra inside molecule's verify) count each test case
from a JUnit XML report; every other stage counts as one check. The closing line also counts
what was skipped: skipped test cases, and each stage not run after a failure.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

GROUPS = ("lint", "unit", "molecule")
LAB_DOWN_CHECK = (
    "if docker network inspect heroes-lab >/dev/null 2>&1; then "
    "echo 'The lab is up: the multi-host scenarios use its subnet. Run make lab-down first.'; "
    "exit 1; fi"
)


@dataclass(frozen=True)
class Stage:
    """One command of the suite."""

    name: str
    group: str
    argv: tuple[str, ...]
    cwd: Path
    junit: bool = False
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    """What one stage gave."""

    stage: Stage
    returncode: int
    seconds: float
    passed: int
    failed: int
    skipped: int = 0


@dataclass(frozen=True)
class Counts:
    """Test cases counted in a JUnit XML report."""

    passed: int
    failed: int
    skipped: int


def count_junit(path: Path) -> Counts:
    """Count passed, failed (failures and errors) and skipped test cases in a JUnit report."""
    root = ET.parse(path).getroot()
    passed = failed = skipped = 0
    for case in root.iter("testcase"):
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            failed += 1
        elif "skipped" in tags:
            skipped += 1
        else:
            passed += 1
    return Counts(passed, failed, skipped)


def score(returncode: int, counts: Counts | None) -> tuple[int, int]:
    """Turn a stage's exit code and optional test counts into (passed, failed).

    A stage that failed without a failed test case (a crash, a converge or idempotence
    failure, a collection error) still counts as one failure; one that exited 0 with no
    report counts as one passed check.
    """
    if counts is None or counts.passed + counts.failed == 0:
        return (1, 0) if returncode == 0 else (0, 1)
    failed = counts.failed
    if returncode != 0 and failed == 0:
        failed = 1
    return counts.passed, failed


def summary_line(results: Sequence[Result], not_run: Sequence[Stage] = ()) -> str:
    """The closing line: 'N passed, N failed, N skipped'.

    Skipped counts the test cases a stage skipped and every stage that did not run because an
    earlier one failed (each counts as one), so that nothing that was not checked is silent.
    """
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    skipped = sum(r.skipped for r in results) + len(not_run)
    return f"{passed} passed, {failed} failed, {skipped} skipped"


def find_playbooks(root: Path) -> list[Path]:
    """Every playbook under playbooks/, in a stable order (task files under tasks/ are not)."""
    return sorted(
        p for p in (root / "playbooks").rglob("*.yml") if p.is_file() and "tasks" not in p.parent.parts
    )


def find_scenarios(root: Path) -> list[tuple[str, Path]]:
    """Molecule scenarios as (scenario name, directory to run molecule in).

    Role scenarios (roles/<role>/molecule/<name>) come first, then the multi-host ones
    (molecule/<name>), the most expensive, last.
    """
    found: list[tuple[str, Path]] = []
    for config in sorted((root / "roles").glob("*/molecule/*/molecule.yml")):
        found.append((config.parent.name, config.parent.parent.parent))
    for config in sorted((root / "molecule").glob("*/molecule.yml")):
        found.append((config.parent.name, root))
    return found


def build_stages(root: Path, report_dir: Path) -> list[Stage]:
    """The whole suite, cheapest first."""
    inventories = sorted(p for p in (root / "inventory").iterdir() if p.is_dir())
    stages = [
        Stage("yamllint", "lint", ("yamllint", "--strict", "."), root),
        Stage("ruff", "lint", ("ruff", "check", "."), root),
        Stage("mypy", "lint", ("mypy",), root),
        Stage("ansible-lint (production profile)", "lint", ("ansible-lint", "--strict"), root),
    ]
    if inventories:
        stages.append(
            Stage(
                "failure domains of every inventory",
                "lint",
                ("heroes-failure-domains", *(arg for i in inventories for arg in ("-i", str(i)))),
                root,
            )
        )
        stages.append(
            Stage("secrets vaulted", "lint", ("heroes-secrets-check", str(root / "inventory")), root)
        )
    for playbook in find_playbooks(root):
        for inventory in inventories:
            if "lab" in playbook.relative_to(root).parts[1:-1] and inventory.name != "lab":
                continue  # playbooks/lab/* build the container lab; only the lab inventory fits
            stages.append(
                Stage(
                    f"syntax-check {playbook.relative_to(root)} -i {inventory.relative_to(root)}",
                    "lint",
                    ("ansible-playbook", "--syntax-check", "-i", str(inventory), str(playbook)),
                    root,
                )
            )
    stages.append(
        Stage(
            "pytest tests/",
            "unit",
            ("pytest", "-q", f"--junitxml={report_dir / 'unit.xml'}", "tests"),
            root,
            junit=True,
        )
    )
    scenarios = find_scenarios(root)
    if any(cwd == root for _, cwd in scenarios):
        stages.append(
            Stage(
                "the lab is down (the full-stack scenario uses its addresses)",
                "molecule",
                ("sh", "-c", LAB_DOWN_CHECK),
                root,
            )
        )
    for name, cwd in scenarios:
        label = cwd.name if cwd != root else "molecule"
        report = report_dir / f"molecule-{label}-{name}.xml"
        stages.append(
            Stage(
                f"molecule test {label}/{name}",
                "molecule",
                ("molecule", "test", "-s", name),
                cwd,
                junit=True,
                env={"PYTEST_ADDOPTS": f"--junitxml={report}"},
            )
        )
    return stages


def report_path(stage: Stage) -> Path | None:
    """Where a stage writes its JUnit report, if it writes one."""
    if not stage.junit:
        return None
    for arg in (*stage.argv, stage.env.get("PYTEST_ADDOPTS", "")):
        if arg.startswith("--junitxml="):
            return Path(arg.split("=", 1)[1])
    return None


def run_stage(stage: Stage) -> Result:
    """Run one stage with its output streamed to the terminal."""
    print(f"\n=== {stage.name} ===", flush=True)
    report = report_path(stage)
    if report is not None and report.exists():
        report.unlink()
    start = time.monotonic()
    env = {**os.environ, **stage.env}
    returncode = subprocess.run(stage.argv, cwd=stage.cwd, env=env, check=False).returncode
    seconds = time.monotonic() - start
    counts = count_junit(report) if report is not None and report.exists() else None
    passed, failed = score(returncode, counts)
    return Result(stage, returncode, seconds, passed, failed, counts.skipped if counts else 0)


def print_table(results: Sequence[Result], not_run: Sequence[Stage]) -> None:
    """A table of what ran, then what did not."""
    print("\n--- summary ---")
    for r in results:
        status = "ok  " if r.failed == 0 else "FAIL"
        skipped = f" {r.skipped:3d} skipped" if r.skipped else ""
        counts = f"{r.passed:4d} passed {r.failed:3d} failed{skipped}"
        print(f"{status} {r.seconds:7.1f}s  {counts}  {r.stage.name}")
    for stage in not_run:
        print(f"not run (an earlier stage failed): {stage.name}")
    total = sum(r.seconds for r in results)
    print(f"total {total:.0f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=GROUPS, action="append", help="run only these groups")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root")
    parser.add_argument("--list", action="store_true", help="list the stages and exit")
    args = parser.parse_args(argv)

    root = args.root.resolve()
    with tempfile.TemporaryDirectory(prefix="heroes-test-") as tmp:
        stages = [s for s in build_stages(root, Path(tmp)) if not args.only or s.group in args.only]
        if args.list:
            for stage in stages:
                print(f"{stage.group:9s} {stage.name}")
            return 0
        results: list[Result] = []
        for index, stage in enumerate(stages):
            result = run_stage(stage)
            results.append(result)
            if result.failed:
                print_table(results, stages[index + 1 :])
                print(summary_line(results, stages[index + 1 :]))
                return 1
        print_table(results, [])
        print(summary_line(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
