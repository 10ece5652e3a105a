"""Run every example as a user would and check what it prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_example(name: str) -> str:
    """Run ``examples/<name>.py`` in a fresh interpreter; return its stdout."""
    completed = subprocess.run(
        [sys.executable, str(HERE / f"{name}.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=os.environ,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_hello_runs_a_command_and_a_pipeline() -> None:
    """Hello prints the greeting, the word counts and the stage exit codes."""
    out = run_example("hello")
    backend = os.environ.get("CUPRUM_STREAM_BACKEND", "auto")
    assert "Hello from Cuprum!\n" in out
    assert "exit code 0" in out
    assert f"(stream backend: {backend})" in out
    lines = out.splitlines()
    top = lines[lines.index(next(line for line in lines if line.startswith("$ tr"))) + 1 :][:3]
    assert [line.split() for line in top] == [["the", "4"], ["dog", "2"], ["fox", "2"]]
    assert "stages exited (0, 0, 0, 0, 0)" in out
    assert "ok=True" in out
