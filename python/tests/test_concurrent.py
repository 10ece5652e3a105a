"""Tests for run_concurrent: ordering, limits, allowlists, hooks and fail-fast."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import support

from cuprum import (
    ECHO,
    FALSE,
    CommandResult,
    ConcurrentConfig,
    ExecEvent,
    ExecPhase,
    ForbiddenProgramError,
    SafeCmd,
    ScopeConfig,
    TimeoutExpired,
    after,
    before,
    observe,
    run_concurrent,
    run_concurrent_sync,
    scoped,
    sh,
)

# A child that reports when it started and ended, by its own clock.
INTERVAL = (
    "import json, sys, time; s = time.time(); time.sleep(float(sys.argv[1])); "
    "print(json.dumps([s, time.time()]))"
)


def interval(seconds: float) -> SafeCmd:
    return support.py(INTERVAL, str(seconds))


def max_overlap(spans: list[tuple[float, float]]) -> int:
    """The largest number of spans open at one instant."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def test_results_come_back_in_submission_order() -> None:
    words = [f"w{i}" for i in range(8)]
    batch = run_concurrent_sync(*(sh.make(ECHO)(word) for word in words))
    assert [result.stdout for result in batch.results if result is not None] == [f"{w}\n" for w in words]
    assert batch.ok
    assert batch.completed == tuple(range(8))
    assert batch.failed == batch.cancelled == ()


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_the_concurrency_limit_holds_by_the_childrens_own_clocks(limit: int) -> None:
    batch = run_concurrent_sync(
        *(interval(0.2) for _ in range(6)), config=ConcurrentConfig(concurrency=limit)
    )
    spans = [tuple(json.loads(result.stdout or "")) for result in batch.results if result is not None]
    assert len(spans) == 6
    assert max_overlap(spans) <= limit  # pyright: ignore[reportArgumentType]


def test_without_a_limit_everything_runs_at_once() -> None:
    batch = run_concurrent_sync(*(interval(0.5) for _ in range(4)))
    spans = [tuple(json.loads(result.stdout or "")) for result in batch.results if result is not None]
    assert max_overlap(spans) == 4  # pyright: ignore[reportArgumentType]


def test_pipelines_and_commands_mix() -> None:
    batch = run_concurrent_sync(sh.make(ECHO)("a") | support.shell("tr a b"), sh.make(ECHO)("c"))
    assert [result.stdout for result in batch.results if result is not None] == ["b\n", "c\n"]


def test_the_allowlist_is_checked_before_anything_starts() -> None:
    started: list[str] = []
    config = ScopeConfig(allowlist={ECHO}, before_hooks=(lambda cmd: started.append(cmd.program),))
    with scoped(config), pytest.raises(ForbiddenProgramError):
        run_concurrent_sync(sh.make(ECHO)("fine"), sh.make(FALSE)())
    assert started == []


def test_hooks_fire_for_every_command() -> None:
    befores: list[str] = []
    afters: list[int] = []
    exits: list[str] = []

    def on_event(event: ExecEvent) -> None:
        if event.phase is ExecPhase.EXIT:
            exits.append(event.exec_id)

    with (
        before(lambda cmd: befores.append(cmd.shell_quoted)),
        after(lambda _cmd, r: afters.append(r.exit_code)),
        observe(on_event),
    ):
        run_concurrent_sync(sh.make(ECHO)("x"), sh.make(ECHO)("y"), sh.make(FALSE)())
    assert sorted(befores) == ["echo x", "echo y", "false"]
    assert sorted(afters) == [0, 0, 1]
    assert len(set(exits)) == 3


def test_failures_are_reported_without_fail_fast() -> None:
    batch = run_concurrent_sync(sh.make(ECHO)("ok"), sh.make(FALSE)(), support.shell("exit 3"))
    assert batch.completed == (0, 1, 2)
    assert batch.failed == (1, 2)
    assert batch.cancelled == ()
    assert not batch.ok


def test_fail_fast_cancels_the_rest_and_leaves_no_process() -> None:
    pids: list[int] = []

    def on_start(event: ExecEvent) -> None:
        if event.phase is ExecPhase.START and event.pid is not None:
            pids.append(event.pid)

    sleepers = [support.shell("sleep 100 & wait") for _ in range(3)]
    started = time.monotonic()
    with observe(on_start):
        batch = run_concurrent_sync(
            *sleepers,
            support.shell("sleep 0.2; exit 7"),
            *sleepers,
            config=ConcurrentConfig(concurrency=4, fail_fast=True),
        )
    assert time.monotonic() - started < 10
    assert batch.failed == (3,)
    failure = batch.results[3]
    assert isinstance(failure, CommandResult)
    assert failure.exit_code == 7
    assert batch.cancelled == (0, 1, 2, 4, 5, 6)
    assert batch.completed == (3,)
    assert len(pids) == 4, "the three queued commands never started"
    for pid in pids:
        assert not support.group_alive(pid)


def test_fail_fast_also_stops_at_a_timeout() -> None:
    batch = run_concurrent_sync(
        support.shell("sleep 100"),
        support.shell("sleep 100 & wait"),
        config=ConcurrentConfig(timeout=0.3, fail_fast=True),
    )
    assert isinstance(batch.errors[0], TimeoutExpired) or isinstance(batch.errors[1], TimeoutExpired)
    assert set(batch.failed) | set(batch.cancelled) == {0, 1}


def test_cancelling_the_batch_reaps_every_group() -> None:
    pids: list[int] = []

    def on_start(event: ExecEvent) -> None:
        if event.phase is ExecPhase.START and event.pid is not None:
            pids.append(event.pid)

    async def main() -> None:
        batch = run_concurrent(*(support.shell("sleep 100 & wait") for _ in range(3)))
        task = asyncio.ensure_future(batch)
        while len(pids) < 3:  # noqa: ASYNC110 (polling the observer's record)
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with observe(on_start), support.no_fd_leak():
        asyncio.run(main())
    for pid in pids:
        assert not support.group_alive(pid)


@pytest.mark.parametrize("limit", [0, -1, 1.5, True])
def test_an_invalid_limit_is_refused(limit: object) -> None:
    with pytest.raises(ValueError, match="positive int"):
        ConcurrentConfig(concurrency=limit)  # pyright: ignore[reportArgumentType]


def test_run_concurrent_sync_refuses_a_running_loop() -> None:
    async def main() -> None:
        run_concurrent_sync(sh.make(ECHO)("x"))

    with pytest.raises(RuntimeError, match=r"run_concurrent_sync\(\) cannot be called while an event loop"):
        asyncio.run(main())


def test_an_empty_batch_is_fine() -> None:
    batch = run_concurrent_sync()
    assert batch.results == ()
    assert batch.ok
