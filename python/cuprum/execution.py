"""Run one command: the allowlist, hooks, the process, its I/O and its end.

The order of a run is fixed: allowlist check (``ForbiddenProgramError``
before any hook runs or any process starts), validation of the environment
and options, the ``plan`` event, before hooks, spawn, then stdin, stdout
and stderr concurrently with the wait, and finally after hooks. A timeout or
cancellation terminates the whole process group and reaps it before the
exception leaves ``run()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Final

from cuprum.capture import Capture, rust_capture_eligible
from cuprum.environment import build_environment
from cuprum.errors import CommandFailed, ForbiddenProgramError, TimeoutExpired
from cuprum.events import ExecPhase
from cuprum.fds import OwnedFd, owned_pipe
from cuprum.observer import EventSource, new_exec_id
from cuprum.options import ExecutionContext, RunOutputOptions, resolve_timeout
from cuprum.output import OutputCollector
from cuprum.process import exit_code, run_to_completion, spawn, terminate_group
from cuprum.result import CommandResult
from cuprum.scope import current_scope
from cuprum.stream_backend import resolve_stream_backend

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from cuprum.command import SafeCmd
    from cuprum.options import StdinInput
    from cuprum.scope import AfterHook, BeforeHook, Hook, ScopeState

_DEFAULT_OUTPUT: Final = RunOutputOptions()
_DEFAULT_CONTEXT: Final = ExecutionContext()
STDIN_CHUNK: Final = 64 * 1024


def check_allowed(scope: ScopeState, cmd: SafeCmd) -> None:
    """Raise ``ForbiddenProgramError`` unless the scope admits ``cmd``."""
    if not scope.is_allowed(cmd.program):
        raise ForbiddenProgramError(cmd.program, scope.allowlist or frozenset())


def working_directory(context: ExecutionContext) -> str | None:
    """The context's cwd as a string, for events."""
    return os.fspath(context.cwd) if context.cwd is not None else None


async def run_before_hooks(hooks: tuple[Hook[BeforeHook], ...], cmd: SafeCmd) -> None:
    """Run before hooks in order; an exception stops the run before spawning."""
    for hook in hooks:
        outcome = hook.function(cmd)
        if hook.is_async:
            await outcome  # pyright: ignore[reportGeneralTypeIssues]


async def run_after_hooks(hooks: tuple[Hook[AfterHook], ...], cmd: SafeCmd, result: CommandResult) -> None:
    """Run after hooks, innermost first."""
    for hook in hooks:
        outcome = hook.function(cmd, result)
        if hook.is_async:
            await outcome  # pyright: ignore[reportGeneralTypeIssues]


async def feed_stdin(writer: asyncio.StreamWriter, data: bytes, events: EventSource) -> None:
    """Write ``data`` with backpressure, then close; an early close is an event, not an error."""
    view = memoryview(data)
    try:
        for offset in range(0, len(view), STDIN_CHUNK):
            writer.write(view[offset : offset + STDIN_CHUNK])
            await writer.drain()
        writer.close()
        await writer.wait_closed()
    except (BrokenPipeError, ConnectionResetError) as error:
        writer.close()
        await events.emit(ExecPhase.STDIN_ERROR, error=f"{type(error).__name__}: {error}")
    else:
        await events.emit(ExecPhase.STDIN, byte_count=len(data))


async def execute(
    cmd: SafeCmd,
    *,
    output: RunOutputOptions | None = None,
    timeout: float | None = None,
    context: ExecutionContext | None = None,
    stdin: StdinInput | None = None,
    check: bool = False,
) -> CommandResult:
    """Run ``cmd`` to completion; see ``SafeCmd.run`` for the contract."""
    scope = current_scope()
    check_allowed(scope, cmd)
    backend = resolve_stream_backend()
    output = output or _DEFAULT_OUTPUT
    context = context or _DEFAULT_CONTEXT
    limit = resolve_timeout(timeout, context, scope.timeout)
    env = build_environment(scope.env_overlays, context.env)
    stdin_bytes = stdin.encode(context.encoding) if stdin is not None else None

    events = EventSource(
        scope,
        exec_id=new_exec_id(),
        program=cmd.program,
        argv=cmd.argv,
        cwd=working_directory(context),
        tags=context.tags,
        stage=None,
    )
    await events.emit(ExecPhase.PLAN)
    await run_before_hooks(scope.before_hooks, cmd)

    stdout = OutputCollector(
        phase=ExecPhase.STDOUT,
        capture=output.capture,
        sink=(context.stdout_sink or sys.stdout) if output.echo else None,
        encoding=context.encoding,
        errors=context.errors,
        events=events,
    )
    stderr = OutputCollector(
        phase=ExecPhase.STDERR,
        capture=output.capture,
        sink=(context.stderr_sink or sys.stderr) if output.echo else None,
        encoding=context.encoding,
        errors=context.errors,
        events=events,
    )
    piped = output.capture or output.echo or events.observed
    captured_stdout: Capture = stdout
    io: list[Coroutine[object, object, None]] = []
    rust_stdout: tuple[OwnedFd, OwnedFd] | None = None
    if rust_capture_eligible(backend, output, context, events):
        from cuprum.pumps.rust import RustCapture  # noqa: PLC0415 (needs the extension)

        captured_stdout = rust_capture = RustCapture()
        rust_stdout = owned_pipe()
        io.append(rust_capture.read_fd(rust_stdout[0]))
    started = time.monotonic()
    try:
        process = await spawn(
            cmd.argv,
            env=env,
            context=context,
            stdin=subprocess.PIPE if stdin_bytes is not None else subprocess.DEVNULL,
            stdout=rust_stdout[1].fileno() if rust_stdout else subprocess.PIPE if piped else subprocess.DEVNULL,
            stderr=subprocess.PIPE if piped else subprocess.DEVNULL,
        )
    except BaseException:
        for coro in io:
            coro.close()
        if rust_stdout:
            rust_stdout[0].close()
        raise
    finally:
        if rust_stdout:
            rust_stdout[1].close()  # the child has its copy
    events.pid = process.pid
    await events.emit(ExecPhase.START)

    if stdin_bytes is not None and process.stdin is not None:
        io.append(feed_stdin(process.stdin, stdin_bytes, events))
    if process.stdout is not None:
        io.append(stdout.read_from(process.stdout))
    if process.stderr is not None:
        io.append(stderr.read_from(process.stderr))
    communicate = asyncio.ensure_future(_communicate(process, io))
    deadline = asyncio.timeout(limit)
    try:
        async with deadline:
            await asyncio.shield(communicate)
    except BaseException as error:
        await _tear_down(process, communicate, context.cancel_grace, captured_stdout, stderr)
        if rust_stdout:
            rust_stdout[0].close()  # in case its reader never got to run
        timed_out = isinstance(error, TimeoutError) and deadline.expired()
        if timed_out or isinstance(error, asyncio.CancelledError):
            await events.emit(ExecPhase.TIMEOUT if timed_out else ExecPhase.CANCEL)
        await _emit_exit(events, process, started)
        if timed_out:
            raise TimeoutExpired(cmd.shell_quoted, limit or 0.0, captured_stdout.text(), stderr.text()) from None
        raise

    await _emit_exit(events, process, started)
    result = CommandResult(
        program=cmd.program,
        argv=cmd.argv,
        exit_code=exit_code(process),
        pid=process.pid,
        stdout=captured_stdout.text(),
        stderr=stderr.text(),
    )
    await run_after_hooks(scope.after_hooks, cmd, result)
    if check and not result.ok:
        raise CommandFailed(result)
    return result


async def _communicate(process: asyncio.subprocess.Process, io: list[Coroutine[object, object, None]]) -> None:
    """Run the I/O and the wait together; the process is reaped when this returns."""
    await asyncio.gather(*io, process.wait())


async def _tear_down(
    process: asyncio.subprocess.Process,
    communicate: asyncio.Future[None],
    grace: float,
    *collectors: Capture,
) -> None:
    """Terminate the group, let the readers drain what is left, and stop them."""
    await terminate_group(process, grace)
    # With the group dead the pipes reach EOF, unless a process that left the
    # group still holds them: bound the drain by the grace, then stop it.
    with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
        await run_to_completion(asyncio.wait_for(asyncio.shield(communicate), timeout=max(grace, 0.1)))
    if not communicate.done():
        communicate.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await run_to_completion(_wait(communicate))
    for collector in collectors:
        await collector.finish()


async def _wait(future: asyncio.Future[None]) -> None:
    await future


async def _emit_exit(events: EventSource, process: asyncio.subprocess.Process, started: float) -> None:
    await events.emit(ExecPhase.EXIT, exit_code=exit_code(process), duration_s=time.monotonic() - started)
