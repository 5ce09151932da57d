"""Bad input to the statusfeed role fails before anything changes, naming the variable; the API
token never appears in the output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.roles.checkrun import LOCAL, check_run

GOOD = {"statusfeed_api_url": "https://status.example/api/v1", "statusfeed_site_url": "https://status.example/",
        "statusfeed_public_url": "https://www.example/status/", "statusfeed_api_token": "s3cret-token-value"}


def run(tmp_path: Path, variables: dict[str, Any]) -> str:
    proc = check_run(tmp_path, {"statusfeed": {"hosts": {"web1": {}}, "vars": LOCAL}}, "statusfeed",
                     "statusfeed", {**GOOD, **variables})
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0, out
    assert "Install Python and the feed library" not in out, "the play went on past the checks"
    assert "s3cret-token-value" not in out
    return out


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"statusfeed_api_url": ""}, "statusfeed_api_url must be Cachet's API root such as "
                                      "https://status.example.org/api/v1 (got '')"),
        ({"statusfeed_site_url": "https://status.example"}, "(got 'https://status.example' and"),
        ({"statusfeed_timezone": "Berlin time"}, "statusfeed_timezone an IANA zone such as Europe/Berlin "
                                                 "(got 'Berlin time')"),
        ({"statusfeed_entries": 0}, "statusfeed_entries from 1 to 10000 (got 0)"),
        ({"statusfeed_components": "Mirror"}, "statusfeed_components a list of names or ids (got Mirror)"),
        ({"statusfeed_rss_name": "feed.atom"}, "statusfeed_atom_name and statusfeed_rss_name two different"),
        ({"statusfeed_server_names": ["statusfeed.example"]},
         "with statusfeed_server_names set (got ['statusfeed.example']) statusfeed_tls_certificate and "
         "statusfeed_tls_private_key must be set too"),
        ({"statusfeed_server_names": ["statusfeed.example"], "statusfeed_tls_certificate": "PEM",
          "statusfeed_tls_private_key": "s3cret-token-value", "statusfeed_atom_name": "feed.xml"},
         "the feeds' names must end in .atom and .rss (got 'feed.xml' and 'feed.rss')"),
        ({"statusfeed_max_age": "a while"}, "statusfeed_max_age an nginx time such as 1m (got 'a while')"),
    ],
    ids=["no-api", "site-without-slash", "timezone", "entries", "components", "same-file",
         "vhost-without-certificate", "vhost-feed-extension", "max-age"],
)
def test_bad_input_fails_before_anything_changes(tmp_path: Path, variables: dict[str, Any],
                                                 message: str) -> None:
    assert message in run(tmp_path, variables)
