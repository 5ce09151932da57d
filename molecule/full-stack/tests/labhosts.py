"""What the full-stack tests of the web tier and the applications share about the lab: its hosts
through the scenario's inventory, the web nodes' addresses and the mirror VIP, and the lab CA
(written on a host so that curl and openssl there verify with it)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

import testinfra
import yaml

ROOT = Path(__file__).resolve().parents[3]
Host = Any
MIRROR_VIP = "172.30.0.30"  # the web nodes' VIP: the mirror, the news site and the status feed
WEBS = {"web1": "172.30.0.31", "web2": "172.30.0.32"}
LAB_CA = yaml.safe_load((ROOT / "inventory/lab/group_vars/all/lab_pki.yml").read_text())["lab_ca_cert"]
CA_FILE = "/usr/local/share/ca-certificates/heroes-lab-ca.crt"


def node(name: str) -> Host:
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}")


def with_ca(host: Host) -> Host:
    host.run(f"printf '%s' {shlex.quote(LAB_CA)} > {CA_FILE}")
    return host
