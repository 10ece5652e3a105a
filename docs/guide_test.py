"""Every Python block in the users' guide and the README runs and prints what it shows.

A block's expected output is in its comments: ``# prints: TEXT`` ending a
line is one line of output, and a ``# Prints:`` line is followed by comment
lines holding the output. In an expected line ``...`` matches any text. A
block that shows no output must print nothing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
GUIDE = HERE / "users-guide.md"
README = HERE.parent / "README.md"
MIN_BLOCKS = 10
_FENCE = re.compile(r"^```python\n(.*?)^```$", flags=re.MULTILINE | re.DOTALL)
_INLINE = re.compile(r"#.*?\bprints: (.*)$")
_SECTION = "# Prints:"


@dataclass(frozen=True)
class Block:
    """One fenced Python block and the output its comments promise."""

    document: str
    line: int
    code: str
    expected: tuple[str, ...]


def expected_output(code: str) -> tuple[str, ...]:
    """The output lines ``code``'s comments promise, in order."""
    lines: list[str] = []
    in_section = False
    for raw in code.splitlines():
        text = raw.strip()
        if text == _SECTION:
            in_section = True
        elif in_section and text.startswith("#"):
            lines.append(text.removeprefix("#").removeprefix(" "))
        else:
            in_section = False
            if match := _INLINE.search(raw):
                lines.append(match.group(1))
    return tuple(lines)


def blocks_of(document: Path) -> list[Block]:
    """Every fenced Python block of ``document``."""
    text = document.read_text(encoding="utf-8")
    return [
        Block(
            document=document.name,
            line=text.count("\n", 0, match.start()) + 2,
            code=match.group(1),
            expected=expected_output(match.group(1)),
        )
        for match in _FENCE.finditer(text)
    ]


def line_matches(pattern: str, line: str) -> bool:
    """Whether ``line`` is ``pattern``, where ``...`` matches any text."""
    regex = ".*".join(re.escape(part) for part in pattern.split("..."))
    return re.fullmatch(regex, line) is not None


BLOCKS = blocks_of(GUIDE) + blocks_of(README)


def test_the_guide_has_examples() -> None:
    assert len(BLOCKS) >= MIN_BLOCKS


@pytest.mark.parametrize("block", BLOCKS, ids=[f"{block.document}:{block.line}" for block in BLOCKS])
def test_block_runs_and_prints_what_it_shows(block: Block) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", block.code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    where = f"{block.document}, the block at line {block.line}"
    assert completed.returncode == 0, f"{where} failed:\n{completed.stderr}"
    printed = completed.stdout.splitlines()
    shown = "\n".join(block.expected) or "(nothing)"
    message = f"{where} printed:\n{completed.stdout}\nbut shows:\n{shown}"
    assert len(printed) == len(block.expected), message
    assert all(map(line_matches, block.expected, printed)), message


def test_expected_output_is_read_from_both_comment_forms() -> None:
    code = "print(1)  # one; prints: 1\n# Prints:\n# two\n#\n# four ...\nx = 1  # not output\n"
    assert expected_output(code) == ("1", "two", "", "four ...")
    assert line_matches("echo ... done", "echo 1234 done")
    assert not line_matches("echo ... done", "echo 1234 done!")


def anchor(heading: str) -> str:
    """The anchor a Markdown renderer gives ``heading`` (GitHub's rules)."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_the_contents_list_every_section_in_order() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    sections = [
        heading for heading in re.findall(r"^## (.+)$", text, flags=re.MULTILINE) if heading != "Contents"
    ]
    contents = text.split("## Contents", 1)[1].split("\n## ", 1)[0]
    entries = re.findall(r"^(\d+)\. \[(.+)\]\(#(.+)\)$", contents, flags=re.MULTILINE)
    assert [title for _, title, _ in entries] == sections
    assert [int(number) for number, _, _ in entries] == list(range(1, len(sections) + 1))
    assert [target for _, _, target in entries] == [anchor(section) for section in sections]


def test_the_readme_starts_with_the_bazel_setup() -> None:
    first_block = re.search(
        r"^```(\w*)\n(.*?)^```$", README.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL
    )
    assert first_block is not None
    assert first_block.group(1) == "sh"
    assert first_block.group(2).splitlines()[:2] == [
        "tools/bootstrap && tools/bazel run //examples:hello",
        "tools/bazel test //...",
    ]
