"""Balancer maintenance refuses a bad request on the controller, before any host is touched."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import ROOT

PLAYBOOK = ROOT / "playbooks/maintenance/loadbalancer-maintenance.yml"
ONE_HOST = "lb_host must name exactly one host of the inventory"


def run(*extra: str) -> tuple[int, str]:
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(ROOT / "inventory/lab"), *extra, str(PLAYBOOK)],
        capture_output=True, text=True, cwd=ROOT, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"},
    )
    return proc.returncode, " ".join((proc.stdout + proc.stderr).split())


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-e", "lb_host=lb1,lb2", "-e", "lb_action=out"], f"{ONE_HOST}, got 'lb1,lb2'"),
        (["-e", "lb_host=haproxy", "-e", "lb_action=out"], f"{ONE_HOST}, got 'haproxy'"),
        (["-e", "lb_host=lb*", "-e", "lb_action=out"], f"{ONE_HOST}, got 'lb*'"),
        (["-e", "lb_action=out"], "lb_host is required"),
        (["-e", "lb_host=db1", "-e", "lb_action=out"], "lb_host=db1 is not a peer of any entry"),
        (["-e", "lb_host=lb1", "-e", "lb_action=up"], "lb_action must be 'out' or 'in', got 'up'"),
    ],
)
def test_anything_but_one_balancer_is_refused_before_any_host(extra: list[str], message: str) -> None:
    rc, out = run(*extra)
    assert rc != 0
    assert message in out
    assert "Nothing was changed" in out
    # the play that acts on the balancers never started
    assert "Move the virtual IPs off a load balancer" not in out
