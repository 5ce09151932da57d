from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest

from heroes_infra import topology
from tests.conftest import inventory


def test_lab_picture_nests_hosts_in_hypervisors_and_links_peers() -> None:
    source = topology.build(inventory("lab"), "lab").source
    assert "lab: no failure-domain finding" in source
    assert "subgraph cluster_hv_hv_a {" in source
    # db1 is drawn inside hv-a's box, and hv-a feeds two UPS
    hv_a = source.split("subgraph cluster_hv_hv_a {", 1)[1].split("}", 1)[0]
    assert "host_db1" in hv_a and "host_db2" not in hv_a
    assert "hv_hv_a -- ups_ups_1" in source and "hv_hv_a -- ups_ups_2" in source
    # the Galera peers are linked and labelled with their group
    assert "host_db1 -- host_db2" in source
    assert "label=galera" in source


def test_a_refused_design_is_drawn_red() -> None:
    lab = copy.deepcopy(inventory("lab"))
    for hv in lab["_meta"]["hostvars"].values():
        hv["failure_domain_hypervisors"]["hv-b"]["power"] = [
            {"feed": "a", "ups": "ups-1"},
            {"feed": "b", "ups": "ups-1"},
        ]
    source = topology.build(lab, "lab").source
    assert "1 failure-domain finding(s)" in source
    node = source.split("hv_hv_b [", 1)[1].split("]", 1)[0]
    assert "color=red" in node
    # a host in a shared rack is flagged itself
    for hv in lab["_meta"]["hostvars"].values():
        hv["failure_domain_hypervisors"]["hv-b"]["rack"] = "r1"
    source = topology.build(lab, "lab").source
    node = source.split("host_db2 [", 1)[1].split("]", 1)[0]
    assert "color=red" in node


def test_vips_are_linked_to_their_group() -> None:
    lab = copy.deepcopy(inventory("lab"))
    for hv in lab["_meta"]["hostvars"].values():
        hv["heroes_vips"] = [{"name": "database", "address": "172.30.0.20", "group": "vrrp_db"}]
    source = topology.build(lab, "lab").source
    assert "VIP database" in source
    assert "vip_database -- host_lb1" in source and "vip_database -- host_lb2" in source


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is installed by make (host-deps)")
def test_render_writes_svg_and_png(tmp_path: Path) -> None:
    written = topology.render(inventory("production"), "production", tmp_path / "topo")
    assert [p.suffix for p in written] == [".svg", ".png"]
    assert "<svg" in written[0].read_text()
    assert written[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_marked_domain_draws_its_drain_plan() -> None:
    source = topology.build(inventory("lab"), "lab", mark="hypervisor:hv-b").source
    assert "drain of hypervisor=hv-b: 3 host(s) down, allowed" in source
    hv_b = source.split("subgraph cluster_hv_hv_b {", 1)[1].split("host_", 1)[0]
    assert topology.MARK in hv_b
    for host in ("db2", "web1", "legacy1"):
        node = source.split(f"host_{host} [", 1)[1].split("]", 1)[0]
        assert "DOWN in the drain" in node and topology.MARK in node
    assert "DOWN in the drain" not in source.split("host_db1 [", 1)[1].split("]", 1)[0]
    # the mirror VIP moves to web2
    assert "vip_mirror -- host_web2 [label=\"moves here from web1\"" in source
    refused = topology.build(inventory("lab"), "lab", mark="hypervisor:hv-a").source
    assert "drain of hypervisor=hv-a: 4 host(s) down, refused: outage" in refused


def test_a_malformed_mark_is_an_error_that_names_the_form(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        topology.main(["-i", "inventory/lab", "-o", "/tmp/never", "--mark", "hv-b"])
    assert "domain must be <type>:<name>" in capsys.readouterr().err
