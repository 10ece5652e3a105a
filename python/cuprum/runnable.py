"""``Runnable``: the one definition of ``run``, ``run_sync`` and ``start``.

``SafeCmd`` and ``Pipeline`` are values; they inherit these three methods,
which bundle their options into one ``RunRequest`` and hand it to the
engine (``cuprum.engine``), imported only when something runs. The options
are documented once, on ``RunRequest``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, overload

if TYPE_CHECKING:
    from typing import Unpack

    from cuprum.command import SafeCmd
    from cuprum.engine.live import LiveProcess
    from cuprum.options import RunOutputOptions
    from cuprum.pipeline import Pipeline
    from cuprum.request import LiveOptions, RunOptions
    from cuprum.result import CommandResult, PipelineResult


def _runnable(value: Runnable) -> SafeCmd | Pipeline:
    """``value`` as what it is (``Runnable`` has exactly two subclasses)."""
    return value  # pyright: ignore[reportReturnType]


class Runnable:
    """What can run: a command or a pipeline (see ``RunRequest`` for the options)."""

    __slots__ = ()

    @overload
    async def run(
        self: SafeCmd, *, output: RunOutputOptions[bytes], **options: Unpack[RunOptions]
    ) -> CommandResult[bytes]: ...
    @overload
    async def run(
        self: SafeCmd, *, output: RunOutputOptions[str] | None = None, **options: Unpack[RunOptions]
    ) -> CommandResult[str]: ...
    @overload
    async def run(
        self: Pipeline, *, output: RunOutputOptions[bytes], **options: Unpack[RunOptions]
    ) -> PipelineResult[bytes]: ...
    @overload
    async def run(
        self: Pipeline, *, output: RunOutputOptions[str] | None = None, **options: Unpack[RunOptions]
    ) -> PipelineResult[str]: ...
    async def run(
        self, *, output: RunOutputOptions[str] | RunOutputOptions[bytes] | None = None, **options: object
    ) -> object:
        """Run to completion and return the result (see ``RunRequest`` for the options).

        Raises
        ------
        ForbiddenProgramError
            When the scope's allowlist excludes a program (before any hook
            runs or process starts).
        ForgedCommandError
            For a command that no builder made.
        ProgramNotFoundError
            When a program is not on this process's ``PATH``.
        TypeError, ValueError
            For an invalid option (before anything starts).
        TimeoutExpired
            When the timeout passes; it carries the output read until then.
        CommandFailed, PipelineFailed
            With ``check=True``, when the run did not succeed.
        OSError
            When a program or a redirect target cannot be opened.
        """
        from cuprum.engine.execute import run  # noqa: PLC0415 (values stay free of the engine)
        from cuprum.request import RunRequest  # noqa: PLC0415

        return await run(_runnable(self), RunRequest.make(output=output, live=False, **options))

    @overload
    def run_sync(
        self: SafeCmd, *, output: RunOutputOptions[bytes], **options: Unpack[RunOptions]
    ) -> CommandResult[bytes]: ...
    @overload
    def run_sync(
        self: SafeCmd, *, output: RunOutputOptions[str] | None = None, **options: Unpack[RunOptions]
    ) -> CommandResult[str]: ...
    @overload
    def run_sync(
        self: Pipeline, *, output: RunOutputOptions[bytes], **options: Unpack[RunOptions]
    ) -> PipelineResult[bytes]: ...
    @overload
    def run_sync(
        self: Pipeline, *, output: RunOutputOptions[str] | None = None, **options: Unpack[RunOptions]
    ) -> PipelineResult[str]: ...
    def run_sync(
        self, *, output: RunOutputOptions[str] | RunOutputOptions[bytes] | None = None, **options: object
    ) -> object:
        """Run from synchronous code; the same contract as ``run``.

        Raises
        ------
        RuntimeError
            When called while an event loop is running in this thread.
        """
        from cuprum.engine.execute import run  # noqa: PLC0415
        from cuprum.engine.sync import run_sync  # noqa: PLC0415
        from cuprum.request import RunRequest  # noqa: PLC0415

        request = RunRequest.make(output=output, live=False, **options)
        runnable = _runnable(self)
        return run_sync(lambda: run(runnable, request), f"{type(self).__name__}.run_sync()")

    @overload
    def start(
        self: SafeCmd, *, output: RunOutputOptions[bytes], **options: Unpack[LiveOptions]
    ) -> LiveProcess[CommandResult[bytes], bytes]: ...
    @overload
    def start(
        self: SafeCmd, *, output: RunOutputOptions[str] | None = None, **options: Unpack[LiveOptions]
    ) -> LiveProcess[CommandResult[str], str]: ...
    @overload
    def start(
        self: Pipeline, *, output: RunOutputOptions[bytes], **options: Unpack[LiveOptions]
    ) -> LiveProcess[PipelineResult[bytes], bytes]: ...
    @overload
    def start(
        self: Pipeline, *, output: RunOutputOptions[str] | None = None, **options: Unpack[LiveOptions]
    ) -> LiveProcess[PipelineResult[str], str]: ...
    def start(
        self, *, output: RunOutputOptions[str] | RunOutputOptions[bytes] | None = None, **options: object
    ) -> object:
        """Return a live process, started by ``async with``.

        For example::

            async with cmd.start() as proc:
                async for line in proc.stdout:
                    ...
                result = await proc.wait()

        Nothing starts until the ``async with`` block is entered; leaving it
        before the process has ended terminates every process group and
        reaps it. ``stdin=PIPE`` gives a writable ``proc.stdin``.
        """
        from cuprum.engine.live import LiveProcess  # noqa: PLC0415
        from cuprum.request import RunRequest  # noqa: PLC0415

        request = RunRequest.make(output=output, live=True, **options)
        live: LiveProcess[object, str] = LiveProcess(_runnable(self), request)
        return live
