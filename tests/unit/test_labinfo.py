from __future__ import annotations

from typing import Any

from heroes_infra import labinfo

INVENTORY: dict[str, Any] = {
    "_meta": {
        "hostvars": {
            "db1": {
                "ansible_host": "heroes-lab-{{ inventory_hostname }}",
                "host_address": "172.30.0.11",
                "lab_image": "lab/debian12",
                "lab_network": "heroes-lab",
                "lab_subnet": "172.30.0.0/24",
                "lab_vips": {"database": "172.30.0.20"},
            },
            "web2": {
                "ansible_host": "heroes-lab-{{ inventory_hostname }}",
                "host_address": "172.30.0.32",
                "lab_image": "lab/debian13",
            },
            "client": {
                "ansible_host": "heroes-lab-{{ inventory_hostname }}",
                "host_address": "172.30.0.100",
                "lab_image": "lab/debian12",
            },
        }
    },
    "all": {"children": ["ungrouped", "galera", "web", "lab_client"]},
    "galera": {"hosts": ["db1"]},
    "web": {"hosts": ["web2"], "children": ["mirror"]},
    "mirror": {"hosts": ["web2"]},
    "lab_client": {"hosts": ["client"]},
}


def test_groups_follow_children() -> None:
    groups = labinfo.host_groups(INVENTORY)
    assert groups["web2"] == ["mirror", "web"]
    assert groups["db1"] == ["galera"]


def test_hosts_sorted_by_address_with_rendered_container_names() -> None:
    hosts = labinfo.lab_hosts(INVENTORY)
    assert [h.name for h in hosts] == ["db1", "web2", "client"]
    assert hosts[0].container == "heroes-lab-db1"
    assert hosts[1].image == "lab/debian13"


def test_render_shows_state_vips_and_how_to_get_a_shell() -> None:
    text = labinfo.render(INVENTORY, {"heroes-lab-db1": "running"})
    assert "heroes-lab (172.30.0.0/24)" in text
    db1 = next(line for line in text.splitlines() if line.startswith("db1 "))
    assert "172.30.0.11" in db1 and "running" in db1 and "galera" in db1
    assert "172.30.0.20" in text
    assert "docker exec -it heroes-lab-db1 bash" in text
    assert "make lab-down" in text
