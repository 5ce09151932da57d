from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from heroes_infra import testrun
from heroes_infra.testrun import Counts, Result, Stage

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="5">
  <testcase classname="t" name="ok1"/>
  <testcase classname="t" name="ok2"/>
  <testcase classname="t" name="bad"><failure message="assert 1 == 2"/></testcase>
  <testcase classname="t" name="err"><error message="fixture"/></testcase>
  <testcase classname="t" name="skip"><skipped message="no"/></testcase>
</testsuite></testsuites>
"""


def test_count_junit_counts_failures_errors_and_skips(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text(JUNIT)
    assert testrun.count_junit(report) == Counts(passed=2, failed=2, skipped=1)


@pytest.mark.parametrize(
    ("returncode", "counts", "expected"),
    [
        (0, None, (1, 0)),
        (2, None, (0, 1)),
        (0, Counts(7, 0, 1), (7, 0)),
        (1, Counts(7, 2, 0), (7, 2)),
        # a crash after the tests passed (e.g. molecule's destroy) still fails the stage
        (1, Counts(7, 0, 0), (7, 1)),
        # a report with nothing in it counts like no report
        (1, Counts(0, 0, 3), (0, 1)),
    ],
)
def test_score(returncode: int, counts: Counts | None, expected: tuple[int, int]) -> None:
    assert testrun.score(returncode, counts) == expected


def test_summary_line_is_the_plain_closing_line() -> None:
    stage = Stage("s", "lint", ("true",), Path())
    line = testrun.summary_line([Result(stage, 0, 1.0, 3, 0, 1), Result(stage, 1, 1.0, 4, 2)], [stage])
    # one skipped test case and one stage that did not run
    assert line == "7 passed, 2 failed, 2 skipped"
    assert re.fullmatch(r"\d+ passed, \d+ failed, \d+ skipped", line)


def _tree(tmp_path: Path) -> Path:
    for rel in (
        "playbooks/site.yml",
        "playbooks/lab/up.yml",
        "roles/zeta/molecule/default/molecule.yml",
        "roles/alpha/molecule/default/molecule.yml",
        "molecule/full-stack/molecule.yml",
        "inventory/lab/hosts.yml",
        "inventory/production/hosts.yml",
    ):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("---\n")
    return tmp_path


def test_scenarios_roles_first_full_stack_last(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    assert testrun.find_scenarios(root) == [
        ("default", root / "roles/alpha"),
        ("default", root / "roles/zeta"),
        ("full-stack", root),
    ]


def test_stages_cheapest_first(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    stages = testrun.build_stages(root, tmp_path / "reports")
    groups = [s.group for s in stages]
    assert groups == sorted(groups, key=testrun.GROUPS.index)
    syntax = [s.name for s in stages if s.name.startswith("syntax-check")]
    # every playbook against every inventory, the lab's own playbooks against the lab only
    assert syntax == [
        "syntax-check playbooks/lab/up.yml -i inventory/lab",
        "syntax-check playbooks/site.yml -i inventory/lab",
        "syntax-check playbooks/site.yml -i inventory/production",
    ]
    molecule = [s for s in stages if s.group == "molecule" and s.argv[0] == "molecule"]
    assert molecule[-1].name == "molecule test molecule/full-stack"
    assert all(testrun.report_path(s) is not None for s in molecule)
    # the lab must be down before the multi-host scenario runs on its subnet
    names = [s.name for s in stages]
    assert names.index("the lab is down (the full-stack scenario uses its addresses)") < names.index(
        "molecule test molecule/full-stack"
    )


def test_main_stops_at_first_failure_and_prints_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stages = [
        Stage("good", "lint", ("true",), tmp_path),
        Stage("bad", "lint", ("false",), tmp_path),
        Stage("never", "lint", ("true",), tmp_path),
    ]
    monkeypatch.setattr(testrun, "build_stages", lambda root, report_dir: stages)
    assert testrun.main(["--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "1 passed, 1 failed, 1 skipped"
    assert any("not run (an earlier stage failed): never" in line for line in out)


def test_main_counts_pytest_cases_from_junit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "r.xml"
    script = f"cat > {report} <<'X'\n{JUNIT}\nX\nexit 1"
    stages = [
        Stage(
            "tests",
            "unit",
            ("sh", "-c", script),
            tmp_path,
            junit=True,
            env={"PYTEST_ADDOPTS": f"--junitxml={report}"},
        )
    ]
    monkeypatch.setattr(testrun, "build_stages", lambda root, report_dir: stages)
    assert testrun.main(["--root", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "2 passed, 2 failed, 1 skipped"


def test_alongside_runs_during_lint_and_molecule_waits_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    done = tmp_path / "images-built"
    stages = [
        # not built yet while lint runs: it runs alongside; built before molecule starts
        Stage("lint", "lint", ("sh", "-c", f"test ! -e {done}"), tmp_path),
        Stage("molecule", "molecule", ("test", "-e", str(done)), tmp_path),
    ]
    monkeypatch.setattr(testrun, "build_stages", lambda root, report_dir: stages)
    assert testrun.main(["--root", str(tmp_path), "--alongside", f"sleep 1; touch {done}"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "3 passed, 0 failed, 0 skipped"


def test_a_failed_alongside_command_stops_before_molecule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stages = [
        Stage("lint", "lint", ("true",), tmp_path),
        Stage("molecule", "molecule", ("true",), tmp_path),
    ]
    monkeypatch.setattr(testrun, "build_stages", lambda root, report_dir: stages)
    assert testrun.main(["--root", str(tmp_path), "--alongside", "echo no docker here; exit 3"]) == 1
    out = capsys.readouterr().out
    assert "no docker here" in out
    assert out.splitlines()[-1] == "1 passed, 1 failed, 1 skipped"


def test_alongside_is_not_started_without_molecule_stages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "started"
    stages = [Stage("lint", "lint", ("true",), tmp_path)]
    monkeypatch.setattr(testrun, "build_stages", lambda root, report_dir: stages)
    assert testrun.main(["--root", str(tmp_path), "--alongside", f"touch {marker}"]) == 0
    assert not marker.exists()


def test_parallel_stages_run_two_at_a_time_and_keep_their_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stages = [
        Stage(f"role{i}", "molecule", ("sh", "-c", f"sleep 1; echo out-of-role{i}"), tmp_path, parallel=True)
        for i in range(4)
    ] + [Stage("full-stack", "molecule", ("true",), tmp_path)]
    monkeypatch.setattr(testrun, "build_stages", lambda root, report_dir: stages)
    began = time.monotonic()
    assert testrun.main(["--root", str(tmp_path)]) == 0
    assert time.monotonic() - began < 3.5  # four 1 s stages, two at a time: about 2 s
    out = capsys.readouterr().out
    for i in range(4):
        assert f"out-of-role{i}" in out  # each kept log is printed whole
    table = out.split("--- summary ---")[1].splitlines()[:-1]  # the rows, not the closing line
    assert [line.split()[-1] for line in table if "passed" in line] == ["role0", "role1", "role2", "role3",
                                                                         "full-stack"]
    assert out.splitlines()[-1] == "5 passed, 0 failed, 0 skipped"


def test_a_long_stage_has_a_lane_of_its_own_and_the_others_keep_two_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started = tmp_path / "started"
    started.mkdir()
    # each stage notes how many others ran when it started
    def stage(name: str, seconds: int, lane: bool = False) -> Stage:
        return Stage(name, "molecule", ("sh", "-c", f"ls {started} | wc -l > {tmp_path}/{name}.beside; "
                                        f"touch {started}/{name}; sleep {seconds}; rm {started}/{name}"),
                     tmp_path, parallel=True, lane=lane)
    stages = [stage("galera", 2, lane=True), *(stage(f"role{i}", 1) for i in range(4)),
              Stage("full-stack", "molecule", ("true",), tmp_path)]
    monkeypatch.setattr(testrun, "build_stages", lambda root, report_dir: stages)
    began = time.monotonic()
    assert testrun.main(["--root", str(tmp_path)]) == 0
    # the long one beside two at a time: about 2 s (two lanes alone: about 3 s)
    assert time.monotonic() - began < 2.8
    assert max(int((tmp_path / f"role{i}.beside").read_text()) for i in range(4)) <= 2
    assert capsys.readouterr().out.splitlines()[-1] == "6 passed, 0 failed, 0 skipped"


def test_a_failed_parallel_stage_starts_no_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stages = [
        Stage("long", "molecule", ("sh", "-c", "sleep 1"), tmp_path, parallel=True),
        Stage("bad", "molecule", ("false",), tmp_path, parallel=True),
        Stage("later", "molecule", ("true",), tmp_path, parallel=True),
        Stage("full-stack", "molecule", ("true",), tmp_path),
    ]
    monkeypatch.setattr(testrun, "build_stages", lambda root, report_dir: stages)
    assert testrun.main(["--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    # the running one finishes, the failed one counts, the rest is not run
    assert out.splitlines()[-1] == "1 passed, 1 failed, 2 skipped"
    assert "not run (an earlier stage failed): later" in out


def test_marked_role_scenarios_start_first_and_timed_ones_run_alone(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "roles/zeta/molecule/default/molecule.yml").write_text("---\n# heroes-test: long\n")
    (root / "roles/alpha/molecule/default/molecule.yml").write_text("---\n# heroes-test: alone\n")
    assert [cwd.name for _, cwd in testrun.find_scenarios(root)] == ["zeta", "alpha", root.name]
    stages = testrun.build_stages(root, tmp_path / "r")
    molecule = {s.name: (s.parallel, s.lane) for s in stages if s.argv[0] == "molecule"}
    assert molecule == {"molecule test zeta/default": (True, True),
                        "molecule test alpha/default": (False, False),
                        "molecule test molecule/full-stack": (False, False)}


def test_failed_cases_name_each_failure_with_the_first_line_of_its_message(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text(JUNIT.replace('message="fixture"', 'message="fixture db&#10;line two"'))
    assert testrun.failed_cases(report) == ("bad: assert 1 == 2", "err: fixture db")
    assert testrun.failed_cases(report, width=10) == ("bad: as...", "err: fi...")


def test_the_table_names_the_failed_cases_before_the_closing_line(capsys: pytest.CaptureFixture[str]) -> None:
    stage = Stage("molecule test x", "molecule", ("true",), Path())
    testrun.print_table([Result(stage, 1, 1.0, 3, 1, 0, ("test_y: assert 1 == 0",))], [])
    out = capsys.readouterr().out
    assert "  failed in molecule test x: test_y: assert 1 == 0\n" in out
    assert out.index("failed in") < out.index("total ")
