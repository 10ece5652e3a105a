"""Logging adapter: one record when a command starts and one when it exits.

``LoggingHook`` is an observe hook. Every record it emits carries the
event's fields as a ``dict`` in ``record.cuprum`` (``extra=``), so a
structured formatter needs nothing else; ``JsonFormatter`` renders any
record, with those fields, as one JSON object per line.

What it emits (after redaction, when given a ``Redactor``):

* ``start`` (at ``level``): program, ``argv``, pid, ``exec_id``, stage,
  working directory and tags;
* ``timeout`` and ``cancel`` (at ``failure_level``);
* ``exit`` (at ``level``, or ``failure_level`` when the run failed): the
  same fields plus the exit code and duration (or, when the program could
  not start, the error);
* ``stdin`` and ``stdin_error`` at ``DEBUG``;
* output lines, at ``line_level`` (``DEBUG``), only with ``lines=True``,
  except the lines its project's ``noise_rules`` match (``ExecEvent.noise``).

``plan`` events are not logged. Environment variables are never logged.

>>> import logging
>>> from cuprum import observe
>>> hook = LoggingHook(logging.getLogger("myapp.commands"))
>>> with observe(hook):
...     pass
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shlex
from typing import TYPE_CHECKING, Final, override

from cuprum.adapters._outcome import failure_description, is_failure
from cuprum.adapters.redaction import redact_argv, redact_text
from cuprum.events import ExecPhase

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cuprum.adapters.redaction import Redactor
    from cuprum.events import ExecEvent

DEFAULT_LOGGER: Final = "cuprum.exec"
"""The logger ``LoggingHook`` uses unless given another."""
RECORD_ATTRIBUTE: Final = "cuprum"
"""The ``LogRecord`` attribute that holds the event's fields."""

type Fields = dict[str, object]


class LoggingHook:
    """An observe hook that logs the lifecycle (and, if asked, the output) of every run.

    Parameters
    ----------
    logger
        A logger or a logger's name.
    level
        For ``start`` and successful ``exit`` records.
    failure_level
        For ``exit`` records of failed runs, and for ``timeout`` and
        ``cancel``.
    lines
        Also log each output line (off by default: output may hold secrets).
    line_level
        For output lines.
    redactor
        Applied to ``argv``, lines, errors and tag values before anything is
        logged.
    """

    __slots__ = ("_failure_level", "_level", "_line_level", "_lines", "_logger", "_redactor")

    def __init__(
        self,
        logger: logging.Logger | str = DEFAULT_LOGGER,
        *,
        level: int = logging.INFO,
        failure_level: int = logging.WARNING,
        lines: bool = False,
        line_level: int = logging.DEBUG,
        redactor: Redactor | None = None,
    ) -> None:
        self._logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        self._level = level
        self._failure_level = failure_level
        self._lines = lines
        self._line_level = line_level
        self._redactor = redactor

    @property
    def logger(self) -> logging.Logger:
        """The logger records go to."""
        return self._logger

    def __repr__(self) -> str:
        """Name the logger, for the ``cuprum.hooks`` report of a failure."""
        return f"LoggingHook(logger={self._logger.name!r}, lines={self._lines!r})"

    def __call__(self, event: ExecEvent) -> None:
        """Log ``event`` if it is one this hook logs and the logger is enabled for it."""
        phase = event.phase
        if phase is ExecPhase.STDOUT or phase is ExecPhase.STDERR:
            if self._lines and not event.noise and self._logger.isEnabledFor(self._line_level):
                self._log_line(event)
            return
        if phase is ExecPhase.PLAN:
            return
        if phase is ExecPhase.EXIT:
            level = self._failure_level if is_failure(event) else self._level
        elif phase is ExecPhase.START:
            level = self._level
        elif phase is ExecPhase.TIMEOUT or phase is ExecPhase.CANCEL:
            level = self._failure_level
        else:  # stdin, stdin_error
            level = logging.DEBUG
        if self._logger.isEnabledFor(level):
            self._log_lifecycle(event, level)

    def _log_lifecycle(self, event: ExecEvent, level: int) -> None:
        redactor = self._redactor
        argv = redact_argv(redactor, event.argv)
        fields: Fields = {
            "phase": event.phase.value,
            "exec_id": event.exec_id,
            "program": event.program,
            "argv": list(argv),
            "cwd": event.cwd,
            "pid": event.pid,
            "stage": event.stage,
            "tags": {key: redact_text(redactor, value, event.argv) for key, value in event.tags.items()},
        }
        where = f"exec_id {event.exec_id}" + ("" if event.stage is None else f", stage {event.stage}")
        command = shlex.join(argv)
        match event.phase:
            case ExecPhase.START:
                message, args = "start %s (pid %s, %s)", (command, event.pid, where)
            case ExecPhase.EXIT:
                fields["exit_code"] = event.exit_code
                fields["duration_s"] = event.duration_s
                if event.outcome is not None:
                    fields["outcome"] = event.outcome.value
                if event.error is not None:
                    fields["error"] = redact_text(redactor, event.error, event.argv)
                if event.exit_code is None:
                    outcome = redact_text(redactor, failure_description(event), event.argv)
                else:
                    outcome = f"exit code {event.exit_code} after {event.duration_s or 0.0:.3f} s"
                message, args = "exit %s: %s (%s)", (command, outcome, where)
            case ExecPhase.TIMEOUT:
                message, args = "timeout %s: the run timed out (%s)", (command, where)
            case ExecPhase.CANCEL:
                message, args = "cancel %s: the run was cancelled (%s)", (command, where)
            case ExecPhase.STDIN:
                fields["byte_count"] = event.byte_count
                message, args = "stdin %s: %s bytes written (%s)", (command, event.byte_count, where)
            case _:  # stdin_error
                error = redact_text(redactor, event.error or "", event.argv)
                fields["error"] = error
                message, args = "stdin %s: the child closed its stdin early: %s (%s)", (command, error, where)
        self._logger.log(level, message, *args, extra={RECORD_ATTRIBUTE: fields})

    def _log_line(self, event: ExecEvent) -> None:
        line = redact_text(self._redactor, event.line or "", event.argv)
        fields: Fields = {
            "phase": event.phase.value,
            "exec_id": event.exec_id,
            "program": event.program,
            "pid": event.pid,
            "stage": event.stage,
            "line": line,
        }
        self._logger.log(
            self._line_level,
            "%s %s: %s",
            event.phase.value,
            event.program,
            line,
            extra={RECORD_ATTRIBUTE: fields},
        )


class JsonFormatter(logging.Formatter):
    """Render each record as one JSON object on one line.

    The object holds ``timestamp`` (ISO 8601, UTC), ``level``, ``logger``
    and ``message``; each of ``attributes`` the record has (by default
    ``cuprum``, the fields ``LoggingHook`` attaches); and ``exc_info`` and
    ``stack_info`` as text when present. Values JSON cannot represent are
    rendered with ``str``.

    Parameters
    ----------
    attributes
        Record attributes (set through ``extra=``) to include.
    ensure_ascii
        Escape non-ASCII characters (``json.dumps``' option).
    """

    def __init__(
        self, *, attributes: Sequence[str] = (RECORD_ATTRIBUTE,), ensure_ascii: bool = False
    ) -> None:
        super().__init__()
        if isinstance(attributes, str):
            msg = "JsonFormatter attributes must be a sequence of names, not a string"
            raise TypeError(msg)
        self._attributes = tuple(attributes)
        self._ensure_ascii = ensure_ascii

    @override
    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON (newlines inside values are escaped)."""
        created = dt.datetime.fromtimestamp(record.created, tz=dt.UTC)
        payload: dict[str, object] = {
            "timestamp": created.isoformat(timespec="microseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for attribute in self._attributes:
            if attribute in record.__dict__:
                payload[attribute] = record.__dict__[attribute]
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            payload["exc_info"] = record.exc_text
        if record.stack_info:
            payload["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(payload, default=str, ensure_ascii=self._ensure_ascii)
