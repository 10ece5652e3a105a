"""``SafeCmd``: an immutable, catalogued command line, ready to run."""

from __future__ import annotations

import dataclasses
import shlex
from typing import TYPE_CHECKING

from cuprum.execution import execute
from cuprum.sync import run_sync

if TYPE_CHECKING:
    from cuprum.catalogue import Program, ProjectSettings
    from cuprum.options import ExecutionContext, RunOutputOptions, StdinInput
    from cuprum.pipeline import Pipeline
    from cuprum.result import CommandResult


@dataclasses.dataclass(frozen=True, slots=True)
class SafeCmd:
    """A program from the catalogue and its arguments; never a shell string.

    Build one with ``sh.make(program)(*args, **options)``; compose with
    ``|`` into a ``Pipeline``.

    Attributes
    ----------
    program
        The program (``argv[0]``).
    argv
        The full argument vector, program first.
    project
        The catalogue project that owns the program.
    """

    program: Program
    argv: tuple[str, ...]
    project: ProjectSettings

    @property
    def shell_quoted(self) -> str:
        """The command line quoted as a POSIX shell would need it, for logs."""
        return shlex.join(self.argv)

    def __str__(self) -> str:
        """The shell-quoted rendering."""
        return self.shell_quoted

    def __or__(self, other: SafeCmd | Pipeline) -> Pipeline:
        """Compose ``self | other`` into a pipeline (flattened)."""
        from cuprum.pipeline import Pipeline  # noqa: PLC0415 (pipeline imports this module)

        return Pipeline((self,)) | other

    async def run(
        self,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        stdin: StdinInput | None = None,
        check: bool = False,
    ) -> CommandResult:
        """Run the command and wait for it.

        Parameters
        ----------
        output
            Capture and/or echo stdout and stderr (default: capture).
        timeout
            Seconds before the process group is terminated; overrides the
            context's and the scope's. ``math.inf`` means no limit.
        context
            Environment, working directory, decoding and more.
        stdin
            Input for the command (default: none, stdin is ``/dev/null``).
        check
            Raise ``CommandFailed`` on a non-zero exit.

        Raises
        ------
        ForbiddenProgramError
            When the scope's allowlist excludes the program (before any hook
            runs or process starts).
        ValueError, TypeError
            For an invalid environment or option (before anything starts).
        TimeoutExpired
            When the timeout passes; it carries the output read until then.
        CommandFailed
            With ``check=True``, on a non-zero exit.
        OSError
            When the program cannot be started (``FileNotFoundError``, ...).
        """
        return await execute(self, output=output, timeout=timeout, context=context, stdin=stdin, check=check)

    def run_sync(
        self,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        stdin: StdinInput | None = None,
        check: bool = False,
    ) -> CommandResult:
        """Run the command from synchronous code; same contract as ``run``.

        Raises
        ------
        RuntimeError
            When called while an event loop is running in this thread.
        """
        return run_sync(
            lambda: self.run(output=output, timeout=timeout, context=context, stdin=stdin, check=check),
            "SafeCmd.run_sync()",
            "cmd.run(...)",
        )
