"""Run every example as a user would and check what it prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_example(name: str, *args: str) -> str:
    """Run ``examples/<name>.py`` in a fresh interpreter; return its stdout."""
    return run_example_completed(name, *args).stdout


def run_example_completed(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<name>.py`` in a fresh interpreter; it must succeed."""
    completed = subprocess.run(
        [sys.executable, str(HERE / f"{name}.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=os.environ,
    )
    assert completed.returncode == 0, completed.stderr
    return completed


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


def test_word_frequencies_prints_the_top_ten() -> None:
    out = run_example("word_frequencies")
    rows = [line.split() for line in out.splitlines()[4:14]]
    assert [row[0] for row in rows][:3] == ["copper", "wire", "pipe"]
    counts = [int(row[1].replace(",", "")) for row in rows]
    assert counts == sorted(counts, reverse=True)
    assert sum(counts) == 200_000
    assert "exit codes (0, 0, 0, 0, 0), ok=True" in out


def test_timeouts_kill_the_grandchild_and_keep_the_output() -> None:
    out = run_example("timeouts")
    assert "output before the kill: 'started\\ngrandchild " in out
    assert "still alive: False" in out
    assert "processes left in group" in out
    assert out.rstrip().endswith(": 0")


def test_concurrent_batch_respects_the_limit_and_fails_fast() -> None:
    out = run_example("concurrent_batch")
    assert "8 commands, at most 3 at once" in out
    assert "ok=True" in out
    assert "fail-fast: failed (1,), cancelled (0, 2), completed (1,)" in out


def test_backend_comparison_prints_ratios() -> None:
    out = run_example("backend_comparison", "--size-mib", "8")
    assert "8 MiB through head | cat | wc -c" in out
    assert "shell" in out
    assert "python" in out
    assert "rust" in out


def test_observability_logs_counts_and_traces_without_the_secret() -> None:
    out = run_example("observability")
    logs, rest = out.split("== metrics", 1)
    records = [json.loads(line) for line in logs.splitlines()[1:] if line.strip()]
    assert {record["cuprum"]["phase"] for record in records} == {"start", "exit"}
    assert 'cuprum_executions_total{program="echo",project="coreutils"} 2.0' in rest
    assert 'cuprum_failures_total{program="grep",project="grep"} 1.0' in rest
    spans = rest.split("== spans", 1)[1]
    assert "grep   stage=-  exit=1 status=ERROR" in spans
    assert "sort   stage=1  exit=0" in spans
    assert "the secret appears in the output: False" in out


def test_progress_bar_follows_the_hops_to_the_end() -> None:
    """The bar reaches the payload's size and the pipeline's result is printed."""
    completed = run_example_completed("progress_bar", "16")
    size = 16 * 1024 * 1024
    assert completed.stdout == f"moved {size} bytes per hop; wc counted {size}; ok=True\n"
    assert "16.0M/16.0M" in completed.stderr
