"""Shared fixtures: the repository root and the inventories as ansible-inventory sees them."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from heroes_infra.labinfo import load_inventory

ROOT = Path(__file__).resolve().parent.parent
INVENTORIES = ("lab", "production")


@cache
def inventory(name: str) -> dict[str, Any]:
    return load_inventory(str(ROOT / "inventory" / name))


def load_file(relative: str, name: str) -> ModuleType:
    """A Python file of the repository that is not in a package (an Ansible module, filter or
    callback, a scenario's helper), loaded by path as Ansible loads it; registered under
    ``name`` in sys.modules (a dataclass in it looks its module up there)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
