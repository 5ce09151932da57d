"""Both inventories parse and carry the data the roles and the failure-domain checks need."""

from __future__ import annotations

import copy
import ipaddress
from pathlib import Path
from typing import Any

import pytest

from heroes_infra.failure_domains import check_inventory
from tests.conftest import INVENTORIES, inventory

# Groups the playbooks are written against; both inventories must define them.
GROUPS = ("galera", "haproxy", "vrrp_db", "web", "mirror", "vrrp_mirror", "news", "statusfeed", "matomo")


def hostvars(name: str) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = inventory(name)["_meta"]["hostvars"]
    return result


def members(name: str, group: str) -> set[str]:
    inv = inventory(name)
    found: set[str] = set(inv.get(group, {}).get("hosts", []))
    for child in inv.get(group, {}).get("children", []):
        found |= members(name, child)
    return found


@pytest.mark.parametrize("name", INVENTORIES)
def test_groups_present_and_populated(name: str) -> None:
    for group in GROUPS:
        assert members(name, group), f"{name}: group {group} is empty or missing"


@pytest.mark.parametrize("name", INVENTORIES)
def test_every_host_has_address_and_failure_domain(name: str) -> None:
    for host, hv in hostvars(name).items():
        ipaddress.ip_address(hv["host_address"])
        assert hv["failure_domain"]["hypervisor"] in hv["failure_domain_hypervisors"], host


@pytest.mark.parametrize("name", INVENTORIES)
def test_addresses_unique(name: str) -> None:
    addresses = [hv["host_address"] for hv in hostvars(name).values()]
    assert len(addresses) == len(set(addresses))


@pytest.mark.parametrize("name", INVENTORIES)
def test_three_galera_nodes_on_three_hypervisors(name: str) -> None:
    nodes = members(name, "galera")
    assert len(nodes) == 3
    assert len({hostvars(name)[n]["failure_domain"]["hypervisor"] for n in nodes}) == 3


def test_the_lab_is_refused_when_two_galera_nodes_share_a_hypervisor() -> None:
    # the check really looks at the lab's data, not only at made-up cases
    lab = copy.deepcopy(inventory("lab"))
    lab["_meta"]["hostvars"]["db2"]["failure_domain"]["hypervisor"] = "hv-a"
    report = check_inventory(lab)
    assert any("db1 and db2 share hypervisor=hv-a" in f.message for f in report.findings)


def test_lab_hosts_fit_the_lab_network() -> None:
    hv = hostvars("lab")
    for host, v in hv.items():
        subnet = ipaddress.ip_network(v["lab_subnet"])
        assert ipaddress.ip_address(v["host_address"]) in subnet, host
        assert ipaddress.ip_address(v["host_address"]) != ipaddress.ip_address(v["lab_gateway"]), host
        assert v["lab_image"] in {"lab/debian12", "lab/debian13"}, host
    # both releases are exercised by the lab
    assert {v["lab_image"] for v in hv.values()} == {"lab/debian12", "lab/debian13"}


def test_production_is_not_reached_through_docker() -> None:
    for host, v in hostvars("production").items():
        assert v.get("ansible_connection", "ssh") == "ssh", host


@pytest.mark.parametrize("name", INVENTORIES)
def test_failure_domain_check_accepts_the_inventory(name: str) -> None:
    report = check_inventory(inventory(name))
    assert report.ok, report.render()
    assert not report.overridden


def test_the_full_stack_scenario_has_the_lab_hosts_and_groups() -> None:
    """molecule/full-stack stands for the lab: each platform is in the lab's groups (children
    resolved), and the groups the lab declares without hosts are declared in the scenario's
    linked hosts file (molecule writes only the groups of its platforms)."""
    import yaml

    root = Path(__file__).resolve().parents[2]
    scenario = yaml.safe_load((root / "molecule/full-stack/molecule.yml").read_text())
    lab = inventory("lab")
    groups = [g for g in lab if g not in ("_meta", "all", "ungrouped")]
    for platform in scenario["platforms"]:
        expected = {g for g in groups if platform["name"] in members("lab", g)}
        assert set(platform["groups"]) == expected, platform["name"]
    assert {p["name"] for p in scenario["platforms"]} == members("lab", "all")
    links = scenario["provisioner"]["inventory"]["links"]
    declared = yaml.safe_load((root / "molecule/full-stack" / links["hosts"]).read_text())
    # ansible-inventory leaves empty groups out: read them from the lab's hosts file itself
    def empty(children: dict[str, Any]) -> set[str]:
        found: set[str] = set()
        for group, body in children.items():
            if body is None:  # a reference to a group defined elsewhere
                continue
            if not body.get("hosts") and not body.get("children"):
                found.add(group)
            found |= empty(body.get("children") or {})
        return found
    hosts = yaml.safe_load((root / "inventory/lab/hosts.yml").read_text())
    assert set(declared["all"]["children"]) == empty(hosts["all"]["children"])


def test_the_lab_certificates_are_not_about_to_expire() -> None:
    """The lab's host certificates live a year (Mozilla's profiles want under 366 days): this
    fails 30 days before they expire, naming the command that issues them again."""
    import datetime

    import yaml
    from cryptography import x509

    from tests.conftest import ROOT

    pki = yaml.safe_load((ROOT / "inventory/lab/group_vars/all/lab_pki.yml").read_text())
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)
    for host, pem in pki["lab_tls_certs"].items():
        cert = x509.load_pem_x509_certificate(pem.encode())
        assert cert.not_valid_after_utc > soon, (
            f"the lab certificate of {host} expires on {cert.not_valid_after_utc:%Y-%m-%d}: issue "
            "them again with `.venv/bin/python -m heroes_infra.labpki` and commit the result")
