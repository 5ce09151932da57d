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
import threading
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
    # Runs beside the other parallel stages next to it (two at a time), its output kept in a
    # log and printed whole when it ends.
    parallel: bool = False
    # A parallel stage with a lane of its own (a long scenario that mostly waits: the Galera
    # fault tests): the others still run two at a time beside it.
    lane: bool = False


@dataclass
class Result:
    """What one stage gave."""

    stage: Stage
    returncode: int
    seconds: float
    passed: int
    failed: int
    skipped: int = 0
    # the failed test cases, each as "name: first line of its message" (failed_cases)
    failures: tuple[str, ...] = ()


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


def failed_cases(path: Path, width: int = 160) -> tuple[str, ...]:
    """The failed test cases of a JUnit report, each as 'name: the first line of its message'
    (cut at ``width``): the table names them, so that the end of a long log says what failed."""
    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):
        for child in case:
            if child.tag in ("failure", "error"):
                message = (child.get("message") or child.text or "").strip().splitlines()
                line = f"{case.get('name', '?')}: {message[0] if message else child.tag}"
                cases.append(line if len(line) <= width else line[: width - 3] + "...")
                break
    return tuple(cases)


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


LONG_MARK = "heroes-test: long"
ALONE_MARK = "heroes-test: alone"
WORKERS = 2


def find_scenarios(root: Path) -> list[tuple[str, Path]]:
    """Molecule scenarios as (scenario name, directory to run molecule in).

    Role scenarios (roles/<role>/molecule/<name>) come first, those whose molecule.yml says
    ``heroes-test: long`` before the others (they start first when scenarios run two at a time),
    then the multi-host ones (molecule/<name>), the most expensive, last.
    """
    roles = sorted((root / "roles").glob("*/molecule/*/molecule.yml"))
    roles.sort(key=lambda config: LONG_MARK not in config.read_text())
    found = [(config.parent.name, config.parent.parent.parent) for config in roles]
    for config in sorted((root / "molecule").glob("*/molecule.yml")):
        found.append((config.parent.name, root))
    return found


def has_lane(root: Path, name: str, cwd: Path) -> bool:
    """Role scenarios whose molecule.yml says ``heroes-test: long`` run in a lane of their own."""
    return cwd != root and LONG_MARK in (cwd / "molecule" / name / "molecule.yml").read_text()


def runs_alone(root: Path, name: str, cwd: Path) -> bool:
    """Multi-host scenarios, and role scenarios whose molecule.yml says ``heroes-test: alone``
    (their tests measure times), run with nothing beside them; the other role scenarios run
    two at a time: much of a scenario is waiting for containers and services, not computing."""
    if cwd == root:
        return True
    return ALONE_MARK in (cwd / "molecule" / name / "molecule.yml").read_text()


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
            # on every core (pytest-xdist): the unit tests share no file and no port
            ("pytest", "-q", "-n", "auto", f"--junitxml={report_dir / 'unit.xml'}", "tests"),
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
                parallel=not runs_alone(root, name, cwd),
                lane=has_lane(root, name, cwd),
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


def run_stage(stage: Stage, log: Path | None = None) -> Result:
    """Run one stage with its output streamed to the terminal, or kept in ``log`` and printed
    whole when it ends (a stage running beside another)."""
    if log is None:
        print(f"\n=== {stage.name} ===", flush=True)
    else:
        print(f"\n=== started: {stage.name} (beside another; output follows when it ends) ===", flush=True)
    report = report_path(stage)
    if report is not None and report.exists():
        report.unlink()
    start = time.monotonic()
    env = {**os.environ, **stage.env}
    if log is None:
        returncode = subprocess.run(stage.argv, cwd=stage.cwd, env=env, check=False).returncode
    else:
        with log.open("wb") as out:
            returncode = subprocess.run(stage.argv, cwd=stage.cwd, env=env, check=False, stdout=out,
                                        stderr=subprocess.STDOUT).returncode
        with PRINT_LOCK:
            print(f"\n=== {stage.name} (ended after {time.monotonic() - start:.0f} s) ===", flush=True)
            sys.stdout.write(log.read_text(errors="replace"))
            sys.stdout.flush()
    seconds = time.monotonic() - start
    counts = count_junit(report) if report is not None and report.exists() else None
    passed, failed = score(returncode, counts)
    failures = failed_cases(report) if counts is not None and counts.failed and report is not None else ()
    return Result(stage, returncode, seconds, passed, failed, counts.skipped if counts else 0, failures)


def print_table(results: Sequence[Result], not_run: Sequence[Stage]) -> None:
    """A table of what ran, then what did not."""
    print("\n--- summary ---")
    for r in results:
        status = "ok  " if r.failed == 0 else "FAIL"
        skipped = f" {r.skipped:3d} skipped" if r.skipped else ""
        counts = f"{r.passed:4d} passed {r.failed:3d} failed{skipped}"
        print(f"{status} {r.seconds:7.1f}s  {counts}  {r.stage.name}")
    for r in results:
        for case in r.failures:
            print(f"  failed in {r.stage.name}: {case}")
    for stage in not_run:
        print(f"not run (an earlier stage failed): {stage.name}")
    total = sum(r.seconds for r in results)
    print(f"total {total:.0f} s")


@dataclass
class Alongside:
    """A command the molecule stages need (the lab images), run while lint and unit run: they
    keep one core busy, building images mostly waits for downloads and the disk."""

    stage: Stage
    log: Path
    process: subprocess.Popen[bytes]
    started: float

    @classmethod
    def start(cls, command: str, cwd: Path, log: Path) -> Alongside:
        name = f"{command} (alongside lint and unit)"
        stage = Stage(name, "molecule", ("sh", "-c", command), cwd)
        print(f"=== started alongside: {command} (log: {log}) ===", flush=True)
        with log.open("wb") as out:
            process = subprocess.Popen(stage.argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        return cls(stage, log, process, time.monotonic())

    def stop(self) -> None:
        """End it when the suite stops before it is needed."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait()

    def finish(self) -> Result:
        print(f"\n=== {self.stage.name} ===", flush=True)
        returncode = self.process.wait()
        seconds = time.monotonic() - self.started
        lines = self.log.read_text(errors="replace").splitlines()
        for line in lines if returncode else lines[-5:]:
            print(line)
        passed, failed = score(returncode, None)
        return Result(self.stage, returncode, seconds, passed, failed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=GROUPS, action="append", help="run only these groups")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root")
    parser.add_argument("--list", action="store_true", help="list the stages and exit")
    parser.add_argument("--alongside", default="",
                        help="a shell command the molecule stages need (e.g. 'make images'), started at "
                             "once and waited for before the first molecule stage")
    args = parser.parse_args(argv)

    root = args.root.resolve()
    with tempfile.TemporaryDirectory(prefix="heroes-test-") as tmp:
        stages = [s for s in build_stages(root, Path(tmp)) if not args.only or s.group in args.only]
        if args.list:
            for stage in stages:
                beside = f"  ({WORKERS} at a time)" if stage.parallel else ""
                beside = "  (a lane of its own)" if stage.lane else beside
                print(f"{stage.group:9s} {stage.name}{beside}")
            return 0
        alongside = None
        if args.alongside and any(s.group == "molecule" for s in stages):
            alongside = Alongside.start(args.alongside, root, Path(tmp) / "alongside.log")
        try:
            return run_all(stages, alongside, Path(tmp))
        finally:
            if alongside is not None:
                alongside.stop()


PRINT_LOCK = threading.Lock()


def run_parallel(stages: Sequence[Stage], log_dir: Path) -> tuple[list[Result], list[Stage]]:
    """Run stages WORKERS at a time, in order, and each stage with a lane beside them (its worker
    ends with it); once one fails no new one starts. Returns the results in the stages' order and
    the stages that did not run."""
    pending = list(enumerate(stages))
    results: dict[int, Result] = {}
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not pending or any(r.failed for r in results.values()):
                    return
                index, stage = pending.pop(0)
            result = run_stage(stage, log_dir / f"stage-{index}.log")
            with lock:
                results[index] = result
            if stage.lane:
                return

    lanes = sum(stage.lane for stage in stages)
    threads = [threading.Thread(target=worker) for _ in range(min(WORKERS + lanes, len(stages)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    not_run = [stage for i, stage in enumerate(stages) if i not in results]
    return [results[i] for i in sorted(results)], not_run


def run_all(stages: Sequence[Stage], alongside: Alongside | None, log_dir: Path | None = None) -> int:
    """Run the stages in order (runs of parallel stages two at a time), stopping at the first
    failure; print the table and the closing line."""
    results: list[Result] = []
    index = 0
    while index < len(stages):
        stage = stages[index]
        if alongside is not None and stage.group == "molecule":
            waited = alongside.finish()
            alongside = None
            results.append(waited)
            if waited.failed:
                print_table(results, stages[index:])
                print(summary_line(results, stages[index:]))
                return 1
        if stage.parallel:
            end = index
            while end < len(stages) and stages[end].parallel:
                end += 1
            with tempfile.TemporaryDirectory(prefix="heroes-test-logs-", dir=log_dir) as logs:
                done, skipped = run_parallel(stages[index:end], Path(logs))
            results.extend(done)
            if any(r.failed for r in done):
                not_run = [*skipped, *stages[end:]]
                print_table(results, not_run)
                print(summary_line(results, not_run))
                return 1
            index = end
            continue
        result = run_stage(stage)
        results.append(result)
        if result.failed:
            print_table(results, stages[index + 1 :])
            print(summary_line(results, stages[index + 1 :]))
            return 1
        index += 1
    print_table(results, [])
    print(summary_line(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
