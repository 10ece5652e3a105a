"""What every benchmark shares: timing, medians, the table and the JSON file.

Every figure is a ratio against a baseline measured in the same process, in
the same run, so machines and load cancel out. Each case runs ``--runs``
times (after one warm-up) and reports its median.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclasses.dataclass(frozen=True, slots=True)
class Case:
    """One measured variant: a name and a callable to time."""

    name: str
    run: Callable[[], object]


@dataclasses.dataclass(frozen=True, slots=True)
class Measured:
    """A case's timings."""

    name: str
    seconds: list[float]

    @property
    def median(self) -> float:
        """The median run time."""
        return statistics.median(self.seconds)


def parse_args(description: str) -> argparse.Namespace:
    """The options every benchmark takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small sizes and few runs (a CI smoke run)")
    parser.add_argument(
        "--runs", type=int, default=None, help="timed runs per case (default 5, 2 with --quick)"
    )
    parser.add_argument("--json", type=Path, default=None, help="where to write the results")
    args = parser.parse_args()
    if args.runs is None:
        args.runs = 2 if args.quick else 5
    return args


def measure(cases: list[Case], runs: int) -> list[Measured]:
    """Time every case ``runs`` times after a warm-up, interleaving the cases."""
    for case in cases:
        case.run()
    timings: dict[str, list[float]] = {case.name: [] for case in cases}
    for _ in range(runs):
        for case in cases:
            started = time.perf_counter()
            case.run()
            timings[case.name].append(time.perf_counter() - started)
    return [Measured(case.name, timings[case.name]) for case in cases]


def report(
    name: str,
    title: str,
    measured: list[Measured],
    args: argparse.Namespace,
    *,
    unit: str = "s",
    per: float | None = None,
) -> dict[str, object]:
    """Print the table (ratios to the first case, the baseline) and write JSON."""
    baseline = measured[0].median
    print(f"{title}  (median of {args.runs}; baseline: {measured[0].name})")
    print(f"  {'case':<34} {'median':>10} {'ratio':>7}" + (f" {'rate':>14}" if per else ""))
    rows: list[dict[str, object]] = []
    for item in measured:
        ratio = item.median / baseline
        rate = per / item.median if per else None
        line = f"  {item.name:<34} {item.median:>9.4f}{unit} {ratio:>6.2f}x"
        if rate is not None:
            line += f" {rate:>12,.0f}/s"
        print(line)
        rows.append(
            {"case": item.name, "median_s": item.median, "runs_s": item.seconds, "ratio": ratio, "rate": rate}
        )
    result: dict[str, object] = {
        "benchmark": name,
        "title": title,
        "baseline": measured[0].name,
        "quick": args.quick,
        "runs": args.runs,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "cases": rows,
    }
    path = args.json or _default_json(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"  results: {path}")
    return result


def _default_json(name: str) -> Path:
    # `bazel run` sets BUILD_WORKSPACE_DIRECTORY to the source tree.
    root = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", "."))
    return root / "benchmarks" / "results" / f"{name}.json"
