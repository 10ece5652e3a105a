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
    """Exit status 0."""
    FAILED = "failed"
    """It failed on its own: a non-zero exit, a signal, or it never started."""
    FORGIVEN = "forgiven"
    """A pipeline stage killed by SIGPIPE after its downstream closed the hop."""
    TERMINATED = "terminated"
    """Cuprum terminated it because another pipeline stage failed."""
    TIMED_OUT = "timed_out"
    """Cuprum terminated it because the run's timeout passed."""
    CANCELLED = "cancelled"
    """Cuprum terminated it because the run was cancelled."""


class ExecEvent(NamedTuple):
    """One event of one run (immutable; cheap to create, one per line).

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
        Wall-clock time (``time.time()``) of the event.
    line
        The output line (without its line ending) for ``stdout``/``stderr``.
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


type SyncObserveHook = Callable[[ExecEvent], object]
type AsyncObserveHook = Callable[[ExecEvent], Awaitable[object]]
type ObserveHook = SyncObserveHook | AsyncObserveHook
