"""Run a batch of commands concurrently, at most three at a time.

Run it with ``tools/bazel run //examples:concurrent_batch``. Eight
``sleep``-then-``date`` commands run with a limit of three; the timeline
shows when each started and ended, and the batch ends in about three rounds.
Then a fail-fast batch: the first failure cancels the rest.
"""

from __future__ import annotations

import time

from cuprum import (
    FALSE,
    SLEEP,
    ConcurrentConfig,
    ExecEvent,
    ExecPhase,
    observe,
    run_concurrent_sync,
    sh,
)


def main() -> None:
    """Run the limited batch, print a timeline, then show fail-fast."""
    origin = time.monotonic()
    timeline: dict[str, list[float]] = {}

    def record(event: ExecEvent) -> None:
        if event.phase in {ExecPhase.START, ExecPhase.EXIT}:
            timeline.setdefault(event.exec_id, []).append(time.monotonic() - origin)

    commands = [sh.make(SLEEP)("0.3") for _ in range(8)]
    with observe(record):
        batch = run_concurrent_sync(*commands, config=ConcurrentConfig(concurrency=3))
    print(f"8 commands, at most 3 at once: {time.monotonic() - origin:.2f} s, ok={batch.ok}")
    for number, (start, end) in enumerate(sorted(timeline.values()), start=1):
        bar = " " * int(start * 40) + "#" * max(1, int((end - start) * 40))
        print(f"  {number}  {start:4.2f}-{end:4.2f} s  {bar}")

    failing = run_concurrent_sync(
        sh.make(SLEEP)("30"),
        sh.make(FALSE)(),
        sh.make(SLEEP)("30"),
        config=ConcurrentConfig(fail_fast=True),
    )
    print(
        f"\nfail-fast: failed {failing.failed}, cancelled {failing.cancelled}, completed {failing.completed}"
    )


if __name__ == "__main__":
    main()
