"""The documentation: the MkDocs site builds strictly, and the README stays a short guide into it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from markdown.extensions.toc import slugify

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
MKDOCS = Path(sys.executable).parent / "mkdocs"
README_MAX_LINES = 250

# Pages a newcomer is sent to from the README; each must be built into the site.
KEY_PAGES = [
    "index.md",
    "instructor-guide.md",
    "reports.md",
    "writing-an-assignment.md",
    "assignments/index.md",
    "trusted-grading.md",
    "scale.md",
    "jupyterhub.md",
    "benchmarks.md",
    "benchmark-history.md",
    "development.md",
]

# [text](target) in Markdown, images included; targets with a scheme (https:, mailto:) are external.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    assert MKDOCS.exists(), f"{MKDOCS} is missing: `make install` installs mkdocs (the dev extra)"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        cwd=config.parent, env=env, capture_output=True, text=True, timeout=300,
    )


def built_page(site: Path, page: str) -> Path:
    """Where MkDocs writes a page: foo.md -> foo/index.html, a/index.md -> a/index.html."""
    path = Path(page).with_suffix("")
    if path.name == "index":
        return site / path.parent / "index.html"
    return site / path / "index.html"


def nav_pages(nav) -> list[str]:
    """Every page file named in mkdocs.yml's nav, however deeply nested."""
    if isinstance(nav, str):
        return [] if EXTERNAL.match(nav) else [nav]
    if isinstance(nav, dict):
        return [p for v in nav.values() for p in nav_pages(v)]
    if isinstance(nav, list):
        return [p for v in nav for p in nav_pages(v)]
    return []


def markdown_lines(text: str) -> list[str]:
    """The lines of a Markdown text outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def heading_anchors(path: Path) -> set[str]:
    """The ids Python-Markdown's toc extension gives the headings of a Markdown file."""
    anchors = set()
    for line in markdown_lines(path.read_text(encoding="utf-8")):
        m = HEADING.match(line)
        if m:
            title = re.sub(r"[`*_]", "", m.group(1))
            anchors.add(slugify(title, "-"))
    return anchors


def relative_links(path: Path) -> list[str]:
    links = []
    for line in markdown_lines(path.read_text(encoding="utf-8")):
        links += [t for t in LINK.findall(line) if not EXTERNAL.match(t) and not t.startswith("#")]
    return links


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    result = mkdocs_build(ROOT / "mkdocs.yml", site)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return site


def test_site_builds_strictly_with_every_key_page(site: Path) -> None:
    for page in KEY_PAGES:
        assert (DOCS / page).is_file(), f"docs/{page} is missing"
        html = built_page(site, page)
        assert html.is_file(), f"{page} was not built into {html.relative_to(site)}"
    guide = built_page(site, "instructor-guide.md").read_text(encoding="utf-8")
    assert 'id="grade-your-own-course"' in guide, "the guide lost its 'Grade your own course' heading"
    benchmarks = built_page(site, "benchmarks.md").read_text(encoding="utf-8")
    assert "<table>" in benchmarks, "the benchmarks page has no table of figures"


def test_every_docs_page_is_in_the_nav() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    in_nav = set(nav_pages(config["nav"]))
    on_disk = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert on_disk - in_nav == set(), "pages missing from mkdocs.yml's nav"
    assert in_nav - on_disk == set(), "nav entries without a page"
    assert set(KEY_PAGES) <= in_nav


def test_strict_build_fails_on_a_broken_link(tmp_path: Path) -> None:
    # The guard itself: a copy of the docs with a link to a missing page and to a missing anchor.
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(DOCS, tmp_path / "docs")
    with open(tmp_path / "docs" / "index.md", "a", encoding="utf-8") as f:
        f.write("\n[gone](no-such-page.md) and [lost](scale.md#no-such-heading)\n")
    result = mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert "no-such-page.md" in result.stderr
    assert "no-such-heading" in result.stderr


def test_readme_is_short_and_links_into_the_docs() -> None:
    text = README.read_text(encoding="utf-8")
    n = len(text.splitlines())
    assert n <= README_MAX_LINES, f"README.md has {n} lines (at most {README_MAX_LINES}): move it to docs/"
    for command in ("make demo", "make test", "make docs", "autograder grade"):
        assert command in text, f"README.md no longer mentions `{command}`"
    links = relative_links(README)
    into_docs = {link.split("#")[0] for link in links if link.startswith("docs/")}
    assert {"docs/index.md", "docs/instructor-guide.md", "docs/benchmarks.md"} <= into_docs


def test_every_relative_link_of_the_readme_exists() -> None:
    links = relative_links(README)
    assert links, "README.md has no relative links"
    for link in links:
        target, _, anchor = link.partition("#")
        path = (ROOT / target).resolve()
        assert path.exists(), f"README.md links to {link}, which does not exist"
        assert ROOT in path.parents, f"README.md links outside the repository: {link}"
        if anchor and path.suffix == ".md":
            assert anchor in heading_anchors(path), f"README.md links to {link}: no such heading in {target}"
