"""Steps for concurrency.feature."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from behave import given, then, when

from cuprum import (
    ECHO,
    FALSE,
    SLEEP,
    ConcurrentConfig,
    ExecEvent,
    ExecPhase,
    observe,
    run_concurrent_sync,
    sh,
)

if TYPE_CHECKING:
    from behave.runner import Context


@given('a batch of echo commands for "{first}", "{second}" and "{third}"')
def step_echo_batch(context: Context, first: str, second: str, third: str) -> None:
    context.batch = [sh.make(ECHO)(word) for word in (first, second, third)]


@given("a batch of a long sleep, a failing command and another long sleep")
def step_failing_batch(context: Context) -> None:
    context.batch = [sh.make(SLEEP)("30"), sh.make(FALSE)(), sh.make(SLEEP)("30")]


@when("the batch runs with at most {limit:d} at once")
def step_run_limited(context: Context, limit: int) -> None:
    context.outcome = run_concurrent_sync(*context.batch, config=ConcurrentConfig(concurrency=limit))


@when("the batch runs with fail-fast")
def step_run_fail_fast(context: Context) -> None:
    pids: list[int] = []

    def remember(event: ExecEvent) -> None:
        if event.phase is ExecPhase.START and event.pid is not None:
            pids.append(event.pid)

    started = time.monotonic()
    with observe(remember):
        context.outcome = run_concurrent_sync(*context.batch, config=ConcurrentConfig(fail_fast=True))
    context.elapsed = time.monotonic() - started
    context.pids = pids


@then('the outputs are "{first}", "{second}" and "{third}" in that order')
def step_outputs_in_order(context: Context, first: str, second: str, third: str) -> None:
    outputs = [result.stdout for result in context.outcome.results]
    assert outputs == [f"{first}\n", f"{second}\n", f"{third}\n"], outputs


@then("every command completed")
def step_all_completed(context: Context) -> None:
    assert context.outcome.ok, context.outcome
    assert context.outcome.completed == (0, 1, 2)


@then("command {index:d} is reported as failed")
def step_failed(context: Context, index: int) -> None:
    assert context.outcome.failed == (index,), context.outcome.failed


@then("commands {first:d} and {second:d} are reported as cancelled")
def step_cancelled(context: Context, first: int, second: int) -> None:
    assert context.outcome.cancelled == (first, second), context.outcome.cancelled
    assert context.elapsed < 20, context.elapsed  # the sleeps would take 30 s


@then("no process of the batch is left running")
def step_nothing_left(context: Context) -> None:
    for pid in context.pids:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            continue
        msg = f"process group {pid} survived the batch"
        raise AssertionError(msg)
