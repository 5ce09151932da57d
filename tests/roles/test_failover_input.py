"""Bad input to the haproxy and keepalived roles fails before anything changes, naming the variable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.roles.checkrun import LOCAL, check_run

DB_VIP: dict[str, Any] = {"name": "db", "address": "192.0.2.20", "prefix": 24, "group": "haproxy",
                          "interface": "eth0", "router_id": 51, "version": 3, "advert_int": 0.2,
                          "track_service": "haproxy"}


def run(tmp_path: Path, role: str, variables: dict[str, Any], first_change: str) -> str:
    inventory = {
        "galera": {"hosts": {f"db{i}": {"host_address": f"192.0.2.{10 + i}"} for i in (1, 2, 3)}},
        "haproxy": {
            "hosts": {
                "lb1": {"host_address": "192.0.2.21", "failure_domain": {"hypervisor": "hv-a"}},
                "lb2": {"host_address": "192.0.2.22", "failure_domain": {"hypervisor": "hv-b"}},
            },
            "vars": LOCAL,
        },
    }
    good: dict[str, Any] = {"haproxy_stats_password": "a-long-enough-password", "heroes_vips": [DB_VIP]}
    proc = check_run(tmp_path, inventory, "haproxy", role, {**good, **variables})
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0, out
    assert first_change not in out, "validation let the play go on"
    return out


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"haproxy_stats_password": ""}, "haproxy_stats_password must be set (at least 12 characters)"),
        ({"haproxy_galera_writer_order": ["db9"]}, "haproxy_galera_writer_order must list members of galera"),
        ({"haproxy_timeout_queue": "two seconds"}, "haproxy_timeout_* and haproxy_check_interval values"),
        ({"haproxy_galera_group": "nope"}, "haproxy_galera_group ('nope') must name an inventory group"),
        ({"galera_node_address": "db1.example"},
         "members all have galera_node_address or host_address set to an IPv4 address"),
        ({"haproxy_galera_read_backend": "galera_write"}, "must be two different names"),
        ({"haproxy_galera_write_backend": "galera write"}, "got 'galera write' and 'galera_read'"),
        ({"haproxy_admin_socket": "admin.sock"}, "haproxy_admin_socket an absolute path (got 'admin.sock')"),
        # the nodes' inventory (no galera_proxy_protocol_from) does not trust the balancer
        ({"haproxy_galera_proxy_protocol": True},
         "haproxy_galera_proxy_protocol is on, but db1, db2, db3 do not accept the PROXY protocol from lb1 "
         "(192.0.2.21): add it (or its group) to their galera_proxy_protocol_from"),
    ],
)
def test_haproxy_bad_input(tmp_path: Path, variables: dict[str, Any], message: str) -> None:
    assert message in run(tmp_path, "haproxy", variables, "Install HAProxy")


@pytest.mark.parametrize(
    ("vip", "message"),
    [
        ({"address": "198.51.100.20"}, "address 198.51.100.20/24 is outside the subnet of peer lb1"),
        ({"version": 2, "advert_int": 1}, "heroes_vips[db].auth_pass must be 6-8 characters from the vault"),
        ({"router_id": 300}, "heroes_vips[db].router_id must be 1-255"),
    ],
)
def test_keepalived_bad_input(tmp_path: Path, vip: dict[str, Any], message: str) -> None:
    assert message in run(tmp_path, "keepalived", {"heroes_vips": [{**DB_VIP, **vip}]}, "Install keepalived")


def test_keepalived_router_id_used_twice(tmp_path: Path) -> None:
    mirror = {**DB_VIP, "name": "mirror", "address": "192.0.2.30"}
    out = run(tmp_path, "keepalived", {"heroes_vips": [DB_VIP, mirror]}, "Install keepalived")
    assert "heroes_vips[mirror].router_id 51 on eth0 is already used by heroes_vips[db]" in out


def test_keepalived_missing_vault_secret_names_it(tmp_path: Path) -> None:
    vip = {**DB_VIP, "version": 2, "advert_int": 1, "auth_pass": "{{ vault_vrrp_db_auth_pass }}"}
    out = run(tmp_path, "keepalived", {"heroes_vips": [vip]}, "Install keepalived")
    assert "vault_vrrp_db_auth_pass" in out and "undefined" in out
