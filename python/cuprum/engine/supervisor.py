"""One run: spawn every stage, move the bytes, apply the policy, keep the deadline, tear down.

The run is *finished* when every process has exited and every stream has
ended (each reader at EOF, each hop done, stdin written). The ways it can
be cut short all go through ``teardown``, which is idempotent:

1. every stage's process group gets SIGTERM (also a group whose leader has
   exited: the leader is kept as a zombie, so the group id stays its own);
2. up to ``cancel_grace`` seconds for the leaders to exit;
3. SIGKILL to every group (grandchildren that ignored SIGTERM included),
   and the wait for every leader;
4. the streams get a short while to reach EOF, then are stopped (a process
   that escaped its group with ``setsid`` cannot keep the run open);
5. ``close()`` reaps every zombie and closes every descriptor.

The deadline is a loop timer, not the awaiting coroutine: it terminates the
processes at the deadline, whatever observers or the caller are doing.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from typing import TYPE_CHECKING, Final

from cuprum.engine import stdio
from cuprum.engine.child import Child, spawn
from cuprum.engine.live_streams import LiveStdin, LiveStream
from cuprum.engine.resolve import forget
from cuprum.engine.streams import OutputSink, PipeReader, PipeWriter
from cuprum.events import SIGPIPE_STATUSES, ExecOutcome, ExecPhase
from cuprum.pumps import pump_for

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, Coroutine

    from cuprum.engine.plan import Plan
    from cuprum.engine.substitution import Substitutions
    from cuprum.pumps import Hop, HopOutcome

STREAM_GRACE: Final = 0.25
"""Seconds the streams get, after every process group is dead, to reach EOF."""


class Supervisor:
    """Everything one run has started, and the rules for ending it."""

    def __init__(self, plan: Plan, substitutions: Substitutions | None = None) -> None:
        self.plan = plan
        self._substitutions = substitutions
        self.loop = asyncio.get_running_loop()
        count = len(plan.stages)
        self.children: list[Child | None] = [None] * count
        self.exited_at: list[float | None] = [None] * count
        self.signalled = [False] * count
        self.hops: list[Hop | None] = [None] * (count - 1)
        self.hop_outcomes: list[HopOutcome | None] = [None] * (count - 1)
        self.readers: list[PipeReader] = []
        self.stdout_sink: OutputSink | None = None
        self.stderr_sinks: list[OutputSink | None] = [None] * count
        self.live_stdout: LiveStream[str] | LiveStream[bytes] | None = None
        self.live_stdin: LiveStdin | None = None
        self.ending: ExecOutcome | None = None
        self.error: BaseException | None = None
        self.spawn_error: tuple[int, OSError] | None = None
        self.started_at = time.monotonic()
        self._plumbing: stdio.Plumbing | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._feeders: list[asyncio.Task[None]] = []
        self._stdin_writer: PipeWriter | None = None
        self._stdin_reader_gone = False
        self._open_streams = 0
        self._changed = asyncio.Event()
        self._timers: list[asyncio.TimerHandle] = []
        self._teardown: asyncio.Task[None] | None = None
        self._closed = False
        self._failed_fast = False

    # -- starting ---------------------------------------------------------------

    def spawn(self) -> None:
        """Open the descriptors and start every stage, with no ``await`` in between.

        Raises
        ------
        OSError
            When a stage cannot start; the stages already started are killed
            (``teardown`` then reaps them).
        """
        plan = self.plan
        plumbing = self._plumbing = stdio.build(plan)
        if plan.deadline is not None:
            self._timers.append(self.loop.call_later(plan.remaining(), self._expire))
        for stage, fds in zip(plan.stages, plumbing.stages, strict=True):
            try:
                subs = self._substitutions
                child = spawn(
                    stage.executable,
                    subs.argv(stage.index, stage.spec.argv) if subs else stage.spec.argv,
                    (fds.stdin, fds.stdout, fds.stderr),
                    env=plan.env,
                    cwd=plan.cwd,
                    pass_fds=plan.request.context.pass_fds + (subs.pass_fds(stage.index) if subs else ()),
                    loop=self.loop,
                )
            except OSError as error:
                forget(stage.executable)  # re-resolved at the next run
                self.spawn_error = (stage.index, error)
                self.ending = ExecOutcome.TERMINATED
                for started in self.children:
                    if started is not None:
                        started.signal_group(signal.SIGKILL)
                raise
            self.children[stage.index] = child
            stage.events.pid = child.pid
            child.watch(lambda child, index=stage.index: self._exited(index, child))
        plumbing.close_child_ends()
        if self._failed_fast:  # a stage failed before its siblings had all started
            self._terminate_running()

    async def start_streams(self) -> None:
        """Start the pumps, readers and stdin writer (after the ``start`` events)."""
        plan = self.plan
        plumbing = self._plumbing
        assert plumbing is not None  # noqa: S101 (spawn ran)
        pump = pump_for(plan.backend)
        for index, (source, sink) in enumerate(plumbing.hops):
            chunk = min(plan.hop_buffer_size, stdio.PUMP_CHUNK)
            hop = pump.start(source, sink, buffer_size=chunk, zero_copy=plan.zero_copy)
            self.hops[index] = hop
            self._track(self._hop_done(index, hop))
        last = plan.stages[-1]
        if plumbing.stdout_reader is not None:
            if plan.request.live:
                self.live_stdout = LiveStream(text=plan.text, encoding=plan.encoding, errors=plan.errors)
            self.stdout_sink = self._sink(
                ExecPhase.STDOUT, last.index, plan.stdout_sink, live=self.live_stdout
            )
            self._read(plumbing.stdout_reader, self.stdout_sink, plan.hop_buffer_size)
        for index, reader in enumerate(plumbing.stderr_readers):
            if reader is not None:
                sink = self.stderr_sinks[index] = self._sink(ExecPhase.STDERR, index, plan.stderr_sink)
                self._read(reader, sink, stdio.DEFAULT_HOP_BUFFER // 16)
        await self._start_stdin(plumbing)

    def _sink(self, phase: ExecPhase, index: int, echo_to: object, live: object = None) -> OutputSink:
        plan = self.plan
        return OutputSink(
            phase=phase,
            capture=plan.capture if phase is ExecPhase.STDOUT else plan.capture_stderr,
            text=plan.text,
            encoding=plan.encoding,
            errors=plan.errors,
            echo=echo_to if plan.echo else None,  # pyright: ignore[reportArgumentType]
            events=plan.stages[index].events if plan.observed else None,
            live=live,  # pyright: ignore[reportArgumentType]
        )

    def _read(self, owned: object, sink: OutputSink, limit: int) -> None:
        self._open_streams += 1
        reader = PipeReader(self.loop, owned, sink, self._stream_ended, limit)  # pyright: ignore[reportArgumentType]
        self.readers.append(reader)
        reader.start()

    async def _start_stdin(self, plumbing: stdio.Plumbing) -> None:
        request = self.plan.request
        events = self.plan.stages[0].events
        if plumbing.stdin_writer is None:
            if self.plan.stdin_data is not None:
                await events.emit(ExecPhase.STDIN, byte_count=plumbing.stdin_written)
            return
        writer = PipeWriter(self.loop, plumbing.stdin_writer)
        self._stdin_writer = writer
        if request.stdin is not None and getattr(request.stdin, "stream", None) is not None:
            self._track(self._feed(writer, None, request.stdin.stream), feeder=True)  # pyright: ignore[reportAttributeAccessIssue, reportUnknownArgumentType, reportUnknownMemberType]
        elif self.plan.stdin_data is not None:
            self._track(
                self._feed(writer, plumbing.stdin_rest, None, already=plumbing.stdin_written), feeder=True
            )
        else:
            self.live_stdin = LiveStdin(writer, events)

    # -- while it runs ----------------------------------------------------------

    def _track(self, coroutine: Coroutine[object, object, None], *, feeder: bool = False) -> None:
        self._open_streams += 1
        task = asyncio.ensure_future(coroutine)
        self._tasks.append(task)
        if feeder:
            self._feeders.append(task)

    def _stream_ended(self, error: BaseException | None = None) -> None:
        self._open_streams -= 1
        if error is not None:
            self.fail(error)
        self._changed.set()

    async def _hop_done(self, index: int, hop: Hop) -> None:
        error: BaseException | None = None
        try:
            self.hop_outcomes[index] = await hop.wait()
        except asyncio.CancelledError:
            hop.cancel()
            with contextlib.suppress(Exception):
                self.hop_outcomes[index] = await asyncio.shield(hop.wait())
        except Exception as failure:  # noqa: BLE001 (the run fails with it)
            error = failure
        self._stream_ended(error)

    async def _feed(
        self,
        writer: PipeWriter,
        data: bytes | None,
        stream: AsyncIterable[bytes] | None,
        already: int = 0,
    ) -> None:
        events = self.plan.stages[0].events
        written = already
        error: BaseException | None = None
        try:
            if data:
                await writer.write(data)
                written += len(data)
            if stream is not None:
                async for chunk in stream:
                    if not isinstance(chunk, bytes | bytearray | memoryview):
                        msg = f"StdinInput.stream yielded {type(chunk).__name__}, not bytes"
                        raise TypeError(msg)  # noqa: TRY301
                    await writer.write(chunk)
                    written += len(chunk)
            writer.close()
            await events.emit(ExecPhase.STDIN, byte_count=written)
        except (BrokenPipeError, ConnectionResetError) as broken:
            await events.emit(ExecPhase.STDIN_ERROR, error=f"{type(broken).__name__}: {broken}")
        except asyncio.CancelledError:
            if self._stdin_reader_gone:
                await events.emit(ExecPhase.STDIN_ERROR, error="BrokenPipeError: the child's stdin is closed")
        except Exception as failure:  # noqa: BLE001
            error = failure
        finally:
            writer.close()
        self._stream_ended(error)

    def _exited(self, index: int, child: Child) -> None:
        self.exited_at[index] = time.monotonic()
        if index == 0:
            self._stop_feeding_a_closed_stdin()
        code = child.returncode
        spec = self.plan.stages[index].spec
        if (
            self.plan.fail_fast
            and self.ending is None
            and code not in spec.ok_codes
            and code not in SIGPIPE_STATUSES
        ):
            self._failed_fast = True
            self._terminate_running()
        self._changed.set()

    def _stop_feeding_a_closed_stdin(self) -> None:
        """Stop a feeder whose reader has gone (the first stage exited).

        Waiting on its source, it would hold the run open for ever.
        """
        writer = self._stdin_writer
        if writer is not None and self._feeders and writer.reader_gone():
            self._stdin_reader_gone = True
            for task in self._feeders:
                task.cancel()

    def _terminate_running(self) -> None:
        """Fail fast: SIGTERM every stage still running, SIGKILL after the grace."""
        for reader in self.readers:
            reader.cut_short = True  # a character cut by the kill is not a decoding error
        for other, sibling in enumerate(self.children):
            if sibling is not None and sibling.returncode is None:
                self.signalled[other] = True
                sibling.signal_group(signal.SIGTERM)
        self._timers.append(
            self.loop.call_later(self.plan.request.context.cancel_grace, self._kill_signalled)
        )

    def _kill_signalled(self) -> None:
        for index, child in enumerate(self.children):
            if child is not None and self.signalled[index]:
                child.signal_group(signal.SIGKILL)

    def fail(self, error: BaseException) -> None:
        """An internal error (a stream that could not be decoded, a raising sink): end the run."""
        if self.error is None:
            self.error = error
        self.begin_teardown(ExecOutcome.FAILED)

    def _expire(self) -> None:
        self.begin_teardown(ExecOutcome.TIMED_OUT)

    def begin_teardown(self, ending: ExecOutcome) -> None:
        """Start tearing down in the background (from a callback)."""
        if self._teardown is None:
            self._teardown = asyncio.ensure_future(self._tear_down(ending))

    @property
    def finished(self) -> bool:
        """Whether every process has exited and every stream has ended."""
        return self._open_streams == 0 and all(
            child is None or child.returncode is not None for child in self.children
        )

    async def wait_finished(self) -> None:
        """Wait until finished (cancellable; the caller tears down)."""
        while not self.finished or (self._teardown is not None and not self._teardown.done()):
            if self._teardown is not None and self.finished:
                await asyncio.shield(self._teardown)
                break
            self._changed.clear()
            await self._changed.wait()

    # -- ending -------------------------------------------------------------------

    async def teardown(self, ending: ExecOutcome) -> None:
        """Terminate every group, reap, stop every stream (idempotent; run it shielded)."""
        self.begin_teardown(ending)
        assert self._teardown is not None  # noqa: S101
        await asyncio.shield(self._teardown)

    async def _tear_down(self, ending: ExecOutcome) -> None:
        if self.ending is None:
            self.ending = ending
        for reader in self.readers:
            reader.cut_short = True  # a character cut by the kill is not a decoding error
        grace = self.plan.request.context.cancel_grace
        self.plan.budget.start()
        children = [(index, child) for index, child in enumerate(self.children) if child is not None]
        for index, child in children:
            self.signalled[index] = self.signalled[index] or child.returncode is None
            child.signal_group(signal.SIGTERM)
        await self._until(lambda: all(child.returncode is not None for _, child in children), grace)
        for _, child in children:
            child.signal_group(signal.SIGKILL)
        await self._until(lambda: all(child.returncode is not None for _, child in children), None)
        await self._until(lambda: self._open_streams == 0, max(grace, STREAM_GRACE))
        self._stop_streams()
        await self._until(lambda: self._open_streams == 0, None)
        self._changed.set()

    def _stop_streams(self) -> None:
        for reader in self.readers:
            reader.stop()
        for hop in self.hops:
            if hop is not None:
                hop.cancel()
        for task in self._feeders:
            task.cancel()
        if self.live_stdout is not None:
            # A decoding error still waiting for its window is moot once the run is cut short.
            with contextlib.suppress(UnicodeDecodeError):
                self.live_stdout.end()

    async def _until(self, condition: object, timeout: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while not condition():  # pyright: ignore[reportCallIssue, reportOptionalCall]
                    self._changed.clear()
                    await self._changed.wait()

    def close(self) -> None:
        """Reap every process, close every descriptor, cancel the timers (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for timer in self._timers:
            timer.cancel()
        for child in self.children:
            if child is not None:
                child.reap()
        if self._plumbing is not None:
            self._plumbing.close()
        for task in self._tasks:
            if not task.done():
                task.cancel()

    # -- what happened ----------------------------------------------------------------

    @property
    def cut_short(self) -> bool:
        """Whether the run was ended by Cuprum (teardown or fail-fast) rather than by its processes."""
        return self.ending is not None or self._failed_fast

    def hop_bytes(self) -> tuple[int, ...]:
        """Bytes each hop has moved so far (live while running)."""
        return tuple(
            outcome.bytes_moved if outcome is not None else hop.bytes_moved if hop is not None else 0
            for hop, outcome in zip(self.hops, self.hop_outcomes, strict=True)
        )

    def forgiven(self, index: int) -> bool:
        """Whether stage ``index`` died of SIGPIPE because its downstream closed early."""
        child = self.children[index]
        if child is None or child.returncode not in SIGPIPE_STATUSES or index >= len(self.hops):
            return False
        outcome = self.hop_outcomes[index]
        return outcome is not None and outcome.downstream_closed

    def outcome(self, index: int) -> ExecOutcome:
        """How stage ``index`` ended, by the failure policy."""
        child = self.children[index]
        if self.signalled[index]:
            return self.ending or ExecOutcome.TERMINATED
        if child is None or child.returncode is None:
            return self.ending or ExecOutcome.FAILED
        if child.returncode in self.plan.stages[index].spec.ok_codes:
            return ExecOutcome.OK
        return ExecOutcome.FORGIVEN if self.forgiven(index) else ExecOutcome.FAILED
