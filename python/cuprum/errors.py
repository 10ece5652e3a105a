"""Cuprum's exceptions: every failure a caller can meet has its own type.

Each also derives from the built-in (or ``subprocess``) exception a caller
would expect (``LookupError``, ``PermissionError``,
``subprocess.TimeoutExpired``, ``subprocess.CalledProcessError``, ...), so
generic handlers keep working.

Messages and reprs never show a raw command line: the engine renders it
through the scope's redactor when it raises (``shown``), so a secret the
redactor knows cannot escape through ``str(error)``, ``repr(error)`` or a
traceback. The attributes (``cmd``, ``output``, ``result``) keep the real
values for code that needs them.
"""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from cuprum.result import CommandResult, PipelineResult


class CuprumError(Exception):
    """Base class of every exception Cuprum raises on purpose.

    Every one survives ``pickle`` and ``copy`` (a worker process's failure
    reaches its parent whole), whatever its ``__init__`` takes.
    """

    def __reduce__(self) -> tuple[object, ...]:
        """Rebuilt from its message and attributes, without calling ``__init__``."""
        return (_restore, (type(self), self.args, dict(vars(self))))


def _restore(cls: type[CuprumError], args: tuple[object, ...], state: dict[str, object]) -> CuprumError:
    error = cls.__new__(cls)
    error.args = args
    vars(error).update(state)
    return error


def _documentation(locations: Iterable[str]) -> str:
    where = ", ".join(locations)
    return f"; documentation: {where}" if where else ""


class UnknownProgramError(CuprumError, LookupError):
    """A program is not in the catalogue.

    Attributes
    ----------
    program
        The name asked for.
    suggestion
        The closest catalogued program and where it is documented, if any
        is close.
    """

    def __init__(
        self, program: str, known: Iterable[str], suggestion: tuple[str, Iterable[str]] | None = None
    ) -> None:
        self.program = program
        self.suggestion = suggestion
        names = sorted(known)
        hint = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")  # noqa: PLR2004
        message = f"program {program!r} is not in the catalogue (known: {hint or 'none'})"
        if suggestion is not None:
            where = ", ".join(suggestion[1])
            message += f"; did you mean {suggestion[0]!r}?" + (f" (documentation: {where})" if where else "")
        super().__init__(message)


class ForbiddenProgramError(CuprumError, PermissionError):
    """A catalogued program is outside the current scope's allowlist.

    Attributes
    ----------
    program
        The program refused.
    allowlist
        What the scope allows.
    documentation_locations
        Where the program's project is documented (from the catalogue).
    """

    def __init__(
        self, program: str, allowlist: frozenset[str], documentation_locations: Iterable[str] = ()
    ) -> None:
        self.program = program
        self.allowlist = allowlist
        self.documentation_locations = tuple(documentation_locations)
        allowed = ", ".join(sorted(allowlist)) or "nothing"
        super().__init__(
            f"program {program!r} is not allowed in this scope (allowed: {allowed})"
            + _documentation(self.documentation_locations)
        )


class ForgedCommandError(CuprumError, TypeError):
    """A ``SafeCmd`` that no builder made (constructed, copied or altered by hand)."""


class ProgramNotFoundError(CuprumError, FileNotFoundError):
    """A catalogued program is not an executable on this process's ``PATH``."""


class ScopeLockedError(CuprumError, PermissionError):
    """``allow()`` tried to extend the allowlist of a locked scope."""


class DuplicateProjectError(CuprumError, ValueError):
    """Two projects in one catalogue share a name."""


class DuplicateProgramError(CuprumError, ValueError):
    """Two projects in one catalogue claim the same program."""


class LiveProcessError(CuprumError, RuntimeError):
    """A live handle (``start()``) used outside its ``async with`` block, or twice."""


class LineTooLongError(CuprumError, ValueError):
    """``readline()`` (or ``async for``) met a line longer than the limit.

    The data stays buffered: ``read(n)`` takes it in pieces.
    """


def describe_exit(exit_code: int) -> str:
    """``status 3`` or ``signal 9``: how a process ended, for messages."""
    if exit_code < 0:
        return f"signal {-exit_code}"
    return f"status {exit_code}"


class CommandFailed(CuprumError, subprocess.CalledProcessError):  # noqa: N818 (reads as an event, like TimeoutExpired)
    """A command ended unsuccessfully and the caller asked for ``check=True``.

    A ``subprocess.CalledProcessError``: ``returncode``, ``cmd`` (the argv),
    ``output``/``stdout`` and ``stderr`` are set. The message ends with the
    tail of the captured stderr, redacted.

    Attributes
    ----------
    result
        The command's result.
    """

    def __init__(self, result: CommandResult[str] | CommandResult[bytes], *, shown: str) -> None:
        subprocess.CalledProcessError.__init__(
            self, result.exit_code, result.argv, result.stdout, result.stderr
        )
        self.result = result
        self.args = (shown,)

    def __str__(self) -> str:
        """The redacted message."""
        return str(self.args[0])


class PipelineFailed(CuprumError, subprocess.CalledProcessError):  # noqa: N818
    """A pipeline failed and the caller asked for ``check=True``.

    A ``subprocess.CalledProcessError`` whose ``returncode`` is the
    pipeline's ``pipefail`` status and whose ``cmd`` is every stage's argv.

    Attributes
    ----------
    result
        The pipeline's result.
    """

    def __init__(self, result: PipelineResult[str] | PipelineResult[bytes], *, shown: str) -> None:
        stages: object = tuple(stage.argv for stage in result.stages)
        subprocess.CalledProcessError.__init__(
            self,
            result.exit_code,
            stages,  # pyright: ignore[reportArgumentType] (every stage's argv)
            result.stdout,
            result.stderr,
        )
        self.result = result
        self.args = (shown,)

    def __str__(self) -> str:
        """The redacted message."""
        return str(self.args[0])


class TimeoutExpired(CuprumError, subprocess.TimeoutExpired, TimeoutError):  # noqa: N818
    """A run passed its timeout; every process group was terminated and reaped.

    A ``subprocess.TimeoutExpired`` (and a ``TimeoutError``): ``cmd`` (the
    argv, or every stage's argv for a pipeline), ``timeout``,
    ``output``/``stdout`` and ``stderr`` (everything read before the kill,
    or ``None`` when not captured) are set.

    Attributes
    ----------
    command
        The command line, shell-quoted and redacted, for messages and logs.
    """

    output: str | bytes | None  # pyright: ignore[reportIncompatibleVariableOverride]
    stderr: str | bytes | None  # pyright: ignore[reportIncompatibleVariableOverride]

    @property  # pyright: ignore[reportIncompatibleVariableOverride]
    def stdout(self) -> str | bytes | None:  # pyright: ignore[reportIncompatibleVariableOverride]
        """The output read before the kill (``output``, by its other name)."""
        return self.output

    @stdout.setter
    def stdout(self, value: str | bytes | None) -> None:  # pyright: ignore[reportIncompatibleVariableOverride]
        self.output = value

    def __init__(
        self,
        cmd: object,
        timeout: float,
        output: str | bytes | None,
        stderr: str | bytes | None,
        *,
        shown: str,
    ) -> None:
        subprocess.TimeoutExpired.__init__(self, cmd, timeout, output, stderr)  # pyright: ignore[reportArgumentType]
        self.command = shown
        self.args = (f"command timed out after {timeout:g} s: {shown}",)

    def __str__(self) -> str:
        """The redacted message."""
        return str(self.args[0])
