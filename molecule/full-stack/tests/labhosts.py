"""What the full-stack tests of the web tier and the applications share about the lab: its hosts
through the scenario's inventory, the web nodes' addresses and the mirror VIP, the lab vault,
and the lab CA (written on a host so that curl and openssl there verify with it)."""

from __future__ import annotations

import os
import shlex
import subprocess
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


def vault(group: str) -> dict[str, str]:
    """The lab vault of an inventory group (group_vars/<group>/vault.yml), opened."""
    out = subprocess.run(["ansible-vault", "view", str(ROOT / f"inventory/lab/group_vars/{group}/vault.yml")],
                         capture_output=True, text=True, check=True, cwd=ROOT,
                         env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}).stdout
    return dict(yaml.safe_load(out))


def with_ca(host: Host) -> Host:
    host.run(f"printf '%s' {shlex.quote(LAB_CA)} > {CA_FILE}")
    return host
