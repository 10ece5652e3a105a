"""Structured events: what observers see of every run.

A run emits ``plan`` (before anything happens), ``start`` (the process is
up), one ``stdout``/``stderr`` event per output line (only when someone
observes), ``stdin`` (all input written) or ``stdin_error`` (the child closed
its stdin early), and finally ``exit``, preceded by ``timeout`` or
``cancel`` when the run was cut short.
"""

from __future__ import annotations

import enum
import signal
from collections.abc import Awaitable, Callable, Mapping
from typing import Final, NamedTuple

type Tags = Mapping[str, str]

SIGPIPE_STATUSES: Final = frozenset({-signal.SIGPIPE, 128 + signal.SIGPIPE})
"""Exit statuses that mean "killed by SIGPIPE": the signal itself, or a shell
reporting it as ``128 + SIGPIPE``."""


class ExecPhase(enum.StrEnum):
    """The phases of a run, in the order they happen."""

    PLAN = "plan"
    START = "start"
    STDIN = "stdin"
    STDIN_ERROR = "stdin_error"
    STDOUT = "stdout"
    STDERR = "stderr"
    TIMEOUT = "timeout"
    CANCEL = "cancel"
    EXIT = "exit"


class ExecOutcome(enum.StrEnum):
    """How a process ended, as its ``exit`` event reports it."""

    OK = "ok"
    """An exit status the command accepts (0, or one of its ``ok_codes``)."""
    FAILED = "failed"
    """It failed on its own: a non-zero exit, a signal, or it never started."""
    FORGIVEN = "forgiven"
    """A pipeline stage killed by SIGPIPE after its downstream closed the hop."""
    TERMINATED = "terminated"
    """Cuprum terminated it: another stage failed under ``fail_fast``, or a
    live handle's block was left before it ended."""
    TIMED_OUT = "timed_out"
    """Cuprum terminated it because the run's timeout passed."""
    CANCELLED = "cancelled"
    """Cuprum terminated it because the run was cancelled."""


class ExecEvent(NamedTuple):
    r"""One event of one run (immutable; cheap to create, one per line).

    Attributes
    ----------
    phase
        What happened.
    exec_id
        Identifies the run (unique in this process); a pipeline's stages
        share the pipeline's ``exec_id`` and differ by ``stage``.
    program, argv, cwd
        The command and where it runs.
    pid
        The process id, once started.
    timestamp
        Wall-clock time (``time.time()``) of the event; the lines of one
        read share one.
    line
        For ``stdout``/``stderr``: one line of output, exactly as written
        but for its final ``\n`` (a ``\r`` before it is kept).
    exit_code, duration_s
        Set on ``exit``.
    tags
        The context's tags.
    stage
        The stage index within a pipeline, or ``None`` for a lone command.
    byte_count
        Bytes written to stdin, for ``stdin``.
    error
        What went wrong, for ``stdin_error`` (and ``exit`` when the program
        could not start).
    outcome
        How the process ended, on ``exit``: whether it counts as a failure.
    newline
        For ``stdout``/``stderr``: whether the line ended with ``\n``
        (``False`` only for a last line without one), so
        ``line + "\n" * newline`` rebuilds the output byte for byte.
    executable
        The absolute path executed (resolved on this process's ``PATH``).
    project
        The catalogue project that owns the program.
    capture, echo
        Whether the run captures and echoes its output.
    env_names
        The names of the variables the run's environment overlay sets (the
        scopes' and the context's); their values are never in events.
    noise
        For ``stdout``/``stderr``: whether the line matches one of its
        project's ``noise_rules`` (observers may skip it; the logging adapter
        does).
    """

    phase: ExecPhase
    exec_id: str
    program: str
    argv: tuple[str, ...]
    cwd: str | None
    pid: int | None
    timestamp: float
    line: str | None
    exit_code: int | None
    duration_s: float | None
    tags: Tags
    stage: int | None = None
    byte_count: int | None = None
    error: str | None = None
    outcome: ExecOutcome | None = None
    newline: bool | None = None
    executable: str | None = None
    project: str | None = None
    capture: bool | None = None
    echo: bool | None = None
    env_names: tuple[str, ...] = ()
    noise: bool | None = None


type SyncObserveHook = Callable[[ExecEvent], object]
type AsyncObserveHook = Callable[[ExecEvent], Awaitable[object]]
type ObserveHook = SyncObserveHook | AsyncObserveHook
