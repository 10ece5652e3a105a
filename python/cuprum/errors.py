"""Cuprum's exceptions: every failure a caller can meet has its own type.

Each also derives from the built-in exception a caller would expect
(``LookupError``, ``PermissionError``, ``TimeoutError``, ...), so generic
handlers keep working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cuprum.catalogue import Program
    from cuprum.result import CommandResult, PipelineResult


class CuprumError(Exception):
    """Base class of every exception Cuprum raises on purpose."""


class UnknownProgramError(CuprumError, LookupError):
    """A program is not in the catalogue."""

    def __init__(self, program: str, known: frozenset[Program]) -> None:
        self.program = program
        hint = ", ".join(sorted(known)[:12]) + (", ..." if len(known) > 12 else "")  # noqa: PLR2004
        super().__init__(f"program {program!r} is not in the catalogue (known: {hint or 'none'})")


class ForbiddenProgramError(CuprumError, PermissionError):
    """A program is in the catalogue but outside the current scope's allowlist."""

    def __init__(self, program: Program, allowlist: frozenset[Program]) -> None:
        self.program = program
        self.allowlist = allowlist
        allowed = ", ".join(sorted(allowlist)) or "nothing"
        super().__init__(f"program {program!r} is not allowed in this scope (allowed: {allowed})")


class DuplicateProjectError(CuprumError, ValueError):
    """Two projects in one catalogue share a name."""


class DuplicateProgramError(CuprumError, ValueError):
    """Two projects in one catalogue claim the same program."""


class CommandFailed(CuprumError):  # noqa: N818 (the name reads as an event, like TimeoutExpired)
    """A command exited unsuccessfully and the caller asked for ``check=True``."""

    def __init__(self, result: CommandResult) -> None:
        self.result = result
        super().__init__(f"{result.program} exited with {_describe_exit(result.exit_code)}")


class PipelineFailed(CuprumError):  # noqa: N818
    """A pipeline failed and the caller asked for ``check=True``."""

    def __init__(self, result: PipelineResult) -> None:
        self.result = result
        index = result.failure_index
        stage = result.stages[index] if index is not None else result.stages[-1]
        super().__init__(
            f"pipeline stage {index} ({stage.program}) exited with {_describe_exit(stage.exit_code)}"
        )


class TimeoutExpired(CuprumError, TimeoutError):  # noqa: N818
    """A command ran past its timeout and was terminated.

    Attributes
    ----------
    command
        The shell-quoted command line, for messages and logs.
    timeout
        The timeout in seconds.
    stdout, stderr
        Everything the command wrote before it was killed (decoded), or
        ``None`` when that stream was not captured.
    """

    def __init__(self, command: str, timeout: float, stdout: str | None, stderr: str | None) -> None:
        self.command = command
        self.timeout = timeout
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(f"command timed out after {timeout:g} s: {command}")


def _describe_exit(exit_code: int) -> str:
    if exit_code < 0:
        return f"signal {-exit_code}"
    return f"status {exit_code}"
