"""Shared fixtures: the repository root and the inventories as ansible-inventory sees them."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from heroes_infra.labinfo import load_inventory

ROOT = Path(__file__).resolve().parent.parent
INVENTORIES = ("lab", "production")


@cache
def inventory(name: str) -> dict[str, Any]:
    return load_inventory(str(ROOT / "inventory" / name))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
