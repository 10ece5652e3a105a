"""``Pipeline``: commands composed with ``|``, streamed stage to stage.

A pipeline is an immutable tuple of at least two ``SafeCmd`` stages. The
bytes between stages flow through pumps in this process (see
``cuprum.pumps``), which apply backpressure and count what each hop carried.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from cuprum.command import SafeCmd
from cuprum.errors import PipelineFailed
from cuprum.runner import run_stages
from cuprum.sync import run_sync

if TYPE_CHECKING:
    from cuprum.options import ExecutionContext, RunOutputOptions, StdinInput
    from cuprum.result import PipelineResult


_MIN_STAGES = 2


@dataclasses.dataclass(frozen=True, slots=True)
class Pipeline:
    """Commands whose stdout feeds the next one's stdin, like a shell's ``a | b``."""

    stages: tuple[SafeCmd, ...]

    def __post_init__(self) -> None:
        """Check the stages (a one-stage ``Pipeline`` exists only while composing)."""
        for stage in self.stages:
            if not isinstance(stage, SafeCmd):
                msg = f"pipeline stages must be SafeCmd, not {type(stage).__name__}"
                raise TypeError(msg)
        if not self.stages:
            msg = "a pipeline needs at least two stages"
            raise ValueError(msg)

    def __or__(self, other: SafeCmd | Pipeline) -> Pipeline:
        """Append a command or another pipeline's stages (flattened)."""
        if isinstance(other, SafeCmd):
            return Pipeline((*self.stages, other))
        if isinstance(other, Pipeline):  # pyright: ignore[reportUnnecessaryIsInstance]
            return Pipeline((*self.stages, *other.stages))
        return NotImplemented

    @property
    def shell_quoted(self) -> str:
        """The pipeline as a shell would read it, for logs."""
        return " | ".join(stage.shell_quoted for stage in self.stages)

    def __str__(self) -> str:
        """The shell-quoted rendering."""
        return self.shell_quoted

    async def run(
        self,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        stdin: StdinInput | None = None,
        check: bool = False,
    ) -> PipelineResult:
        """Run every stage concurrently and wait for all of them.

        Takes the options of ``SafeCmd.run``; ``stdin`` feeds the first stage
        and ``output`` applies to the final stage's stdout (every stage's
        stderr is captured when ``output.capture`` is set). The stream backend
        is resolved from ``CUPRUM_STREAM_BACKEND`` on every run.

        Raises
        ------
        ValueError
            When the pipeline has fewer than two stages, or
            ``CUPRUM_STREAM_BACKEND`` is invalid.
        ImportError
            When the Rust backend is requested but unavailable (before any
            process starts).
        ForbiddenProgramError, TimeoutExpired, PipelineFailed
            As for ``SafeCmd.run``; ``PipelineFailed`` with ``check=True``.
        """
        if len(self.stages) < _MIN_STAGES:
            msg = f"a pipeline needs at least two stages, got {len(self.stages)}"
            raise ValueError(msg)
        result = await run_stages(
            self.stages,
            staged=True,
            label=self.shell_quoted,
            output=output,
            timeout=timeout,
            context=context,
            stdin=stdin,
        )
        if check and not result.ok:
            raise PipelineFailed(result)
        return result

    def run_sync(
        self,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        stdin: StdinInput | None = None,
        check: bool = False,
    ) -> PipelineResult:
        """Run the pipeline from synchronous code; same contract as ``run``."""
        return run_sync(
            lambda: self.run(output=output, timeout=timeout, context=context, stdin=stdin, check=check),
            "Pipeline.run_sync()",
            "pipeline.run(...)",
        )
