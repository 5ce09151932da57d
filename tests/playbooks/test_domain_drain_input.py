"""The domain drain refuses a bad request, and a domain whose loss the failure-domain rules
refuse, on the controller before any host is touched."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import ROOT

PLAYBOOK = ROOT / "playbooks/maintenance/domain-drain.yml"
LAB = ROOT / "inventory/lab"
SHARED_RACKS = ROOT / "tests/fixtures/inventory-shared-racks"


def run(inventory: os.PathLike[str], *extra: str) -> tuple[int, str]:
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(inventory), *extra, str(PLAYBOOK)],
        capture_output=True, text=True, cwd=ROOT, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"},
    )
    return proc.returncode, " ".join((proc.stdout + proc.stderr).split())


@pytest.mark.parametrize(
    ("inventory", "extra", "message"),
    [
        (LAB, [], "domain is required: <type>:<name> with a type of site, rack, hypervisor, ups or feed"),
        (LAB, ["-e", "domain=hv-b"],
         "domain must be <type>:<name> with a type of site, rack, hypervisor, ups, feed, e.g. "
         "-e domain=hypervisor:hv-a; got 'hv-b'"),
        (LAB, ["-e", "domain=hypervisor:hv-b", "-e", "action=up"],
         "action must be 'drain' (the default) or 'restore', got 'up'"),
        (LAB, ["-e", "domain=hypervisor:hv-x"],
         "no host of the inventory is in hypervisor=hv-x; the hypervisor names it knows: hv-a, hv-b, hv-c"),
        # app1 is Matomo's only host
        (LAB, ["-e", "domain=hypervisor:hv-a"],
         "[outage] service matomo: every member (app1) goes down with hypervisor=hv-a; accept the outage "
         "with -e domain_drain_accept_outage=matomo"),
        (LAB, ["-e", "domain=hypervisor:hv-a", "-e", "domain_drain_accept_outage=matomo,piwik"],
         "domain_drain_accept_outage names piwik, which is not a service of maintenance_services"),
        # two of the three Galera nodes in one rack
        (SHARED_RACKS, ["-e", "domain=rack:r1"],
         "[majority] group galera: losing rack=r1 takes db1, db2 down and leaves 1 of 3, no majority"),
        # both balancers in one rack
        (SHARED_RACKS, ["-e", "domain=rack:r2", "--check"],
         "[survive] group vrrp_db: every member (lb1, lb2) dies with rack=r2"),
    ],
)
def test_a_bad_request_or_a_refused_domain_stops_before_any_host(
    inventory: os.PathLike[str], extra: list[str], message: str
) -> None:
    rc, out = run(inventory, *extra)
    assert rc != 0
    assert message in out, out[-3000:]
    assert "othing was changed" in out or "nothing will be changed" in out
    # the plays that act on hosts never started
    assert "Find which of the domain's hosts run" not in out

