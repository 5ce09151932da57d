"""requirements.yml stays true: the collections bundled with the pinned `ansible` package
satisfy the ranges it gives to users who install from Galaxy, and every collection the
repository's YAML names is listed there."""

from __future__ import annotations

import json
import re
import subprocess

import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.conftest import ROOT


def requirements() -> dict[str, str]:
    data = yaml.safe_load((ROOT / "requirements.yml").read_text())
    return {c["name"]: c["version"] for c in data["collections"]}


def installed() -> dict[str, str]:
    out = subprocess.run(
        ["ansible-galaxy", "collection", "list", "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    found: dict[str, str] = {}
    for collections in json.loads(out).values():
        for name, info in collections.items():
            found.setdefault(name, info["version"])
    return found


def test_bundled_collections_satisfy_requirements() -> None:
    have = installed()
    for name, spec in requirements().items():
        assert name in have, f"{name} is not installed"
        assert Version(have[name]) in SpecifierSet(spec), f"{name} {have[name]} not in {spec}"


def test_every_collection_used_is_required() -> None:
    used: set[str] = set()
    pattern = re.compile(r"\b((?:ansible\.(?:posix|utils)|community\.[a-z_]+))\.[a-z_]+")
    for path in [
        *ROOT.glob("roles/**/*.yml"),
        *ROOT.glob("playbooks/**/*.yml"),
        *ROOT.glob("inventory/**/*.yml"),
        *ROOT.glob("molecule/**/*.yml"),
    ]:
        used.update(m.group(1) for m in pattern.finditer(path.read_text()))
    missing = used - set(requirements())
    assert not missing, f"used but not in requirements.yml: {sorted(missing)}"
