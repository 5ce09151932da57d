"""How the full-stack tests run a playbook on the scenario's inventory, and what they say when
one fails: ``why(run)`` puts the failed tasks first, so that the first line of an assertion's
message (what heroes-test's summary and so the end of a CI log show) names the task, the host
and the module's message, not a cut through the middle of the output."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
_TASK = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(?P<name>.*)\] \**$")
_FAILED = re.compile(r"^(?:fatal|failed): \[(?P<host>[^\]]+)\](?::? (?P<how>FAILED!|UNREACHABLE!))?"
                     r"(?: \((?P<item>item=.*?)\))? =>(?P<result>.*)$")


def inventory() -> Path:
    return Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent


def playbook(path: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """ansible-playbook <args> <path> on the scenario's inventory, from the repository's root;
    ``env`` adds to (or overrides) the environment."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_FORCE_COLOR": "0", **(env or {})}
    return subprocess.run(["ansible-playbook", "-i", str(inventory()), *args, str(ROOT / path)],
                          capture_output=True, text=True, cwd=ROOT, env=env, check=False)


def playbook_stopped_at(path: str, marker: str, *args: str, env: dict[str, str] | None = None) -> str:
    """ansible-playbook as playbook() runs it, killed with its whole process group (SIGKILL: a
    controller or a session lost, nothing cleaned up) as soon as a line of its output starts with
    ``marker``; returns its output until then. Fails if the run ends before the marker."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_FORCE_COLOR": "0", **(env or {})}
    proc = subprocess.Popen(["ansible-playbook", "-i", str(inventory()), *args, str(ROOT / path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env,
                            start_new_session=True)
    assert proc.stdout is not None
    seen: list[str] = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith(marker):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return "".join(seen)
    proc.wait()
    raise AssertionError(f"the run ended (rc {proc.returncode}) before '{marker}':\n{''.join(seen)[-3000:]}")


def _message(result: str) -> str:
    """The module's message from a result printed as JSON, or as the YAML block that the
    repository's callback_result_format = yaml prints on the lines after 'FAILED! =>'."""
    try:
        parsed = json.loads(result) if result.lstrip().startswith("{") else yaml.safe_load(result)
    except (json.JSONDecodeError, yaml.YAMLError):
        parsed = None
    if not isinstance(parsed, dict):
        return " ".join(result.split())[:400]
    said = [" ".join(str(parsed[k]).split()) for k in ("msg", "stderr", "module_stderr") if parsed.get(k)]
    return " | ".join(said)[:400] if said else " ".join(result.split())[:400]


def failures(output: str) -> list[str]:
    """'<task> on <host>: <message>' for each task that failed (rescued ones included), in order;
    an ERROR! line of ansible-playbook itself counts too."""
    found: list[str] = []
    task = "(before any task)"
    lines = output.splitlines()
    for number, line in enumerate(lines):
        if (header := _TASK.match(line)) is not None:
            task = header["name"]
        elif (failed := _FAILED.match(line)) is not None:
            result = failed["result"]
            if not result.strip():  # the YAML block follows, indented
                block = []
                for following in lines[number + 1:]:
                    if following.strip() and not following.startswith(" "):
                        break
                    block.append(following)
                result = "\n".join(block)
            where = failed["host"] + (f" ({failed['item']})" if failed["item"] else "")
            unreachable = " (unreachable)" if failed["how"] == "UNREACHABLE!" else ""
            found.append(f"{task} on {where}{unreachable}: {_message(result)}")
        elif line.startswith("ERROR!"):
            found.append(line[:400])
    return found


def why(run: subprocess.CompletedProcess[str], tail: int = 3000) -> str:
    """An assertion message for a run that should have passed: its failed tasks first (one line
    each), then the end of its output."""
    output = run.stdout + run.stderr
    failed = failures(output)
    head = "\n".join(failed) if failed else f"ansible-playbook exited {run.returncode}, no task failed"
    return f"{head}\n--- end of the output ---\n{output[-tail:]}"


def recap(output: str) -> dict[str, dict[str, int]]:
    """The PLAY RECAP's counts per host: {host: {ok, changed, failed, ...}}."""
    result: dict[str, dict[str, int]] = {}
    for line in output.split("PLAY RECAP", 1)[-1].splitlines():
        match = re.match(r"^(\S+)\s+:\s+(ok=\d+.*)$", line)
        if match:
            result[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return result
