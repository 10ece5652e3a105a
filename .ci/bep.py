# ruff: noqa: T201, INP001  (a CI command-line script: it prints; .ci is no package)
"""Read Bazel's build event protocol (BEP) JSON files for .ci/run.

Usage:
    python3 .ci/bep.py summary RUN.bep.json
        "PASSED FAILED": test targets by their overall status.
    python3 .ci/bep.py cache-hits RUN.bep.json
        Succeeds when every spawn was a remote-cache hit (Bazel-internal
        actions aside) and every test result came from the remote cache.
    python3 .ci/bep.py remote RUN.bep.json REFERENCE.bep.json
        Succeeds when spawns executed remotely and nowhere else, and the test
        targets and their statuses equal those of REFERENCE.

Only the build event log is read, never Bazel's human-readable output: the
runner counts come from BuildMetrics.ActionSummary.runner_count and each
test's strategy from TestResult.execution_info.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

Event = dict[str, Any]

# Runner names (Bazel 7) that execute nothing themselves.
NOT_SPAWNS = frozenset({"total", "internal"})
CACHE_HIT = "remote cache hit"
REMOTE = "remote"


def events(path: str) -> Iterator[Event]:
    """Yield the events of a BEP JSON file, one per line."""
    with Path(path).open(encoding="utf-8") as stream:
        for line in stream:
            if line.strip():
                yield json.loads(line)


def runners(path: str) -> dict[str, int]:
    """Count spawns per runner ("remote", "remote cache hit", "linux-sandbox", ...)."""
    counts: dict[str, int] = {}
    for event in events(path):
        summary = event.get("buildMetrics", {}).get("actionSummary", {})
        for runner in summary.get("runnerCount", []):
            counts[runner["name"]] = counts.get(runner["name"], 0) + int(runner.get("count", 0))
    return counts


def test_statuses(path: str) -> dict[str, str]:
    """Map each test target to its overall status, from its TestSummary."""
    statuses: dict[str, str] = {}
    for event in events(path):
        if "testSummary" in event:
            label = event["id"]["testSummary"]["label"]
            statuses[label] = event["testSummary"].get("overallStatus", "NO_STATUS")
    return statuses


def test_strategies(path: str) -> dict[str, set[str]]:
    """Map each test target to how its attempts ran ("remote", "remote cache hit", ...)."""
    strategies: dict[str, set[str]] = {}
    for event in events(path):
        if "testResult" in event:
            label = event["id"]["testResult"]["label"]
            info = event["testResult"].get("executionInfo", {})
            strategy = CACHE_HIT if info.get("cachedRemotely") else info.get("strategy", "unknown")
            if event["testResult"].get("cachedLocally"):
                strategy = "local action cache"
            strategies.setdefault(label, set()).add(strategy)
    return strategies


def describe(counts: dict[str, int]) -> str:
    """Render runner counts as "N runner, ..."."""
    parts = [f"{count} {name}" for name, count in sorted(counts.items()) if name != "total"]
    return ", ".join(parts) or "none"


def unexpected_runners(counts: dict[str, int], allowed: set[str]) -> list[str]:
    """Name every runner outside ALLOWED that ran spawns."""
    return [
        f"{count} spawn(s) ran by {name}"
        for name, count in sorted(counts.items())
        if name not in NOT_SPAWNS | allowed and count
    ]


def report(problems: list[str]) -> int:
    """Print the problems; the exit status says whether there were any."""
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems else 0


def summary(path: str) -> int:
    """Print "PASSED FAILED" for the run's test targets."""
    statuses = test_statuses(path)
    passed = sum(status in {"PASSED", "FLAKY"} for status in statuses.values())
    print(passed, len(statuses) - passed)
    return 0


def cache_hits(path: str) -> int:
    """Check that the run was served entirely from the remote cache."""
    counts = runners(path)
    print(f"spawns: {describe(counts)}")
    problems = unexpected_runners(counts, {CACHE_HIT})
    if not counts.get(CACHE_HIT):
        problems.append("no remote-cache hits at all")
    problems.extend(
        f"{label} ran as {', '.join(sorted(strategies))}, not from the remote cache"
        for label, strategies in sorted(test_strategies(path).items())
        if strategies != {CACHE_HIT}
    )
    return report(problems)


def remote(path: str, reference: str) -> int:
    """Check that the run executed remotely and its tests match REFERENCE's."""
    counts = runners(path)
    print(f"spawns: {describe(counts)}")
    problems = unexpected_runners(counts, {REMOTE, CACHE_HIT})
    if not counts.get(REMOTE):
        problems.append("no action executed remotely")
    problems.extend(
        f"{label} ran as {', '.join(sorted(strategies))}, not remotely"
        for label, strategies in sorted(test_strategies(path).items())
        if not strategies <= {REMOTE, CACHE_HIT}
    )
    got, want = test_statuses(path), test_statuses(reference)
    problems.extend(
        f"{label}: {got.get(label, 'absent')} remotely, {want.get(label, 'absent')} in the reference run"
        for label in sorted(set(got) | set(want))
        if got.get(label) != want.get(label)
    )
    passed = sum(status == "PASSED" for status in got.values())
    print(f"tests: {passed} of {len(got)} passed remotely; {len(want)} in the reference run")
    return report(problems)


COMMANDS = {"summary": (summary, 1), "cache-hits": (cache_hits, 1), "remote": (remote, 2)}


def main(argv: list[str]) -> int:
    """Run the command named by ARGV[1]."""
    command = COMMANDS.get(argv[1]) if len(argv) > 1 else None
    if command is None or len(argv) - 2 != command[1]:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return command[0](*argv[2:])
    except OSError as error:
        print(f"cannot read the build event log: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
