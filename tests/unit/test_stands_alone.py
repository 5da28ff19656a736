"""The repository stands alone: a clone with nothing beside it has every
file that the tests, the demo and the docs use. No tracked file may refer to
a path outside the repository (the reference material that sat beside the
first checkouts: the design page, the style guide, the samples, the Slack
payloads). Their content lives in ``docs/`` and ``tests/fixtures/``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Written so that this file does not match itself.
OUTSIDE = [
    r"\.\./shared",  # the directory beside the first checkouts
    r"(^|[^A-Za-z0-9_.-])shared/(samples|seed|slack-payloads|DESIGN|STYLE|slack-limits)",
    r"\bDESIGN\.md",  # now docs/
    r"\bSTYLE\.md",
    r"/work/(shared|wt|main)\b",  # absolute paths of a developer's machine
]


def tracked_files_matching(pattern: str) -> list[str]:
    result = subprocess.run(
        ["git", "grep", "-n", "-I", "-E", pattern, "--", ".", ":!uv.lock"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode in (0, 1), result.stderr  # 1: no match
    return result.stdout.splitlines()


def in_git_checkout() -> bool:
    if shutil.which("git") is None:
        return False
    probe = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=ROOT, capture_output=True, text=True)
    return probe.returncode == 0 and Path(probe.stdout.strip()).resolve() == ROOT


@pytest.mark.skipif(not in_git_checkout(), reason="not a git checkout of this repository (an sdist or a copy): nothing tracked to check")
@pytest.mark.parametrize("pattern", OUTSIDE)
def test_no_tracked_file_refers_outside_the_repository(pattern):
    hits = tracked_files_matching(pattern)
    assert not hits, "refer to docs/ or tests/fixtures/ instead:\n" + "\n".join(hits)


def test_the_pattern_finds_what_it_should():
    """The patterns are regular expressions for git grep -E; check them on
    sample lines, so a typo cannot make the test above pass vacuously."""
    # "~" keeps these lines from matching in this file; it is taken out here.
    bad = [line.replace("~", "") for line in
           ["see .~./sha~red/samples/x.csv", "`sha~red/samples/callbacks.csv`", "DESI~GN.md's glossary", "/work/sha~red/seed"]]
    good = ["docs/import-format.md", "tests/fixtures/samples/callbacks-2026-11-26.csv", "the shared channel", "shared/ nothing"]
    for line in bad:
        assert any(re.search(p, line) for p in OUTSIDE), line
    for line in good:
        assert not any(re.search(p, line) for p in OUTSIDE), line


def test_the_fixtures_and_the_docs_are_in_the_repository():
    for path in [
        "tests/fixtures/samples/callbacks-2026-11-26.csv",
        "tests/fixtures/samples/callbacks-2026-11-26.xlsx",
        "tests/fixtures/slack-payloads/README.md",
        "bot/demo_data/callbacks-2026-11-26.csv",
        "docs/README.md",
        "docs/slack-limits.md",  # copied in: the fake's rules cite it
    ]:
        assert (ROOT / path).is_file(), path


def test_every_relative_link_in_the_docs_resolves_inside_the_repository():
    link = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "bench").glob("*.md"))]
    broken = []
    for page in pages:
        for target, _ in link.findall(page.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:", target):  # https:, mailto:
                continue
            resolved = (page.parent / target).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, broken
