"""Steps for command_core.feature: the catalogue, scopes, timeouts and check.

The test catalogue (``sh`` and this interpreter) and the process-group
check come from the unit tests' ``support`` module.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shlex
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from behave import given, then, when
from support import group_alive, shell

from cuprum import (
    CommandFailed,
    CommandResult,
    ExecEvent,
    ExecPhase,
    ForbiddenProgramError,
    Program,
    SafeCmd,
    ScopeConfig,
    TimeoutExpired,
    UnknownProgramError,
    observe,
    scoped,
    sh,
)

if TYPE_CHECKING:
    from behave.runner import Context

RUN_TIMEOUT: Final = 30.0
"""Runs without a timeout of their own get this one: a hang fails instead of stalling."""


def scratch_directory(context: Context) -> Path:
    """A temporary directory for the scenario, removed after it."""
    if getattr(context, "scratch", None) is None:
        context.scratch = Path(tempfile.mkdtemp(prefix="cuprum-behave-"))
        context.cleanups.append(lambda: shutil.rmtree(context.scratch, ignore_errors=True))
    return context.scratch


def run_command(context: Context, *, timeout: float = RUN_TIMEOUT, check: bool = False) -> None:
    """Run the scenario's command, observed, keeping its result or its exception."""
    events: list[ExecEvent] = []
    context.events = events
    context.result = None
    context.error = None
    started = time.monotonic()
    try:
        with contextlib.ExitStack() as observing:
            observing.enter_context(observe(events.append))
            for observer in getattr(context, "observers", ()):
                observing.enter_context(observe(observer))
            context.result = context.command.run_sync(timeout=timeout, check=check)
    except (OSError, CommandFailed, ValueError, TypeError) as error:
        context.error = error
    finally:
        context.elapsed = time.monotonic() - started
        # Should a scenario fail half-way, leave no process behind.
        context.cleanups.extend(functools.partial(_kill_group_quietly, pid) for pid in started_pids(context))


def _kill_group_quietly(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def started_pids(context: Context) -> list[int]:
    """The pids of the processes the run started, from its ``start`` events."""
    events: list[ExecEvent] = context.events
    return [event.pid for event in events if event.phase is ExecPhase.START and event.pid is not None]


def expect_result(context: Context) -> CommandResult:
    """The run's result (failing the step with the exception if it raised)."""
    assert context.error is None, f"the run raised {context.error!r}"
    result: CommandResult = context.result
    return result


# --- given -------------------------------------------------------------------


@given('a command for the catalogued program "{program}" with the arguments "{first}" and "{second}"')
def step_catalogued_command(context: Context, program: str, first: str, second: str) -> None:
    context.command = sh.make(program)(first, second)


@given('a scope that allows only "{program}"')
def step_scope_allows_one(context: Context, program: str) -> None:
    handle = scoped(ScopeConfig(allowlist={Program(program)}))
    context.cleanups.append(handle.detach)


@given('a scope that allows both "{first}" and "{second}"')
def step_scope_allows_two(context: Context, first: str, second: str) -> None:
    handle = scoped(ScopeConfig(allowlist={Program(first), Program(second)}))
    context.cleanups.append(handle.detach)


@given("a shell command that would leave a marker file behind")
def step_marker_command(context: Context) -> None:
    context.marker = scratch_directory(context) / "marker"
    context.command = shell(f": > {shlex.quote(str(context.marker))}")


@given('a shell command that prints "{text}" and then waits for a background sleep')
def step_tree_command(context: Context, text: str) -> None:
    context.command = shell(f"echo {shlex.quote(text)}; sleep 100 & wait")


@given("an async observer that never returns once the command has started")
def step_hung_observer(context: Context) -> None:
    async def hang(event: ExecEvent) -> None:
        if event.phase is ExecPhase.START:
            await asyncio.Event().wait()

    context.observers = [*getattr(context, "observers", ()), hang]


@given('a shell command that writes "{text}" to its standard error and exits with status {status:d}')
def step_failing_command(context: Context, text: str, status: int) -> None:
    context.command = shell(f"echo {shlex.quote(text)} >&2; exit {status}")


# --- when --------------------------------------------------------------------


@when('a command is built for the program "{program}" from the default catalogue')
def step_build_unknown(context: Context, program: str) -> None:
    context.command = None
    context.error = None
    try:
        context.command = sh.make(program)()
    except UnknownProgramError as error:
        context.error = error


@when("the command is run")
def step_run(context: Context) -> None:
    run_command(context)


@when("the command is run with check")
def step_run_checked(context: Context) -> None:
    run_command(context, check=True)


@when("the command is run with a timeout of {seconds:g} seconds")
def step_run_with_timeout(context: Context, seconds: float) -> None:
    run_command(context, timeout=seconds)


# --- then --------------------------------------------------------------------


@then("the command exits with status {status:d}")
def step_exit_status(context: Context, status: int) -> None:
    result = expect_result(context)
    assert result.exit_code == status, result
    assert result.ok == (status == 0)


@then('its standard output is "{text}"')
def step_stdout(context: Context, text: str) -> None:
    result = expect_result(context)
    assert result.stdout == f"{text}\n", result.stdout


@then('its standard error is "{text}"')
def step_stderr(context: Context, text: str) -> None:
    result = expect_result(context)
    assert result.stderr == f"{text}\n", result.stderr


@then('an UnknownProgramError names "{program}"')
def step_unknown_program(context: Context, program: str) -> None:
    error = context.error
    assert isinstance(error, UnknownProgramError), error
    assert isinstance(error, LookupError)
    assert error.program == program
    assert repr(program) in str(error), str(error)


@then("no command was built")
def step_nothing_built(context: Context) -> None:
    assert context.command is None, context.command


@then('a ForbiddenProgramError names "{program}"')
def step_forbidden(context: Context, program: str) -> None:
    error = context.error
    assert isinstance(error, ForbiddenProgramError), error
    assert isinstance(error, PermissionError)
    assert error.program == program
    assert "not allowed in this scope" in str(error), str(error)


@then("the marker file does not exist")
def step_no_marker(context: Context) -> None:
    assert not context.marker.exists(), "the command ran after all"


@then("the marker file exists")
def step_marker(context: Context) -> None:
    assert context.marker.exists(), "the command did not run"


@then("nothing about the command was observed")
def step_nothing_observed(context: Context) -> None:
    assert context.events == [], context.events


@then("a TimeoutExpired is raised within {seconds:g} seconds")
def step_timed_out(context: Context, seconds: float) -> None:
    error = context.error
    assert isinstance(error, TimeoutExpired), error
    assert isinstance(error, TimeoutError)
    assert context.elapsed < seconds, f"took {context.elapsed:.2f} s"


@then('the TimeoutExpired reports the standard output "{text}"')
def step_timeout_output(context: Context, text: str) -> None:
    error: TimeoutExpired = context.error
    assert error.stdout == f"{text}\n", error.stdout
    assert error.stderr == "", error.stderr


@then("the TimeoutExpired names the command and its timeout of {seconds:g} seconds")
def step_timeout_details(context: Context, seconds: float) -> None:
    error: TimeoutExpired = context.error
    command: SafeCmd = context.command
    assert error.command == command.shell_quoted, error.command
    assert shlex.split(error.command) == list(command.argv)
    assert error.timeout == seconds
    assert error.command in str(error)


@then("no process of the command's process group is left alive")
def step_group_gone(context: Context) -> None:
    pids = started_pids(context)
    assert len(pids) == 1, pids
    # SIGKILL was sent before run() returned; allow the kernel a moment.
    deadline = time.monotonic() + 2
    while group_alive(pids[0]):
        assert time.monotonic() < deadline, f"process group {pids[0]} is still alive"
        time.sleep(0.01)


@then("a CommandFailed is raised")
def step_command_failed(context: Context) -> None:
    assert isinstance(context.error, CommandFailed), context.error


@then("the failed result has exit status {status:d}")
def step_failed_status(context: Context, status: int) -> None:
    error: CommandFailed = context.error
    assert error.result.exit_code == status, error.result
    assert not error.result.ok
    assert f"status {status}" in str(error), str(error)


@then('the failed result\'s standard error is "{text}"')
def step_failed_stderr(context: Context, text: str) -> None:
    error: CommandFailed = context.error
    assert error.result.stderr == f"{text}\n", error.result.stderr
