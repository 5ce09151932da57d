"""Build the news site with Pelican, refusing bad input with the file named.

    heroes-newsbuild --settings pelicanconf.py --content posts/ --output build/

Before Pelican runs, every post (Markdown with Pelican's ``Key: value`` front matter) is checked:
a title, a date and an optional modified date Pelican can read, a slug no other post has (its
``Slug`` or the slug of its title, as Pelican makes it), and internal links (``{filename}...``)
that point at a file of the content. Each problem is printed as ``file: problem`` and the exit
status is 1; nothing is written. Then Pelican builds into the output directory with
``--fatal warnings``, so that whatever it would only warn about fails the build too.

The same input gives the same output, byte for byte (Pelican writes no build time; the feeds'
dates come from the posts).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FRONT_MATTER = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*):\s*(.*)$")
INTERNAL_LINK = re.compile(r"\{(?:filename|static)\}([^)\s\"'>]+)")


@dataclass(frozen=True)
class Post:
    path: Path
    metadata: dict[str, str]
    body: str


def read_post(path: Path) -> Post:
    """Pelican's Markdown metadata: 'Key: value' lines up to the first blank line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    metadata: dict[str, str] = {}
    index = 0
    for index, line in enumerate(lines):  # noqa: B007 (the index is where the body starts)
        if not line.strip():
            break
        match = FRONT_MATTER.match(line)
        if match is None:
            break
        metadata[match[1].lower()] = match[2].strip()
    else:
        index = len(lines)
    return Post(path, metadata, "\n".join(lines[index:]))


def visible(root: Path) -> list[Path]:
    """The files under root, sorted, without hidden ones or those in hidden folders (a git
    checkout's .git, editors' files): what Pelican reads too (IGNORE_FILES, set by build)."""
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))


def posts(content: Path) -> Iterator[Path]:
    yield from (p for p in visible(content) if p.suffix in (".md", ".markdown"))


def check(content: Path, settings: Mapping[str, Any]) -> list[str]:
    """'file: problem' for every bad post of the content, in file order."""
    from pelican.utils import get_date, slugify

    problems: list[str] = []
    slugs: dict[str, Path] = {}
    subs = settings.get("SLUG_REGEX_SUBSTITUTIONS", [])
    for path in posts(content):
        name = path.relative_to(content)
        try:
            post = read_post(path)
        except (OSError, UnicodeDecodeError) as err:
            problems.append(f"{name}: cannot be read ({err})")
            continue
        meta = post.metadata
        title = meta.get("title", "")
        if not title:
            problems.append(f"{name}: no title (a 'Title: ...' line in the front matter)")
        for key in ("date", "modified"):
            if key not in meta:
                if key == "date":
                    problems.append(f"{name}: no date (a 'Date: YYYY-MM-DD HH:MM' line in the front matter)")
                continue
            try:
                get_date(meta[key])
            except ValueError:
                problems.append(f"{name}: the {key} {meta[key]!r} is not a date (YYYY-MM-DD HH:MM)")
        slug = meta.get("slug") or (slugify(title, regex_subs=subs) if title else "")
        if slug:
            if slug in slugs:
                problems.append(f"{name}: the slug {slug!r} is {slugs[slug]}'s too")
            else:
                slugs[slug] = name
        for target in INTERNAL_LINK.findall(post.body):
            base = content if target.startswith("/") else path.parent
            if not (base / target.lstrip("/")).resolve().is_file():
                problems.append(f"{name}: the internal link {{filename}}{target} points at no file")
    return problems


def digest(settings_file: Path, theme: Path, content: Path) -> str:
    """sha256 of everything a build reads: the settings, the theme's and the content's files
    (names and bytes). The same digest means the same site: a release is named by it."""
    sha = hashlib.sha256()
    for label, root in (("settings", settings_file), ("theme", theme), ("content", content)):
        files = [root] if root.is_file() else visible(root)
        for path in files:
            name = path.name if root.is_file() else path.relative_to(root).as_posix()
            data = path.read_bytes()
            sha.update(f"{label}/{name}\0{len(data)}\0".encode())
            sha.update(data)
    return sha.hexdigest()


def build(settings_file: Path, content: Path, output: Path, cache: Path | None = None) -> tuple[int, str]:
    """Pelican into output (deleted first: nothing stale stays) with warnings fatal; with a cache
    folder, Pelican's content cache (posts unchanged since the last build are not read again)."""
    extra = ["-e", 'IGNORE_FILES=[".*"]']  # hidden files and folders, as visible() and digest()
    if cache is not None:
        extra += ["-e", f"CACHE_PATH={json.dumps(str(cache))}", "LOAD_CONTENT_CACHE=true",
                 "CACHE_CONTENT=true", 'CONTENT_CACHING_LAYER="reader"']
    proc = subprocess.run(
        [sys.executable, "-m", "pelican", str(content), "-s", str(settings_file), "-o", str(output),
         "--fatal", "warnings", "--log-handler", "plain", "-q", *extra],
        capture_output=True, text=True, check=False)
    lines = [line for line in (proc.stdout + proc.stderr).splitlines()
             if line.strip() and not line.startswith((" ", "Traceback"))]
    return proc.returncode, "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="heroes-newsbuild", description=__doc__.splitlines()[0])
    parser.add_argument("--settings", type=Path, required=True, help="Pelican's settings (pelicanconf.py)")
    parser.add_argument("--content", type=Path, required=True, help="the posts (Markdown)")
    parser.add_argument("--output", type=Path, help="where the site is built")
    parser.add_argument("--cache", type=Path, help="Pelican's content cache (kept between builds)")
    parser.add_argument("--digest", action="store_true",
                        help="print the digest of the settings, theme and content, and build nothing")
    args = parser.parse_args(argv)
    from pelican.settings import read_settings

    if not args.content.is_dir():
        print(f"heroes-newsbuild: --content {args.content} is not a directory", file=sys.stderr)
        return 2
    settings = read_settings(str(args.settings))
    if args.digest:
        print(digest(args.settings, Path(settings["THEME"]), args.content))
        return 0
    if args.output is None:
        print("heroes-newsbuild: --output is needed to build", file=sys.stderr)
        return 2
    problems = check(args.content, settings)
    if problems:
        for problem in problems:
            print(f"heroes-newsbuild: {args.content}/{problem}", file=sys.stderr)
        return 1
    rc, log = build(args.settings, args.content, args.output, args.cache)
    if rc != 0:
        print(f"heroes-newsbuild: Pelican refused the content:\n{log}", file=sys.stderr)
        return 1
    print(f"heroes-newsbuild: {sum(1 for _ in posts(args.content))} posts built into {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
