"""Shared fixtures: the repository root and the inventories as ansible-inventory sees them."""

from __future__ import annotations

import json
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
INVENTORIES = ("lab", "production")


@cache
def inventory(name: str) -> dict[str, Any]:
    out = subprocess.run(
        ["ansible-inventory", "-i", str(ROOT / "inventory" / name), "--list"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    data: dict[str, Any] = json.loads(out)
    return data


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
