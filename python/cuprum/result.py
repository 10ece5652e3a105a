"""What a run produced: one command's result, or a pipeline's.

Results are generic in what the output decoded to: ``str`` by default,
``bytes`` with ``RunOutputOptions(text=False)``. Their ``repr`` shows the
command line as the scope's redactor rendered it when the run ended, so a
logged result never shows a secret the redactor knows.
"""

from __future__ import annotations

import dataclasses
import reprlib
from typing import TYPE_CHECKING, Final, Generic

from cuprum._typing import OutT
from cuprum.byte_redaction import redact_bytes

if TYPE_CHECKING:
    from collections.abc import Callable

    from cuprum.catalogue import Program


_output_repr: Final = reprlib.Repr(maxstring=80)
_SUCCESS: Final = frozenset({0})


def _unchanged(text: str) -> str:
    return text


REDACTION_WINDOW: Final = 16384
"""Characters redacted before a ``repr`` or an excerpt is cut (a secret on one line longer
than this could show in part)."""


def _abbreviated(output: str | bytes | None, redact: Callable[[str], str]) -> str:
    """A short ``repr`` of captured output: redacted first, then escaped and cut.

    Redacting the raw text (not its ``repr``) hides a secret that ``repr``
    would escape; cutting the redacted text never shows part of a secret.
    """
    if output is None:
        return "None"
    size = _output_repr.maxstring
    if isinstance(output, str):
        hidden: str | bytes = redact(output[:REDACTION_WINDOW])
    else:
        hidden = redact_bytes(output[:REDACTION_WINDOW], redact)
    if len(output) <= size and len(hidden) <= size:
        return repr(hidden)
    unit = "chars" if isinstance(output, str) else "bytes"
    return f"{hidden[:size]!r}... ({len(output)} {unit})"


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class CommandResult(Generic[OutT]):  # noqa: UP046 (PEP 696 default on 3.12, see cuprum._typing)
    """The outcome of one process.

    Attributes
    ----------
    program
        The catalogued program that ran.
    argv
        Its argument vector (program first).
    exit_code
        The exit status; negative when a signal killed it (``-9`` for SIGKILL).
    pid
        Its process id (``0`` if it never started).
    stdout, stderr
        The captured output (``str``, or ``bytes`` with ``text=False``), or
        ``None`` when that stream was not captured.
    ok_codes
        The exit statuses that count as success.
    executable
        The absolute path that was executed (resolved on this process's
        ``PATH``).
    """

    program: Program
    argv: tuple[str, ...]
    exit_code: int
    pid: int
    stdout: OutT | None
    stderr: OutT | None
    ok_codes: frozenset[int] = _SUCCESS
    executable: str = ""
    shown: str = dataclasses.field(default="", compare=False)
    """The command line as the redactor rendered it (for ``repr``)."""
    redact: Callable[[str], str] = dataclasses.field(default=_unchanged, compare=False)
    """The scope's redaction, applied to output shown by ``repr``."""
    substitutions: tuple[object, ...] = ()
    """The results of the commands passed to this one as arguments (``/dev/fd/N``),
    in argument order (or the exception a substituted run raised)."""

    @property
    def ok(self) -> bool:
        """Whether the exit status is one of ``ok_codes``."""
        return self.exit_code in self.ok_codes

    @property
    def returncode(self) -> int:
        """``exit_code``, by its ``subprocess`` name."""
        return self.exit_code

    def __repr__(self) -> str:
        """The fields that matter, with the command redacted and long output abbreviated."""
        return (
            f"CommandResult(command={self.shown!r}, exit_code={self.exit_code}, ok={self.ok}, "
            f"pid={self.pid}, stdout={_abbreviated(self.stdout, self.redact)}, "
            f"stderr={_abbreviated(self.stderr, self.redact)})"
        )


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class PipelineResult(Generic[OutT]):  # noqa: UP046
    """The outcome of a pipeline.

    Attributes
    ----------
    stages
        One result per stage, in pipeline order (stdout is captured for the
        final stage only).
    failure_index
        The stage whose status ``pipefail`` reports: the last (rightmost)
        stage that failed, or ``None`` when none did. A stage fails when
        its status is not one of its ``ok_codes`` and it was not forgiven.
    hop_bytes
        Bytes carried by each hop (stage *i* to stage *i + 1*).
    forgiven
        Stages killed by SIGPIPE (or exiting ``128 + SIGPIPE``) after their
        downstream had closed its input: how pipelines end early, not a
        failure.
    """

    stages: tuple[CommandResult[OutT], ...]
    failure_index: int | None
    hop_bytes: tuple[int, ...]
    forgiven: tuple[int, ...] = ()

    @property
    def stdout(self) -> OutT | None:
        """The final stage's captured stdout."""
        return self.stages[-1].stdout

    @property
    def stderr(self) -> OutT | None:
        """Every stage's captured stderr, in stage order (``None`` if none was captured)."""
        parts = [stage.stderr for stage in self.stages if stage.stderr is not None]
        if not parts:
            return None
        return parts[0][:0].join(parts)  # pyright: ignore[reportArgumentType, reportReturnType]

    @property
    def ok(self) -> bool:
        """Whether no stage failed (``pipefail``, with SIGPIPE forgiven)."""
        return self.failure_index is None

    @property
    def exit_codes(self) -> tuple[int, ...]:
        """Every stage's exit status, in order."""
        return tuple(stage.exit_code for stage in self.stages)

    @property
    def exit_code(self) -> int:
        """The pipeline's status as ``set -o pipefail`` reports it (0 when ok)."""
        return 0 if self.failure_index is None else self.stages[self.failure_index].exit_code

    @property
    def returncode(self) -> int:
        """``exit_code``, by its ``subprocess`` name."""
        return self.exit_code

    def __repr__(self) -> str:
        """The stages' commands (redacted), statuses and the output, abbreviated."""
        commands = " | ".join(stage.shown for stage in self.stages)
        return (
            f"PipelineResult(command={commands!r}, exit_codes={self.exit_codes}, ok={self.ok}, "
            f"failure_index={self.failure_index}, stdout={_abbreviated(self.stdout, self.stages[-1].redact)})"
        )
