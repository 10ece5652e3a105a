"""What a run produced: one command's result, or a pipeline's."""

from __future__ import annotations

import dataclasses
import reprlib
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from cuprum.catalogue import Program


_output_repr: Final = reprlib.Repr(maxstring=80)


def _abbreviated(text: str | None) -> str:
    """A repr of captured output that stays short whatever its size."""
    if text is None or len(text) <= _output_repr.maxstring:
        return repr(text)
    return f"{_output_repr.repr(text)} ({len(text)} chars)"


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class CommandResult:
    """The outcome of one process.

    Attributes
    ----------
    program
        The program that ran.
    argv
        Its full argument vector (program first).
    exit_code
        The exit status; negative when a signal killed it (``-9`` for SIGKILL).
    pid
        Its process id.
    stdout, stderr
        The decoded output, or ``None`` when it was not captured.
    """

    program: Program
    argv: tuple[str, ...]
    exit_code: int
    pid: int
    stdout: str | None
    stderr: str | None

    @property
    def ok(self) -> bool:
        """Whether the process exited with status 0."""
        return self.exit_code == 0

    def __repr__(self) -> str:
        """Every field, with long output abbreviated (results can hold gigabytes)."""
        return (
            f"CommandResult(program={self.program!r}, argv={self.argv!r}, exit_code={self.exit_code}, "
            f"pid={self.pid}, stdout={_abbreviated(self.stdout)}, stderr={_abbreviated(self.stderr)})"
        )


@dataclasses.dataclass(frozen=True, slots=True)
class PipelineResult:
    """The outcome of a pipeline.

    Attributes
    ----------
    stages
        One result per stage, in pipeline order (stdout is captured for the
        final stage only; every stage's stderr is captured).
    failure_index
        The first stage that failed, or ``None`` when none did. An upstream
        stage killed by SIGPIPE because its downstream had finished is not a
        failure.
    hop_bytes
        Bytes carried by each hop (stage *i* to stage *i + 1*).
    """

    stages: tuple[CommandResult, ...]
    failure_index: int | None
    hop_bytes: tuple[int, ...]

    @property
    def stdout(self) -> str | None:
        """The final stage's decoded stdout."""
        return self.stages[-1].stdout

    @property
    def ok(self) -> bool:
        """Whether no stage failed."""
        return self.failure_index is None

    @property
    def exit_codes(self) -> tuple[int, ...]:
        """Every stage's exit code, in order."""
        return tuple(stage.exit_code for stage in self.stages)
