"""``LiveProcess``: a command or pipeline while it runs (``start()``), and the one path every run takes.

``run()`` is ``async with start() as proc: return await proc.wait()`` with
the output captured instead of streamed: there is one engine. Entering the
block checks everything (``plan.prepare``), emits ``plan`` events, runs the
before hooks and spawns every stage; ``wait()`` waits for the end and
reports; leaving the block before the end terminates every process group
and reaps it, shielded from cancellation.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Generic, NoReturn, TypeVar

from cuprum._typing import OutT
from cuprum.engine.collect import build_result, check_failure, emit_exits, sanitized, timeout_error
from cuprum.engine.live_streams import LiveStdin, LiveStream, check_open
from cuprum.engine.plan import prepare
from cuprum.engine.substitution import Substitutions
from cuprum.engine.supervisor import Supervisor
from cuprum.errors import LiveProcessError, TimeoutExpired
from cuprum.events import ExecOutcome, ExecPhase
from cuprum.hooks import run_after_hooks, run_before_hooks
from cuprum.process import run_to_completion

if TYPE_CHECKING:
    from collections.abc import Generator
    from types import TracebackType

    from cuprum.command import SafeCmd
    from cuprum.engine.collect import Result
    from cuprum.engine.plan import Plan
    from cuprum.pipeline import Pipeline
    from cuprum.request import RunRequest

ResultT = TypeVar("ResultT")


class LiveProcess(Generic[ResultT, OutT]):  # noqa: UP046 (PEP 696 default on 3.12, see cuprum._typing)
    """A running command or pipeline; use it as ``async with cmd.start() as proc``.

    Attributes available inside the block: ``stdout`` (a ``LiveStream``),
    ``stdin`` (with ``stdin=PIPE``), ``pid``/``pids``, ``hop_bytes`` (bytes
    moved per hop so far, for progress), ``returncodes`` and ``wait()``.
    """

    __slots__ = (
        "_outcome", "_plan", "_request", "_result", "_runnable", "_state", "_substitutions", "_supervisor",
    )  # fmt: skip

    def __init__(self, runnable: SafeCmd | Pipeline, request: RunRequest) -> None:
        self._runnable = runnable
        self._request = request
        self._state = "new"
        self._plan: Plan | None = None
        self._supervisor: Supervisor | None = None
        self._result: Result | None = None
        self._substitutions = Substitutions()
        self._outcome: asyncio.Future[ResultT] | None = None

    # -- the block --------------------------------------------------------------

    async def __aenter__(self) -> LiveProcess[ResultT, OutT]:
        """Check, plan, run the before hooks, spawn."""
        if self._state != "new":
            msg = "a live process can be started only once; call start() again for a new one"
            raise LiveProcessError(msg)
        self._state = "starting"
        plan = self._plan = prepare(self._runnable, self._request)
        for stage in plan.stages:
            await stage.events.emit(ExecPhase.PLAN)
        if plan.start_error is not None:
            index, error = plan.start_error
            self._state = "closed"
            await plan.stages[index].events.emit(
                ExecPhase.EXIT, error=f"{type(error).__name__}: {error}", outcome=ExecOutcome.FAILED
            )
            raise error
        if plan.deadline is not None and plan.remaining() <= 0:
            await self._expired_before_start(plan)
        await self._before_hooks(plan)
        try:
            await self._substitutions.start(plan)
        except BaseException as error:
            await run_to_completion(self._substitutions.abandon(type(error), error, error.__traceback__))
            raise
        supervisor = self._supervisor = Supervisor(plan, self._substitutions)
        try:
            supervisor.spawn()
        except BaseException:
            await run_to_completion(self._abandon(ExecOutcome.FAILED, None))
            raise
        finally:
            self._substitutions.close_read_ends()
        try:
            for stage in plan.stages:
                await stage.events.emit(ExecPhase.START)
            await supervisor.start_streams()
        except BaseException as error:
            ending = ExecOutcome.CANCELLED if _is_cancel(error) else ExecOutcome.FAILED
            await run_to_completion(self._abandon(ending, None if _is_cancel(error) else error))
            raise
        self._state = "running"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Terminate and reap whatever still runs; the handle is closed afterwards."""
        try:
            if self._state == "running":
                ending = ExecOutcome.CANCELLED if _is_cancel(exc) else ExecOutcome.TERMINATED
                await run_to_completion(self._abandon(ending, None))
        finally:
            self._state = "closed"

    async def _before_hooks(self, plan: Plan) -> None:
        """Run the before hooks within the run's deadline; past it, nothing starts."""
        if not plan.scope.before_hooks:
            return
        # In line, not as a task: hooks are control flow, and what a before hook sets in
        # a context variable (a span, a start time) must reach the after hooks.
        limit = asyncio.timeout(None if plan.deadline is None else plan.remaining())
        try:
            async with limit:
                await _run_before_hooks(plan)
        except TimeoutError:
            if not limit.expired():
                raise  # a hook's own error
            await self._expired_before_start(plan)
        if plan.deadline is not None and plan.remaining() <= 0:
            await self._expired_before_start(plan)  # a slow plain-function hook

    async def _expired_before_start(self, plan: Plan) -> NoReturn:
        """The deadline passed before the spawn (a timeout of zero or less, slow observers or hooks).

        Nothing starts, as with ``subprocess`` and an expired timeout.
        """
        self._state = "closed"
        for stage in plan.stages:
            await stage.events.emit(ExecPhase.TIMEOUT)
            await stage.events.emit(
                ExecPhase.EXIT, outcome=ExecOutcome.TIMED_OUT, error="the timeout expired before the start"
            )
        cmd = (
            tuple(stage.spec.argv for stage in plan.stages) if plan.is_pipeline else plan.stages[0].spec.argv
        )
        raise TimeoutExpired(cmd, plan.timeout or 0.0, None, None, shown=plan.shown)

    async def _abandon(self, ending: ExecOutcome, error: BaseException | None) -> None:
        """Tear down, reap, report (shielded by the caller)."""
        supervisor = self._supervisor
        if supervisor is None:
            return
        self._state = "ending"
        await supervisor.teardown(ending)
        supervisor.close()
        await self._substitutions.abandon(None, None, None)
        await emit_exits(supervisor, error)

    # -- inside the block ---------------------------------------------------------

    def _running(self, what: str) -> Supervisor:
        check_open(self._state not in ("running", "ending", "done") or self._supervisor is None, what)
        assert self._supervisor is not None  # noqa: S101
        return self._supervisor

    @property
    def stdout(self) -> LiveStream[OutT]:
        """The last stage's stdout as it arrives.

        Raises
        ------
        LiveProcessError
            Outside the block, or when stdout is redirected elsewhere.
        """
        stream = self._running("proc.stdout").live_stdout
        if stream is None:
            msg = "stdout is redirected (RunOutputOptions.stdout), so there is no proc.stdout"
            raise LiveProcessError(msg)
        return stream  # pyright: ignore[reportReturnType]

    @property
    def stdin(self) -> LiveStdin:
        """The first stage's stdin (``start(stdin=PIPE)`` only; not after ``wait()``)."""
        stdin = self._running("proc.stdin").live_stdin
        if self._state == "done":
            msg = "proc.stdin after proc.wait(): the run has ended"
            raise LiveProcessError(msg)
        if stdin is None:
            msg = "proc.stdin needs start(stdin=PIPE)"
            raise LiveProcessError(msg)
        return stdin

    @property
    def pids(self) -> tuple[int, ...]:
        """Every stage's process id (also its process group id)."""
        supervisor = self._running("proc.pids")
        return tuple(child.pid if child is not None else 0 for child in supervisor.children)

    @property
    def pid(self) -> int:
        """The last stage's process id."""
        return self.pids[-1]

    @property
    def hop_bytes(self) -> tuple[int, ...]:
        """Bytes each hop has moved so far (for a progress bar)."""
        return self._running("proc.hop_bytes").hop_bytes()

    @property
    def returncodes(self) -> tuple[int | None, ...]:
        """Each stage's status once it has exited, else ``None``."""
        supervisor = self._running("proc.returncodes")
        return tuple(child.returncode if child is not None else None for child in supervisor.children)

    async def wait(self) -> ResultT:
        """Wait for every stage and stream to end; return the result.

        Output not read from ``proc.stdout`` is kept as ``result.stdout``.
        The run is reported once: a second (or concurrent) ``wait()``
        returns the same result, or raises the same exception.

        Raises
        ------
        TimeoutExpired, CommandFailed, PipelineFailed
            As for ``run()``.
        """
        if self._outcome is not None:
            return await asyncio.shield(self._outcome)
        self._running("proc.wait()")
        outcome: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        self._outcome = outcome
        try:
            result = await self._wait_once()
        except BaseException as error:
            if _is_cancel(error):
                outcome.cancel()
            else:
                outcome.set_exception(error)
                outcome.exception()  # retrieved: no warning if nobody waits again
            raise
        outcome.set_result(result)
        return result

    async def _wait_once(self) -> ResultT:
        supervisor = self._running("proc.wait()")
        if supervisor.live_stdout is not None:
            supervisor.live_stdout.drain_into_result()
        try:
            await supervisor.wait_finished()
        except BaseException as error:
            await run_to_completion(
                self._abandon(ExecOutcome.CANCELLED if _is_cancel(error) else ExecOutcome.FAILED, None)
            )
            raise
        self._state = "done"
        try:
            result = await run_to_completion(self._conclude(supervisor))
        except BaseException:
            await run_to_completion(self._substitutions.abandon(None, None, None))
            raise
        if self._substitutions:
            try:
                result = _attach(result, await self._substitutions.finish())
            except BaseException as error:
                await run_to_completion(self._substitutions.abandon(type(error), error, error.__traceback__))
                raise
        self._result = result
        plan = supervisor.plan
        for stage, stage_result in zip(plan.stages, _stage_results(result), strict=True):
            await run_after_hooks(plan.scope.after_hooks, stage.cmd, stage_result)
        if plan.request.check and (failure := check_failure(supervisor, result)) is not None:
            raise failure
        return result  # pyright: ignore[reportReturnType]

    async def _conclude(self, supervisor: Supervisor) -> Result:
        supervisor.close()
        if supervisor.ending is ExecOutcome.TIMED_OUT:
            error = timeout_error(supervisor)
            await emit_exits(supervisor)
            raise error
        redact = supervisor.plan.stages[0].events.redact
        if supervisor.error is not None:
            await emit_exits(supervisor, supervisor.error)
            raise sanitized(supervisor.error, redact) from None
        try:
            result = build_result(supervisor)
        except Exception as error:  # noqa: BLE001 (reported, then raised without the data)
            await emit_exits(supervisor, error)
            raise sanitized(error, redact) from None
        await emit_exits(supervisor)
        return result

    def __await__(self) -> Generator[None, None, NoReturn]:  # pyright: ignore[reportReturnType]
        """Refuse ``await cmd.start()``: a live process needs ``async with``."""
        msg = "use `async with cmd.start() as proc:` (a live process must be closed by its block)"
        raise LiveProcessError(msg)


async def _run_before_hooks(plan: Plan) -> None:
    for stage in plan.stages:
        await run_before_hooks(plan.scope.before_hooks, stage.cmd)


def _attach(result: Result, substituted: dict[int, tuple[object, ...]]) -> Result:
    """``result`` with each stage's substituted results attached."""
    from cuprum.result import PipelineResult  # noqa: PLC0415

    if isinstance(result, PipelineResult):
        stages = tuple(
            dataclasses.replace(stage, substitutions=substituted.get(index, ()))
            for index, stage in enumerate(result.stages)
        )
        return dataclasses.replace(result, stages=stages)  # pyright: ignore[reportArgumentType, reportUnknownVariableType]
    return dataclasses.replace(result, substitutions=substituted.get(0, ()))


def _is_cancel(error: BaseException | None) -> bool:
    return isinstance(error, asyncio.CancelledError)


def _stage_results(result: Result) -> tuple[object, ...]:
    from cuprum.result import PipelineResult  # noqa: PLC0415

    return result.stages if isinstance(result, PipelineResult) else (result,)
