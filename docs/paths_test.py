"""The documents name only files, directories and Bazel packages that exist.

It reads the checkout itself, so it runs with plain pytest (CI's pip stage:
``python -m pytest docs``), not under Bazel, whose sandbox holds only a
test's declared inputs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Not CHANGELOG.md: history may name what is gone.
DOCUMENTS = [
    ROOT / "README.md",
    ROOT / "pyproject.toml",
    ROOT / ".bazelrc",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "third_party" / "python").glob("*.in")),
]
TOP_DIRECTORIES = (
    ".ci",
    "benchmarks",
    "docs",
    "examples",
    "features",
    "python",
    "rust",
    "third_party",
    "tools",
    "typings",
)
GENERATED = ("benchmarks/results", "rust/target")
"""Paths that builds and runs create: named in the documents, never committed."""

_TOP = "|".join(map(re.escape, TOP_DIRECTORIES))
_PATH = re.compile(rf"(?<![\w./@:$~-])((?:{_TOP})/[\w.*<>-]*(?:/[\w.*<>-]+)*)")
_ROOT_FILE = re.compile(
    r"(?<![\w./-])(LICENSE|[A-Z]+\.md|WORKSPACE|version\.bzl|pyproject\.toml|\.bazelrc|\.bazelversion)(?![\w/-])"
)
_LABEL = re.compile(r"(?<![\w@:])//([\w/.-]*)(?::|/\.\.\.)")
_LINK = re.compile(r"\]\(([^)#\s:]+)(?:#[^)]*)?\)")


def as_glob(reference: str) -> str:
    """A path reference as a glob: ``<name>`` placeholders match anything."""
    return re.sub(r"<[^>]*>", "*", reference).rstrip("/")


def missing_references(document: Path) -> list[str]:
    """The references in ``document`` to paths that do not exist."""
    text = document.read_text(encoding="utf-8")
    missing: list[str] = []
    for match in _PATH.finditer(text):
        reference = match.group(1).rstrip(".")
        if reference.startswith(GENERATED):
            continue
        if not any(ROOT.glob(as_glob(reference))):
            missing.append(reference)
    missing += [name for name in _ROOT_FILE.findall(text) if not (ROOT / name).exists()]
    for package in _LABEL.findall(text):
        if not (ROOT / package / "BUILD.bazel").exists():
            missing.append(f"//{package}")
    if document.suffix == ".md":
        missing += [link for link in _LINK.findall(text) if not (document.parent / link).exists()]
    return missing


@pytest.mark.parametrize("document", DOCUMENTS, ids=[str(path.relative_to(ROOT)) for path in DOCUMENTS])
def test_every_referenced_path_exists(document: Path) -> None:
    assert missing_references(document) == []


def test_the_checks_find_what_is_missing(tmp_path: Path) -> None:
    document = tmp_path / "note.md"
    document.write_text(
        "Run `tools/lock-python`, read python/pyproject.toml and [this](nowhere.md),"
        " see LICENSE, build //nowhere:target; `tools/bazel` and //python:wheel exist.\n",
        encoding="utf-8",
    )
    assert missing_references(document) == [
        "tools/lock-python",
        "python/pyproject.toml",
        "//nowhere",
        "nowhere.md",
    ]
