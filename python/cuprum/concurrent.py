r"""Run many commands (or pipelines) at once, with a limit and a failure rule.

>>> from cuprum import ECHO, run_concurrent_sync, sh
>>> batch = run_concurrent_sync(sh.make(ECHO)("a"), sh.make(ECHO)("b"))
>>> [result.stdout for result in batch.results]
['a\n', 'b\n']

Every command is checked against the scope's allowlist before any of them
starts. Results come back in submission order. With ``fail_fast``, the
first failure cancels the rest: running commands have their process groups
terminated and reaped (exactly as cancelling ``run()`` does), and commands
still waiting for a slot never start.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING

from cuprum.command import SafeCmd
from cuprum.options import ExecutionContext, RunOutputOptions, validate_timeout
from cuprum.pipeline import Pipeline

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cuprum.result import CommandResult, PipelineResult

type Runnable = SafeCmd | Pipeline
type RunResult = CommandResult | PipelineResult


@dataclasses.dataclass(frozen=True, slots=True)
class ConcurrentConfig:
    """How to run a batch.

    Parameters
    ----------
    concurrency
        At most this many run at once (``None``: no limit).
    fail_fast
        Cancel the rest at the first failure (a non-zero exit, a timeout or
        any other exception).
    output, timeout, context
        Passed to every ``run()``.
    """

    concurrency: int | None = None
    fail_fast: bool = False
    output: RunOutputOptions | None = None
    timeout: float | None = None
    context: ExecutionContext | None = None

    def __post_init__(self) -> None:
        """Reject a limit that is not a positive integer, and options of the wrong type."""
        if self.concurrency is not None and (
            isinstance(self.concurrency, bool)
            or not isinstance(self.concurrency, int)
            or self.concurrency < 1
        ):
            msg = f"ConcurrentConfig.concurrency must be a positive int or None, not {self.concurrency!r}"
            raise ValueError(msg)
        if not isinstance(self.fail_fast, bool):
            msg = "ConcurrentConfig.fail_fast must be a bool"
            raise TypeError(msg)
        validate_timeout(self.timeout, "ConcurrentConfig.timeout")
        if self.output is not None and not isinstance(self.output, RunOutputOptions):
            msg = f"ConcurrentConfig.output must be a RunOutputOptions, not {type(self.output).__name__}"
            raise TypeError(msg)
        if self.context is not None and not isinstance(self.context, ExecutionContext):
            msg = f"ConcurrentConfig.context must be an ExecutionContext, not {type(self.context).__name__}"
            raise TypeError(msg)


@dataclasses.dataclass(frozen=True, slots=True)
class ConcurrentResult:
    """What a batch did, indexed by submission order.

    Attributes
    ----------
    results
        Each command's result, or ``None`` when it raised or never finished.
    errors
        The exception of each command that raised (a ``TimeoutExpired``, an
        ``OSError``, or ``CancelledError`` for one that fail-fast cancelled).
    """

    results: tuple[RunResult | None, ...]
    errors: Mapping[int, BaseException]

    @property
    def completed(self) -> tuple[int, ...]:
        """Indices of the commands that ran to their exit."""
        return tuple(index for index, result in enumerate(self.results) if result is not None)

    @property
    def failed(self) -> tuple[int, ...]:
        """Indices that failed: a non-zero exit, or an exception other than cancellation."""
        return tuple(
            index
            for index, result in enumerate(self.results)
            if (result is not None and not result.ok)
            or (index in self.errors and not isinstance(self.errors[index], asyncio.CancelledError))
        )

    @property
    def cancelled(self) -> tuple[int, ...]:
        """Indices that fail-fast stopped (running, or never started)."""
        return tuple(
            index for index, error in sorted(self.errors.items()) if isinstance(error, asyncio.CancelledError)
        )

    @property
    def ok(self) -> bool:
        """Whether every command completed successfully."""
        return not self.errors and all(result is not None and result.ok for result in self.results)


class _Batch:
    """The shared state of one batch: slots, results, errors, the stop flag."""

    def __init__(self, size: int, config: ConcurrentConfig) -> None:
        self.config = config
        self.slots = asyncio.Semaphore(config.concurrency or max(size, 1))
        self.results: list[RunResult | None] = [None] * size
        self.errors: dict[int, BaseException] = {}
        self.stopped = False
        self.tasks: list[asyncio.Future[None]] = []

    async def run_one(self, index: int, runnable: Runnable) -> None:
        async with self.slots:
            if self.stopped:
                self.errors[index] = asyncio.CancelledError("fail-fast: never started")
                return
            config = self.config
            try:
                result = await runnable.run(
                    output=config.output, timeout=config.timeout, context=config.context
                )
            except asyncio.CancelledError as cancelled:
                self.errors[index] = cancelled
                return
            except Exception as error:  # noqa: BLE001 (recorded per command, by design)
                self.errors[index] = error
            else:
                self.results[index] = result
                if result.ok:
                    return
            if config.fail_fast:
                self.stop()

    def stop(self) -> None:
        """Fail fast: cancel every other command; queued ones never start."""
        self.stopped = True
        for task in self.tasks:
            if task is not asyncio.current_task():
                task.cancel()


async def run_concurrent(*commands: Runnable, config: ConcurrentConfig | None = None) -> ConcurrentResult:
    """Run ``commands`` concurrently; see the module documentation.

    Raises
    ------
    ForbiddenProgramError
        When any command is outside the scope's allowlist (nothing starts).
    """
    from cuprum.engine.plan import check_runnable  # noqa: PLC0415 (values stay free of the engine)

    for runnable in commands:
        if not isinstance(runnable, SafeCmd | Pipeline):  # pyright: ignore[reportUnnecessaryIsInstance]
            msg = f"run_concurrent takes SafeCmd and Pipeline, not {type(runnable).__name__}"
            raise TypeError(msg)
        check_runnable(runnable)
    batch = _Batch(len(commands), config or ConcurrentConfig())
    batch.tasks = [asyncio.ensure_future(batch.run_one(index, cmd)) for index, cmd in enumerate(commands)]
    outcomes = await asyncio.gather(*batch.tasks, return_exceptions=True)
    for index, outcome in enumerate(outcomes):
        # A task cancelled before it ever ran never reached its own handler.
        if isinstance(outcome, BaseException) and index not in batch.errors:
            batch.errors[index] = outcome
    return ConcurrentResult(results=tuple(batch.results), errors=dict(sorted(batch.errors.items())))


def run_concurrent_sync(*commands: Runnable, config: ConcurrentConfig | None = None) -> ConcurrentResult:
    """Run ``commands`` concurrently from synchronous code; see ``run_concurrent``."""
    from cuprum.engine.sync import run_sync  # noqa: PLC0415

    return run_sync(lambda: run_concurrent(*commands, config=config), "run_concurrent_sync()")
