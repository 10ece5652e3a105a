"""Every benchmark runs with --quick and reports its table and JSON (no timing asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    "capture",
    "line_events",
    "pipeline_concurrency",
    "pipeline_throughput",
    "pump_tuning",
    "spawn_overhead",
]


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_runs_quickly_and_reports(name: str, tmp_path: Path) -> None:
    output = tmp_path / f"{name}.json"
    completed = subprocess.run(
        [sys.executable, str(HERE / f"{name}.py"), "--quick", "--runs", "1", "--json", str(output)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert completed.returncode == 0, completed.stderr
    assert "baseline:" in completed.stdout
    result = json.loads(output.read_text(encoding="utf-8"))
    assert result["benchmark"].startswith(name)  # pipeline_concurrency reports per count
    assert result["quick"] is True
    cases = result["cases"]
    assert len(cases) >= 2
    assert cases[0]["ratio"] == 1.0
    assert all(case["median_s"] > 0 for case in cases)
