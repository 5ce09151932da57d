"""Bad input to the mirror role fails before anything changes, naming the variable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.roles.checkrun import LOCAL, check_run

GOOD = {"mirror_server_names": ["mirror.example"], "mirror_tls_certificate": "cert",
        "mirror_tls_private_key": "key", "mirror_upstream": "rsync://upstream.example/pub/"}


def run(tmp_path: Path, variables: dict[str, Any]) -> str:
    proc = check_run(tmp_path, {"mirror": {"hosts": {"web1": {}}, "vars": LOCAL}}, "mirror", "mirror",
                     {**GOOD, **variables})
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0, out
    assert "Install rsync and flock" not in out, "the play went on past the checks"
    return out


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"mirror_upstream": "upstream.example:/pub"},
         "mirror_upstream must be empty or an rsync URL of a directory, "
         "rsync://host[:port]/module/[path/] ending in / (got 'upstream.example:/pub')"),
        ({"mirror_upstream": "rsync://upstream.example/pub"}, "(got 'rsync://upstream.example/pub')"),
        ({"mirror_server_names": []}, "mirror_server_names a non-empty list"),
        ({"mirror_root": "srv/mirror"}, "mirror_root must be an absolute path"),
        ({"mirror_metadata_max_age": "five minutes"}, "mirror_metadata_max_age and mirror_package_max_age"),
    ],
    ids=["not-a-url", "no-trailing-slash", "no-names", "relative-root", "lifetime"],
)
def test_bad_input_fails_before_anything_changes(tmp_path: Path, variables: dict[str, Any],
                                                 message: str) -> None:
    assert message in run(tmp_path, variables)
