"""Ansible callback: what a `--check --diff` run would change, per host, as JSON for heroes-plan.

Enabled by heroes-plan (src/heroes_infra/plan.py), which runs the playbook with it and turns its
file into the plan a reviewer reads. Not an output callback: the run prints as usual.

It records, for each host, every task that reports a change (role, module, whether it is a
handler, its diffs; a service module's name and state: what would be restarted, reloaded,
started or stopped), every failure, the recap, and what roles publish with
``ansible.builtin.set_stats`` under ``heroes_plan_services`` (the restarts a role makes itself,
e.g. the galera role's one-at-a-time, drained restart). Every value of a ``vault_*`` variable
or of a secret-named one (heroes_infra.secrets_check's rule) is masked before anything is
written, and so is every value a diff line sets to a secret-named key (an old secret).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from ansible import context
from ansible.playbook.handler import Handler
from ansible.plugins.callback import CallbackBase
from ansible.template import Templar

_SRC = Path(__file__).resolve().parents[2] / "src"
if str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

from heroes_infra.plan import (  # noqa: E402
    PUBLISHED_KEY,
    is_secret_name,
    mask,
    mask_assignments,
    secret_strings,
)

DOCUMENTATION = """
    name: heroes_plan
    type: notification
    short_description: writes what a --check --diff run would change, for heroes-plan
    description:
      - Per host, the tasks that report a change, their diffs, the services they would restart or
        reload, the failures, and the restarts roles publish under heroes_plan_services
        (set_stats); secrets masked. heroes-plan reads the file.
    requirements:
      - enabled in callbacks_enabled (heroes-plan does it)
    options:
      path:
        description: where to write the JSON
        env:
          - name: HEROES_PLAN_JSON
        default: heroes-plan.json
"""

_SERVICE_ACTIONS = {
    f"{prefix}{name}"
    for prefix in ("", "ansible.builtin.", "ansible.legacy.")
    for name in ("service", "systemd", "systemd_service")
} | {"galera_service"}  # the galera role's own start/stop/restart (roles/galera/library), same arguments


class CallbackModule(CallbackBase):  # type: ignore[misc]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "heroes_plan"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._playbook = ""
        self._secrets: set[str] = set()
        self._seen_hosts: set[str] = set()
        self._events: list[dict[str, Any]] = []
        self._blind = ""  # why no diff is kept, when the secrets could not be read

    def v2_playbook_on_start(self, playbook: Any) -> None:
        self._playbook = str(playbook._file_name)

    def v2_playbook_on_play_start(self, play: Any) -> None:
        """Collect the secrets of the play's hosts before any of their tasks reports; if they
        cannot be read, no diff is kept from then on (the plan says why)."""
        try:
            self._collect_secrets(play)
        except Exception as error:  # a callback must not stop the run; it stops showing diffs
            self._blind = f"the secrets of play '{play.get_name()}' could not be read ({error})"

    def _collect_secrets(self, play: Any) -> None:
        manager = play.get_variable_manager()
        for host in manager._inventory.get_hosts(play.hosts):
            if host.name in self._seen_hosts:
                continue
            self._seen_hosts.add(host.name)
            variables = manager.get_vars(play=play, host=host)
            templar = Templar(loader=play.get_loader(), variables=variables)
            for name in list(variables):
                if not is_secret_name(name):
                    continue
                try:
                    value = templar.template(variables[name])
                except Exception:  # an undefined or broken secret is not in any output either
                    continue
                self._secrets.update(secret_strings(value))

    def _mask(self, text: str) -> str:
        return mask(text, self._secrets)

    def _record(self, result: Any, status: str) -> None:
        task = result.task
        data = result.result
        event: dict[str, Any] = {
            "host": result.host.get_name(),
            "task": self._mask(task.get_name()),
            "action": task.action,
            "handler": isinstance(task, Handler),
            "status": status,
            "hidden": bool(task.no_log) or "censored" in data,
        }
        if status == "changed" and not event["hidden"]:
            items = data.get("results") if isinstance(data.get("results"), list) else [data]
            diffs = [item["diff"] for item in items if isinstance(item, dict) and item.get("diff")]
            event["diffs"] = [] if self._blind else [
                mask_assignments(self._mask(self._get_diff(diff))) for diff in diffs]
            # diff: false, as on the files that hold a secret; or every diff, when blind
            event["diff_withheld"] = task.diff is False or bool(self._blind and diffs)
            if task.action in _SERVICE_ACTIONS:
                event["services"] = [
                    {"name": str(args.get("name")), "state": str(args.get("state"))}
                    for item in items
                    if isinstance(item, dict) and item.get("changed")
                    and (args := item.get("invocation", {}).get("module_args", {})).get("state")
                ]
        if status in ("failed", "unreachable"):
            said = data.get("msg") or data.get("stderr") or data.get("censored") or ""
            event["message"] = self._mask(" ".join(str(said).split()))[:500]
        self._events.append(event)

    def v2_runner_on_ok(self, result: Any) -> None:
        if result.result.get("changed"):
            self._record(result, "changed")

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        if not ignore_errors:
            self._record(result, "failed")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats: Any) -> None:
        published = stats.custom.get("_run", {}).get(PUBLISHED_KEY, [])
        plan = {
            "version": 1,
            "playbook": self._playbook,
            "check_mode": bool(context.CLIARGS.get("check")),
            "events": self._events,
            "published": published,
            "warnings": [f"no diff is shown: {self._blind}"] if self._blind else [],
            "recap": {host: stats.summarize(host) for host in sorted(stats.processed)},
        }
        path = Path(str(self.get_option("path")))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(plan, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
