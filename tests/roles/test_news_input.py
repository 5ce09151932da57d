"""Bad input to the news role fails before any host is touched, naming the variable or the post."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.roles.checkrun import LOCAL, check_run

GOOD = {"news_site_url": "https://news.example", "news_content_dir": str(ROOT / "news/lab")}


def run(tmp_path: Path, variables: dict[str, Any]) -> str:
    proc = check_run(tmp_path, {"news": {"hosts": {"web1": {}}, "vars": LOCAL}}, "news", "news",
                     {**GOOD, **variables}, gather_facts=True)
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0, out
    assert "Create the releases' folder" not in out, "the play went on past the checks"
    return out


def bad_posts(tmp_path: Path) -> str:
    posts = tmp_path / "posts"
    posts.mkdir()
    for post in (ROOT / "news/lab").glob("*.md"):
        (posts / post.name).write_text(post.read_text())
    (posts / "untitled.md").write_text("Date: 2026-12-06 10:00\n\nA post without a title.\n")
    return str(posts)


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"news_site_url": "https://news.example/"},
         "news_site_url must be the site's URL without a trailing slash such as https://news.example.org "
         "(got 'https://news.example/')"),
        ({"news_content_dir": "/nonexistent/posts"},
         "news_content_dir must be a folder on the controller; '/nonexistent/posts' is not one"),
        ({"news_releases_kept": 1}, "news_releases_kept at least 2"),
        ({"news_timezone": "CET time"}, "news_timezone an IANA zone such as Europe/Berlin (got 'CET time')"),
    ],
    ids=["url-slash", "no-posts", "one-release", "timezone"],
)
def test_bad_input_fails_before_anything_changes(tmp_path: Path, variables: dict[str, Any],
                                                 message: str) -> None:
    assert message in run(tmp_path, variables)


def test_a_bad_post_fails_the_build_with_its_file_named(tmp_path: Path) -> None:
    out = run(tmp_path, {"news_content_dir": bad_posts(tmp_path)})
    assert "untitled.md: no title" in out
