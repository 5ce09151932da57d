"""The reviewers' plan (heroes_infra.plan and plugins/callback/heroes_plan.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from heroes_infra import plan as heroes_plan
from heroes_infra.plan import (
    DASH,
    MASK,
    build,
    host_ranges,
    mask,
    mask_assignments,
    render_markdown,
    render_text,
)
from tests.conftest import load_file


@pytest.mark.parametrize(
    ("hosts", "said"),
    [
        (["db3", "db1", "db2"], f"db1{DASH}db3"),
        (["lb2", "lb1"], "lb1, lb2"),
        (["db1", "db2", "db3", "db5", "web1"], f"db1{DASH}db3, db5, web1"),
        (["app1", "legacy1", "client"], "app1, client, legacy1"),
        (["db10", "db9", "db8"], f"db8{DASH}db10"),
        ([], ""),
    ],
)
def test_host_ranges(hosts: list[str], said: str) -> None:
    assert host_ranges(hosts) == said


def test_mask_writes_every_secret_as_stars_a_pem_key_line_by_line_and_a_short_one_as_a_word() -> None:
    key = ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nbm90IGEga2V5IGF0IGFsbA==\n"
           "-----END PRIVATE KEY-----")
    text = (
        "password=s3cr3t-value\n"
        "+MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
        "-bm90IGEga2V5IGF0IGFsbA==\n"
        "pin=abc and abcdef\n"
    )
    masked = mask(text, ["s3cr3t-value", key, "abc", ""])
    assert "s3cr3t-value" not in masked
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in masked
    assert "bm90IGEga2V5IGF0IGFsbA==" not in masked
    assert f"password={MASK}" in masked
    # a three-letter secret is masked where it stands alone, not inside another word
    assert f"pin={MASK} and abcdef" in masked


@pytest.mark.parametrize(
    "line",
    ["-password=old-Secret", "+  stats auth admin:old-Secret", "-api_token: old-Secret",
     " auth_pass old-Secret", "-SST_PASSWORD = 'old-Secret'"],
)
def test_a_value_set_to_a_secret_named_key_is_masked(line: str) -> None:
    masked = mask_assignments(line)
    assert "old-Secret" not in masked and masked.endswith(MASK), masked


def test_other_lines_are_left_alone() -> None:
    text = "-max_connections = 200\n+max_connections = 300\n user=app"
    assert mask_assignments(text) == text


def _raw(**extra: Any) -> dict[str, Any]:
    recap = {name: {"ok": 10, "changed": 0, "failures": 0, "unreachable": 0}
             for name in ("app1", "db1", "db2", "db3", "lb1", "lb2")}
    return {"version": 1, "playbook": "playbooks/site.yml", "check_mode": True, "events": [],
            "published": [], "recap": recap, **extra}


def _galera_change() -> dict[str, Any]:
    events = [
        {"host": db, "task": "galera : Write the server configuration", "action": "ansible.builtin.template",
         "handler": False, "status": "changed", "hidden": False,
         "diffs": ["--- before: /etc/mysql/x.cnf\n+++ after: x.cnf.j2\n-max_connections = 200\n"
                   "+max_connections = 300\n"]}
        for db in ("db1", "db2", "db3")
    ] + [
        {"host": lb, "task": "haproxy : Reload haproxy", "action": "ansible.builtin.systemd_service",
         "handler": True, "status": "changed", "hidden": False, "diffs": [],
         "services": [{"name": "haproxy.service", "state": "reloaded"}]}
        for lb in ("lb1", "lb2")
    ] + [
        {"host": "app1", "task": "common : Restart journald", "action": "ansible.builtin.systemd_service",
         "handler": True, "status": "changed", "hidden": False, "diffs": [],
         "services": [{"name": "systemd-journald", "state": "restarted"}]},
        {"host": "app1", "task": "matomo : Write the database password", "action": "ansible.builtin.copy",
         "handler": False, "status": "changed", "hidden": True},
    ]
    published = [{"host": db, "service": "mariadb", "action": "restarted", "one_at_a_time": True,
                  "drained": True, "balancers": ["lb1", "lb2"]} for db in ("db2", "db3", "db1")]
    return _raw(events=events, published=published)


def test_a_galera_option_change_says_the_nodes_restart_one_at_a_time_drained() -> None:
    plan = build(_galera_change())
    assert plan.complete
    assert plan.changed_hosts == ["app1", "db1", "db2", "db3", "lb1", "lb2"]
    lines = plan.service_lines()
    assert (f"db1{DASH}db3", "mariadb", "restarted one at a time, drained (on lb1, lb2)") in lines
    assert ("lb1, lb2", "haproxy", "reloaded") in lines
    assert ("app1", "systemd-journald", "restarted at once, not drained") in lines
    text = render_text(plan, "Plan: test")
    assert f"  db1{DASH}db3: mariadb restarted one at a time, drained (on lb1, lb2)" in text
    assert "+max_connections = 300" in text
    assert "(no_log: the task's output and diff are hidden)" in text
    assert "6 of 6 hosts would change" in text
    markdown = render_markdown(plan, "Plan: test")
    assert f"| db1{DASH}db3 | mariadb | restarted one at a time, drained (on lb1, lb2) |" in markdown
    assert markdown.count("<details>") == 6
    as_json = plan.to_json()
    assert as_json["services"][0]["hosts"] in {f"db1{DASH}db3", "app1", "lb1, lb2"}
    assert as_json["hosts"]["db2"]["services"][0]["kind"].startswith("restarted one at a time, drained")


def test_no_change_says_so_and_lists_no_service() -> None:
    plan = build(_raw())
    assert plan.complete and plan.changed_hosts == []
    text = render_text(plan, "Plan: test")
    assert "No host would change (6 checked)." in text
    assert "Services restarted, reloaded, started or stopped:\n  none" in text
    assert f"No change: app1, db1{DASH}db3, lb1, lb2" in text


def test_a_warning_of_the_callback_is_in_every_form_of_the_plan() -> None:
    plan = build(_raw(warnings=["no diff is shown: the secrets of play 'x' could not be read (boom)"]))
    assert "WARNING: no diff is shown: the secrets of play 'x'" in render_text(plan, "Plan: test")
    assert "**Warning**: no diff is shown" in render_markdown(plan, "Plan: test")
    assert plan.to_json()["warnings"] == plan.warnings


def test_a_failed_task_makes_the_plan_incomplete_and_names_it() -> None:
    raw = _raw(events=[{"host": "db2", "task": "galera : Check the cluster", "action": "command",
                        "handler": False, "status": "failed", "hidden": False, "message": "no quorum"}])
    raw["recap"]["db2"]["failures"] = 1
    plan = build(raw)
    assert not plan.complete
    text = render_text(plan, "Plan: test")
    assert text.splitlines()[1].startswith("THE PLAN IS INCOMPLETE")
    assert "  db2: galera : Check the cluster: failed: no quorum" in text


# --- the callback, on a real ansible-playbook run (local connection) ---

PLAYBOOK = """\
- name: A plan's test
  hosts: all
  gather_facts: false
  tasks:
    - name: Write a file that carries the secret
      ansible.builtin.copy:
        dest: "{{ target }}"
        content: "user=app\\npassword={{ app_password }}\\nlimit={{ limit }}\\n"
        mode: "0600"
      register: written
      notify: Say it changed
    - name: A withheld diff
      ansible.builtin.copy:
        dest: "{{ target }}.withheld"
        content: "{{ limit }}"
        mode: "0600"
      diff: false
    - name: A hidden change
      ansible.builtin.copy:
        dest: "{{ target }}.hidden"
        content: "{{ vault_app_password }}"
        mode: "0600"
      no_log: true
    - name: Nothing changes here
      ansible.builtin.debug:
        msg: quiet
    - name: Publish a restart
      when: written is changed
      ansible.builtin.set_stats:
        data:
          heroes_plan_services:
            - {host: "{{ inventory_hostname }}", service: demo.service, action: restarted,
               one_at_a_time: true, drained: true, balancers: [lb1]}
  handlers:
    - name: Say it changed
      ansible.builtin.copy:
        dest: "{{ target }}.marker"
        content: changed
        mode: "0600"
"""


def _run_plan(tmp_path: Path, *, current: bool = False) -> tuple[int, Path, Path]:
    """The plan of PLAYBOOK on a local host whose file holds the old secret (or, ``current``,
    already what the playbook writes)."""
    target = tmp_path / "app.conf"
    password = "new-Secret-7702" if current else "old-Secret-9431"
    target.write_text(f"user=app\npassword={password}\nlimit=5\n", encoding="utf-8")
    if current:
        Path(f"{target}.hidden").write_text("new-Secret-7702", encoding="utf-8")
        Path(f"{target}.withheld").write_text("5", encoding="utf-8")
        for path in (target, Path(f"{target}.hidden"), Path(f"{target}.withheld")):
            path.chmod(0o600)
    (tmp_path / "play.yml").write_text(PLAYBOOK, encoding="utf-8")
    (tmp_path / "hosts.ini").write_text(
        f"testhost ansible_connection=local ansible_python_interpreter={sys.executable} "
        f"target={target} vault_app_password=new-Secret-7702 app_password='{{{{ vault_app_password }}}}' "
        "limit=5\n",
        encoding="utf-8",
    )
    out = tmp_path / "plan"
    code = heroes_plan.main(["-i", str(tmp_path / "hosts.ini"), "--playbook", str(tmp_path / "play.yml"),
                             "--out", str(out), "--detailed-exitcode"])
    return code, out, target


def test_the_callback_records_a_change_with_its_diff_masked_and_what_a_role_publishes(tmp_path: Path) -> None:
    code, out, target = _run_plan(tmp_path)
    log = (out / "ansible.log").read_text(encoding="utf-8")
    assert code == 2, log[-2000:]
    assert "old-Secret-9431" in target.read_text(encoding="utf-8"), "--check changed the file"
    text = (out / "plan.txt").read_text(encoding="utf-8")
    data = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    for written in (text, json.dumps(data), (out / "plan.md").read_text(encoding="utf-8")):
        assert "new-Secret-7702" not in written
        assert "old-Secret-9431" not in written
    tasks = {t["task"]: t for t in data["hosts"]["testhost"]["tasks"]}
    assert set(tasks) == {"Write a file that carries the secret", "A withheld diff", "A hidden change",
                          "Say it changed"}
    assert tasks["A withheld diff"]["diff_withheld"] is True and tasks["A withheld diff"]["diffs"] == []
    assert "(diff: false: the role keeps this diff out of every output" in text
    assert tasks["Say it changed"]["handler"] is True
    assert tasks["A hidden change"]["hidden"] is True and tasks["A hidden change"]["diffs"] == []
    diff = tasks["Write a file that carries the secret"]["diffs"][0]
    assert f"-password={MASK}" in diff and f"+password={MASK}" in diff, diff
    assert data["services"] == [{"hosts": "testhost", "service": "demo",
                                 "kind": "restarted one at a time, drained (on lb1)"}]
    assert data["changed_hosts"] == ["testhost"] and data["complete"] is True
    assert "testhost: demo restarted one at a time, drained (on lb1)" in text
    assert not (out / "callback.json").exists()


def test_the_callback_says_no_change_when_the_host_is_already_as_written(tmp_path: Path) -> None:
    code, out, _ = _run_plan(tmp_path, current=True)
    text = (out / "plan.txt").read_text(encoding="utf-8")
    assert code == 0, text + (out / "ansible.log").read_text(encoding="utf-8")[-2000:]
    assert "No host would change (1 checked)." in text
    data = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert data["changed_hosts"] == [] and data["services"] == [] and data["complete"] is True


def test_a_playbook_that_cannot_run_gives_exit_3_and_the_end_of_its_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "hosts.ini").write_text("testhost ansible_connection=local\n", encoding="utf-8")
    (tmp_path / "play.yml").write_text("- name: Broken\n  hosts: all\n  tasks: [{no_such_module: {}}]\n",
                                       encoding="utf-8")
    code = heroes_plan.main(["-i", str(tmp_path / "hosts.ini"), "--playbook", str(tmp_path / "play.yml"),
                             "--out", str(tmp_path / "plan")])
    assert code == 3
    assert "did not run" in capsys.readouterr().err


def test_the_callback_keeps_no_diff_once_it_cannot_read_the_secrets(tmp_path: Path) -> None:
    """A play whose variables cannot be read: the run goes on, and no diff is kept from then on."""
    from types import SimpleNamespace

    callback = load_file("plugins/callback/heroes_plan.py", "heroes_plan_callback").CallbackModule()

    def broken() -> None:
        raise RuntimeError("vault locked")

    callback.v2_playbook_on_play_start(SimpleNamespace(get_variable_manager=broken, get_name=lambda: "Base"))
    task = SimpleNamespace(get_name=lambda: "common : Write x", action="ansible.builtin.copy", no_log=False,
                           diff=None)
    result = SimpleNamespace(
        task=task, host=SimpleNamespace(get_name=lambda: "db1"),
        result={"changed": True, "diff": {"before": "password=old-Secret\n", "after": "password=new\n"}})
    callback.v2_runner_on_ok(result)
    event = callback._events[0]
    assert event["diffs"] == [] and event["diff_withheld"] is True
    assert "vault locked" in callback._blind


def test_the_galera_roles_own_service_module_is_read_as_a_service() -> None:
    """A join under --check (galera_service, roles/galera/library) is a start the plan names."""
    from types import SimpleNamespace

    callback = load_file("plugins/callback/heroes_plan.py", "heroes_plan_callback").CallbackModule()
    task = SimpleNamespace(get_name=lambda: "galera : Start MariaDB to join - db3", action="galera_service",
                           no_log=False, diff=None)
    args = {"name": "mariadb", "state": "started", "datadir": "/var/lib/mysql", "timeout": 600}
    result = SimpleNamespace(task=task, host=SimpleNamespace(get_name=lambda: "db1"),
                             result={"changed": True, "invocation": {"module_args": args}})
    callback.v2_runner_on_ok(result)
    assert callback._events[0]["services"] == [{"name": "mariadb", "state": "started"}]
