"""Run stages: one command, or a pipeline's commands connected by pumps.

A lone command is a run of one stage; a pipeline is a run of several. The
order is fixed:

1. the scope's allowlist (``ForbiddenProgramError`` before any hook runs or
   any process starts);
2. validation: stream backend, timeout, environment, stdin;
3. ``plan`` events and before hooks;
4. spawn every stage as the leader of its own process group, connecting
   stage *i*'s stdout to stage *i + 1*'s stdin through a pump;
5. stdin, pumps, output readers and stage watchers, all concurrently;
6. ``exit`` events, results, after hooks.

Failure policy (pipelines)
--------------------------
* A stage *fails* when it exits non-zero on its own. An upstream stage
  killed by SIGPIPE after its downstream closed the hop is not a failure
  (pipefail with SIGPIPE forgiven; a shell wrapper's ``128 + SIGPIPE``
  status counts as SIGPIPE), and neither is a stage that Cuprum terminated
  because another stage failed.
* When a stage fails, every stage still running is terminated (its process
  group gets SIGTERM, then SIGKILL after the grace).
* ``failure_index`` is the first stage, in pipeline order, that failed.

A timeout or cancellation terminates every stage, stops every pump and
reader, closes every descriptor and reaps every process before the
exception leaves ``run()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Final

from cuprum.environment import build_environment
from cuprum.errors import ForbiddenProgramError, TimeoutExpired
from cuprum.events import SIGPIPE_STATUSES, ExecOutcome, ExecPhase
from cuprum.fds import OwnedFd, owned_pipe
from cuprum.hooks import run_after_hooks, run_before_hooks
from cuprum.observer import EventSource, new_exec_id
from cuprum.options import ExecutionContext, RunOutputOptions, resolve_timeout
from cuprum.output import OutputCollector
from cuprum.process import exit_code, run_to_completion, spawn, terminate_group
from cuprum.pumps import HopOutcome, pump_for
from cuprum.result import CommandResult, PipelineResult
from cuprum.scope import current_scope
from cuprum.stream_backend import resolve_stream_backend

if TYPE_CHECKING:
    from collections.abc import Coroutine, Sequence
    from typing import TextIO

    from cuprum.capture import Capture
    from cuprum.command import SafeCmd
    from cuprum.options import StdinInput
    from cuprum.pumps import Hop, Pump
    from cuprum.scope import ScopeState
    from cuprum.stream_backend import StreamBackend

_DEFAULT_OUTPUT: Final = RunOutputOptions()
_DEFAULT_CONTEXT: Final = ExecutionContext()
STDIN_CHUNK: Final = 64 * 1024
HOP_PIPE_SIZE: Final = 1024 * 1024
"""Kernel buffer asked for each hop pipe (F_SETPIPE_SZ): fewer, larger moves."""
HOP_BUFFER_SIZE: Final = 256 * 1024
"""Most bytes a pump moves per read (see docs/performance.md)."""


def check_allowed(scope: ScopeState, cmd: SafeCmd) -> None:
    """Raise ``ForbiddenProgramError`` unless the scope admits ``cmd``."""
    if not scope.is_allowed(cmd.program):
        raise ForbiddenProgramError(cmd.program, scope.allowlist or frozenset())


class _StdinProtocol(asyncio.BaseProtocol):
    """Flow control for the stdin pipe: ``drain()`` waits while the pipe is full."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._resumed: asyncio.Future[None] | None = None
        self.lost: asyncio.Future[Exception | None] = loop.create_future()

    def pause_writing(self) -> None:
        self._resumed = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._resumed is not None and not self._resumed.done():
            self._resumed.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)
        self.resume_writing()

    async def drain(self) -> None:
        """Wait until the pipe has room; raise ``BrokenPipeError`` once the reader is gone."""
        if self._resumed is not None:
            await self._resumed
            self._resumed = None
        if self.lost.done():
            raise self.lost.result() or BrokenPipeError("the child closed its stdin")


async def feed_stdin(sink: OwnedFd, data: bytes, events: EventSource) -> None:
    """Write ``data`` into the pipe ``sink`` with backpressure, then close it.

    The child closing its stdin early is an event (``stdin_error``), not an
    error; the descriptor is closed whatever happens.
    """
    loop = asyncio.get_running_loop()
    pipe = os.fdopen(sink.release(), "wb", buffering=0)
    transport: asyncio.WriteTransport | None = None
    view = memoryview(data)
    try:
        transport, protocol = await loop.connect_write_pipe(lambda: _StdinProtocol(loop), pipe)
        for offset in range(0, len(view), STDIN_CHUNK):
            await protocol.drain()
            transport.write(view[offset : offset + STDIN_CHUNK])
        await protocol.drain()
        transport.close()  # flushes the buffer, then reports connection_lost
        if error := await protocol.lost:
            raise error
    except (BrokenPipeError, ConnectionResetError) as error:
        await events.emit(ExecPhase.STDIN_ERROR, error=f"{type(error).__name__}: {error}")
    else:
        await events.emit(ExecPhase.STDIN, byte_count=len(data))
    finally:
        if transport is not None and not transport.is_closing():
            transport.abort()
        pipe.close()


def _hop_pipe() -> tuple[OwnedFd, OwnedFd]:
    read_end, write_end = owned_pipe()
    with contextlib.suppress(OSError, AttributeError):
        import fcntl  # noqa: PLC0415 (POSIX only)

        fcntl.fcntl(write_end.fileno(), fcntl.F_SETPIPE_SZ, HOP_PIPE_SIZE)
    return read_end, write_end


class _Stage:
    """One stage: its command, process, events, stderr and how it ended."""

    __slots__ = ("cmd", "events", "exited_at", "failed", "process", "stderr", "terminated")

    def __init__(self, cmd: SafeCmd, events: EventSource, stderr: OutputCollector) -> None:
        self.cmd = cmd
        self.events = events
        self.stderr = stderr
        self.process: asyncio.subprocess.Process | None = None
        self.exited_at: float | None = None
        self.terminated = False
        self.failed = False


class _Run:
    """Everything one run needs, in one place."""

    def __init__(
        self,
        cmds: Sequence[SafeCmd],
        *,
        staged: bool,
        scope: ScopeState,
        backend: StreamBackend,
        output: RunOutputOptions,
        context: ExecutionContext,
        stdin_bytes: bytes | None,
    ) -> None:
        self.output = output
        self.context = context
        self.stdin_bytes = stdin_bytes
        self.pump: Pump = pump_for(backend)
        exec_id = new_exec_id()
        cwd = None if context.cwd is None else os.fspath(context.cwd)
        self.stages: list[_Stage] = []
        for index, cmd in enumerate(cmds):
            events = EventSource(
                scope,
                exec_id=exec_id,
                program=cmd.program,
                argv=cmd.argv,
                cwd=cwd,
                tags=context.tags,
                stage=index if staged else None,
            )
            stderr = self._collector(ExecPhase.STDERR, events, context.stderr_sink or sys.stderr)
            self.stages.append(_Stage(cmd, events, stderr))
        last_events = self.stages[-1].events
        self.stdout_collector = self._collector(
            ExecPhase.STDOUT, last_events, context.stdout_sink or sys.stdout
        )
        self.stdout: Capture = self.stdout_collector
        self.hops: list[HopOutcome | None] = [None] * (len(cmds) - 1)
        self.live_hops: list[Hop | None] = [None] * (len(cmds) - 1)
        # Every parent-side descriptor of the run; closed (idempotently) at
        # the end even if the task meant to close one never got to run. All
        # stdio pipes are Cuprum's own, never asyncio's subprocess pipes, so
        # process.wait() returns when the process exits, on every Python.
        self.owned: list[OwnedFd] = []
        self.stdin_fd: OwnedFd | None = None
        self.stdout_fd: OwnedFd | None = None
        self.stderr_fds: list[OwnedFd | None] = [None] * len(cmds)
        self.tasks: list[asyncio.Future[None]] = []
        self.started = time.monotonic()
        # Why the run was cut short, if it was (TIMED_OUT or CANCELLED).
        self.ending: ExecOutcome | None = None

    def _collector(self, phase: ExecPhase, events: EventSource, sink: TextIO) -> OutputCollector:
        return OutputCollector(
            phase=phase,
            capture=self.output.capture,
            sink=sink if self.output.echo else None,
            encoding=self.context.encoding,
            errors=self.context.errors,
            events=events,
        )

    def _piped(self, events: EventSource) -> bool:
        return self.output.capture or self.output.echo or events.observed

    def _parent_reads(self, child_ends: list[OwnedFd], *, bulk: bool = False) -> tuple[OwnedFd, int]:
        """A pipe the child writes and the parent reads: (parent end, child fd).

        ``bulk`` asks for the large kernel buffer of a hop (for the captured
        stdout, which may carry as much as any hop).
        """
        parent_end, child_end = _hop_pipe() if bulk else owned_pipe()
        self.owned.append(parent_end)
        child_ends.append(child_end)
        return parent_end, child_end.fileno()

    async def spawn_all(self, env: dict[str, str] | None) -> list[tuple[OwnedFd, OwnedFd]]:
        """Start every stage; return each hop's parent-side (read, write) descriptors."""
        hop_ends: list[tuple[OwnedFd, OwnedFd]] = []
        last = len(self.stages) - 1
        upstream_read: OwnedFd | None = None
        for index, stage in enumerate(self.stages):
            child_ends: list[OwnedFd] = []
            try:
                if upstream_read is not None:
                    # The parent writes into this pipe; the stage reads it.
                    stage_read, parent_write = _hop_pipe()
                    child_ends.append(stage_read)
                    self.owned.append(parent_write)
                    hop_ends.append((upstream_read, parent_write))
                    stdin = stage_read.fileno()
                elif self.stdin_bytes is not None:
                    stage_read, self.stdin_fd = owned_pipe()
                    child_ends.append(stage_read)
                    self.owned.append(self.stdin_fd)
                    stdin = stage_read.fileno()
                else:
                    stdin = subprocess.DEVNULL
                if index < last:
                    upstream_read, stage_write = _hop_pipe()
                    self.owned.append(upstream_read)
                    child_ends.append(stage_write)
                    stdout = stage_write.fileno()
                elif self._piped(stage.events):
                    self.stdout_fd, stdout = self._parent_reads(child_ends, bulk=True)
                else:
                    stdout = subprocess.DEVNULL
                if self._piped(stage.events):
                    self.stderr_fds[index], stderr = self._parent_reads(child_ends)
                else:
                    stderr = subprocess.DEVNULL
                try:
                    stage.process = await spawn(
                        stage.cmd.argv,
                        env=env,
                        context=self.context,
                        stdin=stdin,
                        stdout=stdout,
                        stderr=stderr,
                    )
                except OSError as error:
                    # Observers learn that this run ended before it started.
                    await stage.events.emit(
                        ExecPhase.EXIT, error=f"{type(error).__name__}: {error}", outcome=ExecOutcome.FAILED
                    )
                    raise
            finally:
                # The child holds its ends now; ours must go, or EOF never comes.
                for end in child_ends:
                    end.close()
            stage.events.pid = stage.process.pid
            await stage.events.emit(ExecPhase.START)
        return hop_ends

    def start_io(self, hop_ends: list[tuple[OwnedFd, OwnedFd]]) -> None:
        """Start the stdin feeder, the pumps, the readers and the stage watchers."""
        io: list[Coroutine[object, object, None]] = []
        if self.stdin_fd is not None and self.stdin_bytes is not None:
            io.append(feed_stdin(self.stdin_fd, self.stdin_bytes, self.stages[0].events))
        io.extend(self._run_hop(index, source, sink) for index, (source, sink) in enumerate(hop_ends))
        io.extend(
            stage.stderr.read_fd(fd)
            for stage, fd in zip(self.stages, self.stderr_fds, strict=True)
            if fd is not None
        )
        if self.stdout_fd is not None:
            io.append(self.stdout_collector.read_fd(self.stdout_fd))
        io.extend(self._watch(stage) for stage in self.stages)
        self.tasks = [asyncio.ensure_future(coro) for coro in io]

    async def _run_hop(self, index: int, source: OwnedFd, sink: OwnedFd) -> None:
        hop = self.live_hops[index] = self.pump.start(source, sink, buffer_size=HOP_BUFFER_SIZE)
        try:
            self.hops[index] = await hop.wait()
        except asyncio.CancelledError:
            hop.cancel()
            self.hops[index] = await run_to_completion(hop.wait())
            raise

    async def _watch(self, stage: _Stage) -> None:
        if stage.process is None:
            return
        code = await stage.process.wait()
        stage.exited_at = time.monotonic()
        if code in SIGPIPE_STATUSES:
            await self._hop_settled(self.stages.index(stage))
        if code == 0 or stage.terminated or self._forgiven(stage, code):
            return
        stage.failed = True
        await self.terminate_running()

    async def _hop_settled(self, index: int) -> None:
        """Wait for the hop below stage ``index`` to end, before judging its SIGPIPE.

        A pump closes its source when the downstream has gone, and may do so
        (the Rust runtime does, on its own threads) before this loop has
        heard how the hop ended.
        """
        if index < len(self.live_hops) and (hop := self.live_hops[index]) is not None:
            with contextlib.suppress(Exception):
                self.hops[index] = await hop.wait()

    def _forgiven(self, stage: _Stage, code: int) -> bool:
        """SIGPIPE after the downstream closed the hop is how pipelines end early."""
        index = self.stages.index(stage)
        if code not in SIGPIPE_STATUSES or index >= len(self.hops):
            return False
        hop = self.hops[index]
        downstream = self.stages[index + 1].process
        return (hop is not None and hop.downstream_closed) or (
            downstream is not None and downstream.returncode is not None
        )

    async def terminate_running(self) -> None:
        """Terminate every stage still running (their groups), and reap them."""
        running = [s.process for s in self.stages if s.process is not None and s.process.returncode is None]
        for stage in self.stages:
            stage.terminated = stage.terminated or stage.process in running
        await asyncio.gather(*(terminate_group(process, self.context.cancel_grace) for process in running))

    async def wait(self) -> None:
        """Wait for every task; the pumps and readers end once the stages have."""
        await asyncio.gather(*self.tasks)

    def close_owned(self) -> None:
        """Close every parent-side descriptor still open (idempotent)."""
        for owned in self.owned:
            with contextlib.suppress(OSError):
                owned.close()

    async def tear_down(self) -> None:
        """Stop everything after a timeout, cancellation or error; reap every stage."""
        await self.terminate_running()
        if pending := [task for task in self.tasks if not task.done()]:
            # The pipes reach EOF once the groups are dead; bound the wait in
            # case a process that left its group still holds one.
            with contextlib.suppress(Exception):
                await run_to_completion(asyncio.wait(pending, timeout=max(self.context.cancel_grace, 0.1)))
        for task in self.tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await run_to_completion(_settle(self.tasks))
        self.close_owned()
        await self.stdout.finish(cut_short=True)
        for stage in self.stages:
            await stage.stderr.finish(cut_short=True)

    def outcome(self, stage: _Stage, code: int) -> ExecOutcome:
        """How a reaped stage ended, by the failure policy."""
        if stage.failed:
            return ExecOutcome.FAILED
        if stage.terminated:
            return self.ending or ExecOutcome.TERMINATED
        if code == 0:
            return ExecOutcome.OK
        return ExecOutcome.FORGIVEN if self._forgiven(stage, code) else ExecOutcome.FAILED

    async def emit_exits(self) -> None:
        """Emit each reaped stage's ``exit`` event."""
        for stage in self.stages:
            if stage.process is not None and (code := stage.process.returncode) is not None:
                ended = stage.exited_at or time.monotonic()
                await stage.events.emit(
                    ExecPhase.EXIT,
                    exit_code=code,
                    duration_s=ended - self.started,
                    outcome=self.outcome(stage, code),
                )

    def result(self) -> PipelineResult:
        """The run's result (every stage reaped)."""
        last = self.stages[-1]
        stages = tuple(
            CommandResult(
                program=stage.cmd.program,
                argv=stage.cmd.argv,
                exit_code=exit_code(stage.process) if stage.process is not None else -signal.SIGKILL,
                pid=stage.process.pid if stage.process is not None else 0,
                stdout=self.stdout.text() if stage is last else None,
                stderr=stage.stderr.text(),
            )
            for stage in self.stages
        )
        failures = [index for index, stage in enumerate(self.stages) if stage.failed]
        hop_bytes = tuple(hop.bytes_moved if hop is not None else 0 for hop in self.hops)
        return PipelineResult(
            stages=stages, failure_index=failures[0] if failures else None, hop_bytes=hop_bytes
        )

    def stderr_text(self) -> str | None:
        """Every stage's stderr, in order (for a timeout's report)."""
        parts = [stage.stderr.text() for stage in self.stages]
        if all(part is None for part in parts):
            return None
        return "".join(part or "" for part in parts)


async def _settle(tasks: list[asyncio.Future[None]]) -> None:
    await asyncio.gather(*tasks, return_exceptions=True)


async def _end_early(
    run: _Run, waiter: asyncio.Future[None] | None, error: BaseException, *, timed_out: bool
) -> None:
    """Tear a run down after a timeout, cancellation or error; report how it ended."""
    cancelled = isinstance(error, asyncio.CancelledError)
    run.ending = ExecOutcome.TIMED_OUT if timed_out else ExecOutcome.CANCELLED if cancelled else None
    await run.tear_down()
    if waiter is not None:
        waiter.cancel()
        with contextlib.suppress(BaseException):
            await run_to_completion(_settle([waiter]))
    if timed_out or cancelled:
        for stage in run.stages:
            await stage.events.emit(ExecPhase.TIMEOUT if timed_out else ExecPhase.CANCEL)
    await run.emit_exits()


async def run_stages(
    cmds: Sequence[SafeCmd],
    *,
    staged: bool,
    label: str,
    output: RunOutputOptions | None,
    timeout: float | None,
    context: ExecutionContext | None,
    stdin: StdinInput | None,
) -> PipelineResult:
    """Run ``cmds`` connected stdout to stdin; see ``SafeCmd.run`` and ``Pipeline.run``.

    Parameters
    ----------
    cmds
        One command, or a pipeline's stages.
    staged
        Whether events carry stage indices (pipelines) or not (a command).
    label
        The shell-quoted rendering for ``TimeoutExpired``.
    output, timeout, context, stdin
        As for ``run()``.
    """
    scope = current_scope()
    for cmd in cmds:
        check_allowed(scope, cmd)
    backend = resolve_stream_backend()
    output = output or _DEFAULT_OUTPUT
    context = context or _DEFAULT_CONTEXT
    limit = resolve_timeout(timeout, context, scope.timeout)
    env = build_environment(scope.env_overlays, context.env)
    stdin_bytes = stdin.encode(context.encoding) if stdin is not None else None

    run = _Run(
        cmds,
        staged=staged,
        scope=scope,
        backend=backend,
        output=output,
        context=context,
        stdin_bytes=stdin_bytes,
    )
    for stage in run.stages:
        await stage.events.emit(ExecPhase.PLAN)
    for cmd in cmds:
        await run_before_hooks(scope.before_hooks, cmd)

    deadline = asyncio.timeout(limit)
    waiter: asyncio.Future[None] | None = None
    try:
        async with deadline:
            run.start_io(await run.spawn_all(env))
            # Shielded: on a timeout the readers keep going while the stages
            # are torn down, so the partial output is complete.
            waiter = asyncio.ensure_future(run.wait())
            await asyncio.shield(waiter)
        run.close_owned()
    except BaseException as error:
        timed_out = isinstance(error, TimeoutError) and deadline.expired()
        await _end_early(run, waiter, error, timed_out=timed_out)
        if timed_out:
            raise TimeoutExpired(label, limit or 0.0, run.stdout.text(), run.stderr_text()) from None
        raise

    await run.emit_exits()
    result = run.result()
    for cmd, stage_result in zip(cmds, result.stages, strict=True):
        await run_after_hooks(scope.after_hooks, cmd, stage_result)
    return result
