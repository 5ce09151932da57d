"""heroes-newsbuild (src/heroes_infra/newsbuild.py): bad posts refused with the file named before
Pelican runs, and the same posts built into the same bytes. The theme here is a minimal one
written by the test (the news role's own theme comes with the role)."""

from __future__ import annotations

import filecmp
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest

from heroes_infra import newsbuild

ATOM = "{http://www.w3.org/2005/Atom}"
POSTS = {
    "2026/mirror.md": "Title: The mirror moves to nginx\nDate: 2026-12-01 10:00\nModified: 2026-12-02 09:30\n"
                      "Author: Infra team\nTags: mirror, nginx\nSlug: mirror-nginx\n\n"
                      "The mirror now runs **nginx**. See [the Galera post]({filename}galera.md).\n",
    "2026/galera.md": "Title: Galera maintenance\nDate: 2026-11-20 08:00\nAuthor: Infra team\n"
                      "Tags: database\n\n"
                      "Rolling restart, no downtime. Überall <b>gut</b> & schnell.\n",
}
SETTINGS = """SITENAME = "Heroes news"
SITEURL = "https://news.lab"
THEME = {theme!r}
TIMEZONE = "Europe/Berlin"
DEFAULT_LANG = "en"
FEED_DOMAIN = SITEURL
FEED_ALL_ATOM = "feeds/all.atom"
FEED_ALL_RSS = "feeds/all.rss"
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
RSS_FEED_SUMMARY_ONLY = False
ARTICLE_URL = ARTICLE_SAVE_AS = "posts/{{slug}}.html"
TAG_URL = TAG_SAVE_AS = "tags/{{slug}}.html"
CATEGORY_SAVE_AS = CATEGORIES_SAVE_AS = AUTHOR_SAVE_AS = AUTHORS_SAVE_AS = PAGE_SAVE_AS = ""
DIRECT_TEMPLATES = ["index", "archives", "tags"]
RELATIVE_URLS = False
DELETE_OUTPUT_DIRECTORY = True
"""
TEMPLATE = ('{% block content %}{% for article in articles %}<a href="{{ SITEURL }}/{{ article.url }}">'
            '{{ article.title }}</a>{{ article.content }}{% endfor %}{% endblock %}')


def site(tmp_path: Path, extra: dict[str, str] | None = None) -> tuple[Path, Path]:
    """A content folder and Pelican settings with a minimal theme."""
    theme = tmp_path / "theme/templates"
    theme.mkdir(parents=True)
    for name in ("index", "article", "archives", "tags", "tag"):
        (theme / f"{name}.html").write_text(TEMPLATE)
    content = tmp_path / "content"
    for name, text in {**POSTS, **(extra or {})}.items():
        (content / name).parent.mkdir(parents=True, exist_ok=True)
        (content / name).write_text(text)
    settings = tmp_path / "pelicanconf.py"
    settings.write_text(SETTINGS.format(theme=str(tmp_path / "theme")))
    return content, settings


def test_the_posts_are_built_with_full_atom_and_rss_feeds(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    content, settings = site(tmp_path)
    assert newsbuild.main(["--settings", str(settings), "--content", str(content),
                           "--output", str(tmp_path / "out")]) == 0, capsys.readouterr().err
    out = tmp_path / "out"
    for page in ("index.html", "archives.html", "tags.html", "posts/mirror-nginx.html",
                 "posts/galera-maintenance.html", "tags/database.html"):
        assert (out / page).is_file(), page
    feed = ET.fromstring((out / "feeds/all.atom").read_bytes())
    entries = {e.findtext(f"{ATOM}title"): e for e in feed.iter(f"{ATOM}entry")}
    mirror = entries["The mirror moves to nginx"]
    assert mirror.findtext(f"{ATOM}updated") == "2026-12-02T09:30:00+01:00"
    assert mirror.findtext(f"{ATOM}id") == "tag:news.lab,2026-12-01:/posts/mirror-nginx.html"
    # full content with absolute links, the internal one resolved
    assert 'href="https://news.lab/posts/galera-maintenance.html"' in str(mirror.findtext(f"{ATOM}content"))
    assert "Überall" in str(entries["Galera maintenance"].findtext(f"{ATOM}content"))
    rss = ET.fromstring((out / "feeds/all.rss").read_bytes())
    assert len(rss.findall("channel/item")) == 2


def test_the_feeds_parse_and_keep_the_rules_feedparser_does_not_check(tmp_path: Path) -> None:
    content, settings = site(tmp_path)
    assert newsbuild.main(["--settings", str(settings), "--content", str(content),
                           "--output", str(tmp_path / "out")]) == 0
    for name in ("all.atom", "all.rss"):
        parsed = feedparser.parse((tmp_path / "out/feeds" / name).read_bytes())
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert sorted(e.title for e in parsed.entries) == ["Galera maintenance", "The mirror moves to nginx"]
        assert all(e.link.startswith("https://news.lab/posts/") and e.id for e in parsed.entries)
    root = ET.fromstring((tmp_path / "out/feeds/all.atom").read_bytes())
    # the feed's own id, updated (its newest entry's) and self link (W3C's feed validator rules)
    assert root.findtext(f"{ATOM}id") == "https://news.lab/"
    entries = list(root.iter(f"{ATOM}entry"))
    assert root.findtext(f"{ATOM}updated") == max(str(e.findtext(f"{ATOM}updated")) for e in entries)
    selfs = [link.get("href") for link in root.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert selfs == ["https://news.lab/feeds/all.atom"]
    for entry in entries:
        assert [len(entry.findall(f"{ATOM}{tag}")) for tag in ("id", "updated", "title")] == [1, 1, 1]


def test_the_same_posts_give_the_same_bytes(tmp_path: Path) -> None:
    content, settings = site(tmp_path)
    for out in ("a", "b"):
        assert newsbuild.main(["--settings", str(settings), "--content", str(content),
                               "--output", str(tmp_path / out)]) == 0
        for post in content.rglob("*.md"):
            post.touch()  # newer files: nothing of the output may depend on it
    compared = filecmp.dircmp(tmp_path / "a", tmp_path / "b")
    assert not compared.diff_files and not compared.left_only and not compared.right_only
    for sub in compared.subdirs.values():
        assert not sub.diff_files and not sub.left_only and not sub.right_only


@pytest.mark.parametrize(("name", "text", "message"), [
    ("bad/untitled.md", "Date: 2026-11-01 10:00\n\nNo title.\n", "bad/untitled.md: no title"),
    ("bad/date.md", "Title: A date\nDate: 2026-13-45 25:00\n\nBody.\n",
     "bad/date.md: the date '2026-13-45 25:00' is not a date"),
    ("bad/modified.md", "Title: Modified\nDate: 2026-11-01\nModified: yesterday\n\nBody.\n",
     "bad/modified.md: the modified 'yesterday' is not a date"),
    ("bad/twin.md", "Title: Twin\nSlug: mirror-nginx\nDate: 2026-11-01\n\nBody.\n",
     "bad/twin.md: the slug 'mirror-nginx' is 2026/mirror.md's too"),
    ("bad/twin-title.md", "Title: Galera  Maintenance!\nDate: 2026-11-01\n\nBody.\n",
     "the slug 'galera-maintenance' is 2026/galera.md's too"),
    ("bad/link.md", "Title: Link\nDate: 2026-11-01\n\nSee [it]({filename}../2026/gone.md).\n",
     "bad/link.md: the internal link {filename}../2026/gone.md points at no file"),
])
def test_a_bad_post_fails_the_build_with_its_file_named(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        name: str, text: str, message: str) -> None:
    content, settings = site(tmp_path, {name: text})
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("the live site")
    assert newsbuild.main(["--settings", str(settings), "--content", str(content), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert message in err, err
    assert [p.name for p in out.iterdir()] == ["index.html"]
    assert (out / "index.html").read_text() == "the live site"


def test_what_only_pelican_finds_fails_the_build_too(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    # a broken template of the theme: Pelican's own error
    content, settings = site(tmp_path)
    (tmp_path / "theme/templates/tag.html").write_text("{% if %}")
    assert newsbuild.main(["--settings", str(settings), "--content", str(content),
                           "--output", str(tmp_path / "out")]) == 1
    assert "Pelican refused the content" in capsys.readouterr().err


def test_the_digest_names_what_a_build_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content, settings = site(tmp_path)

    def digest() -> str:
        assert newsbuild.main(["--settings", str(settings), "--content", str(content), "--digest"]) == 0
        return capsys.readouterr().out.strip()

    first = digest()
    assert len(first) == 64 and digest() == first
    for post in content.rglob("*.md"):
        post.touch()
    assert digest() == first  # times are not content
    (content / "2026/galera.md").write_text(POSTS["2026/galera.md"] + "One more line.\n")
    changed = digest()
    assert changed != first
    (tmp_path / "theme/templates/index.html").write_text(TEMPLATE + "<footer/>")
    assert digest() not in (first, changed)


def test_hidden_files_are_not_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a git checkout of the posts (news_content_git_repo): its .git folder, and an editor's file,
    # are neither checked, nor built, nor part of the release's name
    content, settings = site(tmp_path)
    args = ["--settings", str(settings), "--content", str(content)]
    assert newsbuild.main([*args, "--digest"]) == 0
    before = capsys.readouterr().out
    (content / ".git/refs").mkdir(parents=True)
    (content / ".git/refs/HEAD").write_text("ref: refs/heads/main\n")
    (content / ".git/notes.md").write_text("No front matter at all.\n")
    (content / "2026/.galera.md.swp").write_text("Title: swap\n")
    (content / ".draft.md").write_text("Title: Galera maintenance\nDate: 2026-11-01\n\nA twin slug.\n")
    assert newsbuild.main([*args, "--digest"]) == 0
    assert capsys.readouterr().out == before
    assert newsbuild.main([*args, "--output", str(tmp_path / "out")]) == 0, capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out/posts").iterdir()) == [
        "galera-maintenance.html", "mirror-nginx.html"]


def test_a_build_through_the_content_cache_gives_the_same_bytes(tmp_path: Path) -> None:
    content, settings = site(tmp_path)
    args = ["--settings", str(settings), "--content", str(content)]
    assert newsbuild.main([*args, "--output", str(tmp_path / "plain")]) == 0
    for out in ("cached-1", "cached-2"):  # the first fills the cache, the second reads it
        cache = ["--cache", str(tmp_path / "cache")]
        assert newsbuild.main([*args, "--output", str(tmp_path / out), *cache]) == 0
    assert any((tmp_path / "cache").iterdir())
    for out in ("cached-1", "cached-2"):
        compared = filecmp.dircmp(tmp_path / "plain", tmp_path / out)
        assert not compared.diff_files and not compared.left_only and not compared.right_only, out
