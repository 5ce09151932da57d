"""Bad input to the news role fails before any host is touched, naming the variable or the post."""

from __future__ import annotations

import subprocess
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
        ({"news_content_git_repo": "https://git.example/news.git"},
         "one of news_content_dir (the posts' folder on the controller; got"),
        ({"news_content_dir": ""}, "one of news_content_dir (the posts' folder on the controller; got '')"),
        ({"news_server_names": ["news.example"]},
         "with news_server_names set (got ['news.example']) news_tls_certificate and news_tls_private_key "
         "must be set too"),
        ({"news_max_age": "a while"}, "news_max_age an nginx time such as 5m (got 'a while')"),
    ],
    ids=["url-slash", "no-posts", "one-release", "timezone", "dir-and-git", "no-content",
         "vhost-without-certificate", "max-age"],
)
def test_bad_input_fails_before_anything_changes(tmp_path: Path, variables: dict[str, Any],
                                                 message: str) -> None:
    assert message in run(tmp_path, variables)


def test_a_bad_post_fails_the_build_with_its_file_named(tmp_path: Path) -> None:
    out = run(tmp_path, {"news_content_dir": bad_posts(tmp_path)})
    assert "untitled.md: no title" in out


def git_posts(tmp_path: Path, extra: dict[str, str]) -> str:
    """A git repository of the lab's posts and extra ones, on branch 'published'."""
    repo = tmp_path / "news.git"
    repo.mkdir()
    for post in (ROOT / "news/lab").glob("*.md"):
        (repo / post.name).write_text(post.read_text())
    for name, text in extra.items():
        (repo / name).write_text(text)
    git = ["git", "-C", str(repo), "-c", "user.name=heroes", "-c", "user.email=heroes@example.org"]
    for args in (["init", "-q", "-b", "published"], ["add", "."], ["commit", "-q", "-m", "posts"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    return f"file://{repo}"


def test_posts_from_a_git_repository_are_cloned_and_checked(tmp_path: Path) -> None:
    # the clone at the named branch is what is built: its bad post stops the play, named
    repo = git_posts(tmp_path, {"untitled.md": "Date: 2026-12-06 10:00\n\nNo title.\n"})
    out = run(tmp_path, {"news_content_dir": "", "news_content_git_repo": repo,
                         "news_content_git_version": "published"})
    assert "Clone the posts' repository into the build's folder" in out
    assert "untitled.md: no title" in out
