"""Every Python block in the users' guide and the README runs as it stands."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DOCUMENTS = [HERE / "users-guide.md", HERE.parent / "README.md"]
BLOCKS = [
    block
    for document in DOCUMENTS
    for block in re.findall(
        r"^```python\n(.*?)^```$", document.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL
    )
]


MIN_BLOCKS = 10


def test_the_guide_has_examples() -> None:
    assert len(BLOCKS) >= MIN_BLOCKS


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_guide_block_runs(index: int) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", BLOCKS[index]],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, f"block {index}:\n{BLOCKS[index]}\n{completed.stderr}"
