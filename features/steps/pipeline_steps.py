"""Steps for pipelines.feature: parity of the stream backends and early close.

The steps never name a backend: each scenario runs under whatever
``CUPRUM_STREAM_BACKEND`` the test target set, so the same scenarios hold
every backend to the same results.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import signal
import textwrap
import time
from typing import TYPE_CHECKING, Final

from behave import given, then, when
from support import group_alive, py, shell

from cuprum import (
    CAT,
    HEAD,
    YES,
    ExecEvent,
    ExecPhase,
    Pipeline,
    SafeCmd,
    observe,
    sh,
)

if TYPE_CHECKING:
    from behave.runner import Context

    from cuprum import PipelineResult

RUN_TIMEOUT: Final = 30.0
"""Every run gets this timeout: a hang fails the scenario instead of stalling it."""


def mixed_utf8(seed: int, size: int) -> str:
    """Text of about ``size`` bytes whose characters cycle through 1, 2, 3 and 4 bytes."""
    import random  # noqa: PLC0415 (the child runs this function on its own)

    ranges = ((0x20, 0x7F), (0x80, 0x800), (0x800, 0xD800), (0x10000, 0x110000))
    rng = random.Random(seed)  # noqa: S311 (test data)
    chars: list[str] = []
    written = 0
    while written < size:
        width = len(chars) % 4
        low, high = ranges[width]
        chars.append(chr(rng.randrange(low, high)))
        written += width + 1
    return "".join(chars)


UTF8_WRITER: Final = "\n".join(
    [
        "import sys",
        textwrap.dedent(inspect.getsource(mixed_utf8)),
        textwrap.dedent("""
    data = mixed_utf8(int(sys.argv[1]), int(sys.argv[2])).encode("utf-8")
    offset, step = 0, 1
    while offset < len(data):
        sys.stdout.buffer.write(data[offset:offset + step])
        sys.stdout.buffer.flush()
        offset += step
        step = (step * 7 + 2) % 8191 | 1  # odd sizes: 1, 9, 65, 457, ...
    """),
    ]
)
"""Writes ``mixed_utf8(seed, size)`` in odd-sized, flushed chunks."""


def result_of(context: Context) -> PipelineResult:
    """The scenario's result; fails the step if the run raised instead."""
    assert context.run_error is None, f"the run raised {context.run_error!r}"
    result: PipelineResult = context.result
    return result


def add_stage(context: Context, stage: SafeCmd) -> None:
    stages: list[SafeCmd] = context.stages if hasattr(context, "stages") else []
    stages.append(stage)
    context.stages = stages


# --- given --------------------------------------------------------------------------


@given("a producer that writes nothing")
def step_empty_producer(context: Context) -> None:
    add_stage(context, shell(":"))


@given("a producer that writes {size:d} KiB of UTF-8 text mixing 1- to 4-byte characters in odd-sized chunks")
def step_utf8_producer(context: Context, size: int) -> None:
    seed = 1009 * size
    context.expected_text = mixed_utf8(seed, size * 1024)
    add_stage(context, py(UTF8_WRITER, str(seed), str(size * 1024)))


@given("a producer that never stops")
def step_endless_producer(context: Context) -> None:
    add_stage(context, sh.make(YES)())


@given("a producer that writes {count:d} lines and exits with status {status:d}")
def step_failing_producer(context: Context, count: int, status: int) -> None:
    context.expected_lines = [f"line {index}" for index in range(count)]
    add_stage(context, shell(f'for i in $(seq 0 {count - 1}); do echo "line $i"; done; exit {status}'))


@given("the pipeline fails fast")
def step_fail_fast(context: Context) -> None:
    context.fail_fast = True


@given("the pipeline continues through cat")
def step_through_cat(context: Context) -> None:
    add_stage(context, sh.make(CAT)())


@given("the pipeline continues through a stage that reads one line and exits with status {status:d}")
def step_through_failing_stage(context: Context, status: int) -> None:
    add_stage(context, shell(f"read line; exit {status}"))


@given("the pipeline continues through a stage that drains its input and then sleeps")
def step_through_sleeper(context: Context) -> None:
    add_stage(context, shell("cat >/dev/null; sleep 30"))


@given("the pipeline yes | head -n 1")
def step_yes_head(context: Context) -> None:
    add_stage(context, sh.make(YES)())
    add_stage(context, sh.make(HEAD)("-n", "1"))


@given("a three-stage pipeline whose stage {failing:d} exits with status {status:d}")
def step_three_stages_one_failing(context: Context, failing: int, status: int) -> None:
    normal = [sh.make(YES)(), sh.make(CAT)(), shell("cat >/dev/null")]
    # A failing stage with input reads first, so it fails while data flows.
    failing_stage = shell(f"echo x; exit {status}") if failing == 0 else shell(f"read line; exit {status}")
    for index, stage in enumerate(normal):
        add_stage(context, failing_stage if index == failing else stage)


# --- when -----------------------------------------------------------------------------


@when("the pipeline runs")
def step_run(context: Context) -> None:
    pipeline = Pipeline(tuple(context.stages), fail_fast=getattr(context, "fail_fast", False))
    pids: dict[int, int] = {}

    def record(event: ExecEvent) -> None:
        if event.phase is ExecPhase.START and event.stage is not None and event.pid is not None:
            pids[event.stage] = event.pid

    context.pids = pids
    context.result = None
    context.run_error = None
    started = time.monotonic()
    try:
        with observe(record):
            context.result = asyncio.run(pipeline.run(timeout=RUN_TIMEOUT))
    except Exception as error:  # noqa: BLE001 (reported by the Then steps)
        context.run_error = error
    finally:
        context.elapsed = time.monotonic() - started
        for pid in pids.values():
            context.cleanups.append(lambda pid=pid: _kill_group_quietly(pid))


def _kill_group_quietly(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


# --- then -------------------------------------------------------------------------------


@then("the pipeline succeeds")
def step_succeeds(context: Context) -> None:
    result = result_of(context)
    assert result.ok, f"stage {result.failure_index} failed: {result.exit_codes}"
    assert result.failure_index is None


@then("the pipeline succeeds within {seconds:d} seconds")
def step_succeeds_quickly(context: Context, seconds: int) -> None:
    step_succeeds(context)
    assert context.elapsed < seconds, f"took {context.elapsed:.2f} s"


@then("the pipeline fails at stage {index:d} within {seconds:d} seconds")
def step_fails_at(context: Context, index: int, seconds: int) -> None:
    result = result_of(context)
    assert not result.ok
    assert result.failure_index == index, (result.failure_index, result.exit_codes)
    assert context.elapsed < seconds, f"took {context.elapsed:.2f} s: the other stages were not stopped"


@then("the output is empty")
def step_output_empty(context: Context) -> None:
    assert result_of(context).stdout == ""


@then("the output is the {count:d} lines")
def step_output_lines(context: Context, count: int) -> None:
    expected: list[str] = context.expected_lines
    assert len(expected) == count
    assert result_of(context).stdout == "".join(f"{line}\n" for line in expected)


@then('the output is the line "{line}"')
def step_output_line(context: Context, line: str) -> None:
    assert result_of(context).stdout == line + "\n", result_of(context).stdout


@then("the output is exactly the text that was written")
def step_output_is_text(context: Context) -> None:
    stdout = result_of(context).stdout
    expected: str = context.expected_text
    assert stdout is not None
    assert len(stdout) == len(expected), (len(stdout), len(expected))
    assert stdout == expected, "the text arrived changed"


@then("every hop carried {count:d} bytes")
def step_hop_bytes(context: Context, count: int) -> None:
    result = result_of(context)
    assert result.hop_bytes == (count,) * (len(result.stages) - 1), result.hop_bytes


@then("every hop carried exactly the encoded text")
def step_hop_bytes_text(context: Context) -> None:
    expected: str = context.expected_text
    step_hop_bytes(context, len(expected.encode("utf-8")))


@then("stage {index:d} exited with status {status:d}")
def step_stage_status(context: Context, index: int, status: int) -> None:
    assert result_of(context).stages[index].exit_code == status, result_of(context).exit_codes


@then("stage {index:d} was killed by SIGPIPE but is not blamed")
def step_stage_sigpipe(context: Context, index: int) -> None:
    result = result_of(context)
    assert result.stages[index].exit_code == -signal.SIGPIPE, result.exit_codes
    assert result.failure_index != index


@then("stage {index:d} was terminated by Cuprum and is not blamed")
def step_stage_terminated(context: Context, index: int) -> None:
    result = result_of(context)
    assert result.stages[index].exit_code == -signal.SIGTERM, result.exit_codes
    assert result.failure_index != index


@then("no stage's process group is left alive")
def step_no_group_alive(context: Context) -> None:
    pids: dict[int, int] = context.pids
    assert len(pids) == len(context.stages), pids
    deadline = time.monotonic() + 5.0  # SIGKILL is delivered asynchronously
    alive = [pid for pid in pids.values() if group_alive(pid)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.01)
        alive = [pid for pid in alive if group_alive(pid)]
    assert not alive, f"process groups still alive: {alive}"
