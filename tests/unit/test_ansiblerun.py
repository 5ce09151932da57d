"""The full-stack tests' playbook runner names the failed task first
(molecule/full-stack/tests/ansiblerun.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import ModuleType

from tests.conftest import load_file

ROOT = Path(__file__).resolve().parents[2]


def load() -> ModuleType:
    return load_file("molecule/full-stack/tests/ansiblerun.py", "ansiblerun")


OUTPUT = """
PLAY [Report and convert non-InnoDB tables] ************************************

TASK [Make the InnoDB twin and the triggers, then copy the rows - heroes_probe.legacy_hits] ***
ok: [db2]

TASK [Compare the two tables row by row - heroes_probe.legacy_hits] ***********
FAILED - RETRYING: [db2]: Compare the two tables row by row - heroes_probe.legacy_hits (9 retries left).
fatal: [db2]: FAILED! => {"attempts": 10, "changed": false, "msg": "until not met", "query_result": []}

TASK [Say what was left as it was - heroes_probe.legacy_hits] ******************
fatal: [db2]: FAILED! => {"changed": false, "msg": "heroes_probe.legacy_hits was not converted"}

PLAY RECAP *********************************************************************
db2                        : ok=9    changed=2    unreachable=0    failed=1    skipped=0    rescued=1
"""


def test_failures_name_each_failed_task_its_host_and_message_in_order() -> None:
    assert load().failures(OUTPUT) == [
        "Compare the two tables row by row - heroes_probe.legacy_hits on db2: until not met",
        "Say what was left as it was - heroes_probe.legacy_hits on db2: "
        "heroes_probe.legacy_hits was not converted",
    ]


def test_why_puts_the_failed_task_on_the_first_line_and_keeps_the_end() -> None:
    run = subprocess.CompletedProcess(["ansible-playbook"], 2, OUTPUT, "")
    message = load().why(run)
    first = message.splitlines()[0]
    assert first.startswith("Compare the two tables row by row - heroes_probe.legacy_hits on db2")
    assert message.rstrip().endswith("rescued=1")


def test_why_says_so_when_no_task_failed() -> None:
    run = subprocess.CompletedProcess(["ansible-playbook"], 4, "PLAY RECAP\n",
                                      "ERROR! the playbook could not be found\n")
    assert load().why(run).splitlines()[0] == "ERROR! the playbook could not be found"
    quiet = subprocess.CompletedProcess(["ansible-playbook"], 1, "", "")
    assert load().why(quiet).splitlines()[0] == "ansible-playbook exited 1, no task failed"


def test_loop_items_unreachable_hosts_and_results_that_are_not_json() -> None:
    output = ("TASK [x] ***\nfatal: [db1]: UNREACHABLE! => {\"msg\": \"ssh\"}\n"
              "failed: [db2] (item=a) => {\"msg\": \"bad a\"}\nfatal: [db3]: FAILED! => not json\n")
    assert load().failures(output) == [
        "x on db1 (unreachable): ssh", "x on db2 (item=a): bad a", "x on db3: not json"]


YAML_OUTPUT = """
TASK [Make the InnoDB twin and the triggers, then copy the rows - heroes_probe.legacy_hits] ***
[ERROR]: Task failed: Module failed: Cannot execute SQL 'CREATE TRIGGER ...'
Origin: /work/main/playbooks/maintenance/tasks/myisam-convert-table.yml:67:7

fatal: [db2]: FAILED! =>
    changed: false
    msg: 'Cannot execute SQL ''CREATE TRIGGER `t_ad` AFTER DELETE
        ON `legacy_hits` FOR EACH ROW'' args [None]: (1064, "Unknown trigger has an error in its body")'

PLAY RECAP *********************************************************************
""".replace("=>\n", "=> \n")  # ansible prints a space after the arrow


def test_the_yaml_result_format_of_ansible_cfg_is_read_too() -> None:
    assert load().failures(YAML_OUTPUT) == [
        "Make the InnoDB twin and the triggers, then copy the rows - heroes_probe.legacy_hits on db2: "
        "Cannot execute SQL 'CREATE TRIGGER `t_ad` AFTER DELETE ON `legacy_hits` FOR EACH ROW' args [None]: "
        "(1064, \"Unknown trigger has an error in its body\")"]
