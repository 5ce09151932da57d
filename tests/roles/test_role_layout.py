"""Every role keeps the house layout: prefixed defaults documented in argument_specs and the
README, handlers, templates headed with the ansible_managed comment, per-family vars and a
molecule scenario verified with testinfra."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

ROLES = sorted(p for p in (ROOT / "roles").iterdir() if (p / "tasks" / "main.yml").exists())


def role_ids() -> list[str]:
    return [r.name for r in ROLES]


def load(path: Path) -> dict[str, object]:
    data = yaml.safe_load(path.read_text()) or {}
    assert isinstance(data, dict), path
    return data


def test_there_are_roles() -> None:
    assert ROLES


@pytest.mark.parametrize("role", ROLES, ids=role_ids())
def test_required_files(role: Path) -> None:
    for rel in (
        "defaults/main.yml",
        "meta/main.yml",
        "meta/argument_specs.yml",
        "handlers/main.yml",
        "README.md",
        "vars/Debian.yml",
        "vars/Suse.yml",
        "molecule/default/molecule.yml",
        "molecule/default/converge.yml",
    ):
        assert (role / rel).is_file(), f"{role.name}: {rel} is missing"
    assert list((role / "molecule/default/tests").glob("test_*.py")), f"{role.name}: no testinfra tests"


@pytest.mark.parametrize("role", ROLES, ids=role_ids())
def test_defaults_prefixed_specified_and_documented(role: Path) -> None:
    defaults = load(role / "defaults/main.yml")
    spec = load(role / "meta/argument_specs.yml")["argument_specs"]
    assert isinstance(spec, dict)
    # main's options, and those of the other entry points (a default only they read, such as the
    # matomo role's matomo_piwik of its entry point piwik)
    options = {name: option for entry in spec.values()
               for name, option in (entry.get("options") or {}).items()}
    options.update(spec["main"]["options"])
    readme = (role / "README.md").read_text()
    for name, value in defaults.items():
        assert name.startswith(f"{role.name}_"), f"{role.name}: {name} lacks the role prefix"
        assert name in options, f"{role.name}: {name} is not in meta/argument_specs.yml"
        assert options[name].get("default") == value, f"{role.name}: {name} default differs in the spec"
        assert name in readme, f"{role.name}: {name} is not documented in README.md"


@pytest.mark.parametrize("role", ROLES, ids=role_ids())
def test_private_vars_use_double_underscore(role: Path) -> None:
    for path in (role / "vars").glob("*.yml"):
        for name in load(path):
            assert name.startswith(f"__{role.name}_"), f"{path.relative_to(ROOT)}: {name}"


@pytest.mark.parametrize("role", ROLES, ids=role_ids())
def test_templates_carry_the_managed_header(role: Path) -> None:
    for template in (role / "templates").rglob("*.j2"):
        lines = template.read_text().splitlines()
        if template.name.endswith(".ini.php.j2"):
            # Matomo's INI files: the PHP guard stays first, and PHP's INI reader takes ';' comments only
            assert lines[0] == "; <?php exit; ?> DO NOT REMOVE THIS LINE", template.relative_to(ROOT)
            assert lines[1] == "{{ ansible_managed | comment(decoration='; ') }}", template.relative_to(ROOT)
            continue
        # a script keeps its #! line first; the header follows it
        first = lines[1] if lines[0].startswith("#!") else lines[0]
        # formats read by PHP's INI parser (PHP-FPM pools) take ';' comments only
        headers = ("{{ ansible_managed | comment }}", "{{ ansible_managed | comment(decoration='; ') }}")
        assert first in headers, template.relative_to(ROOT)


@pytest.mark.parametrize("role", ROLES, ids=role_ids())
def test_no_meta_dependencies(role: Path) -> None:
    assert load(role / "meta/main.yml").get("dependencies", []) == []
