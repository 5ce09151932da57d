"""Bad input to the firewall role fails before anything changes, naming the variable.

Run against the controller in check mode with facts off, as the other roles' input tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.roles.test_common_input import run_role


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"firewall_input_policy": "maybe"}, "value of firewall_input_policy must be one of: drop, reject"),
        ({"firewall_log_prefix": "x\"; flush ruleset"}, "firewall_log_prefix at most 64 letters"),
        ({"firewall_ssh_from": ["anywhere"]}, "firewall_ssh_from: 'anywhere' is no address or network"),
        ({"firewall_rules": [{"name": "web", "ports": [70000], "from": ["10.0.0.0/8"]}]},
         "firewall_rules[0] (web): ports must be port numbers (1-65535)"),
        ({"firewall_rules_tier": [{"name": "web", "ports": [80], "from": ["nosuchgroup"]}]},
         "firewall_rules_tier[0] (web): 'nosuchgroup' is no inventory group, host, address or network"),
        ({"firewall_rules": [{"name": "web", "ports": [80]}]}, "missing required arguments: from"),
    ],
)
def test_bad_input_fails_naming_the_variable(
        tmp_path: Path, variables: dict[str, object], message: str) -> None:
    proc = run_role(tmp_path, "firewall", variables)
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0, out
    assert message in out, out
    assert "Install nftables" not in out
