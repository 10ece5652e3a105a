"""Tracing adapter: one span per command or pipeline stage.

``TracingHook`` is an observe hook that drives any ``Tracer``;
``OpenTelemetryTracer`` is a tracer on the OpenTelemetry API (install
``opentelemetry-api``, and an SDK to export anything; it is imported only
when an ``OpenTelemetryTracer`` is created).

Each span is keyed by ``(exec_id, stage)``: a pipeline's stages get one
span each. A span starts at the ``start`` event (the process is up) and
ends at ``exit``; it is a child of whatever span is current where the
command runs. Attributes (after redaction):

* ``cuprum.program``, ``cuprum.argv``, ``cuprum.exec_id``, ``cuprum.pid``,
  ``cuprum.stage`` (pipelines only), ``cuprum.cwd`` (when set),
  ``cuprum.tag.<name>`` per tag;
* ``cuprum.exit_code`` and ``cuprum.duration_s`` at ``exit``;
  ``cuprum.stdin_bytes`` once stdin is written.

Span events: ``cuprum.timeout``, ``cuprum.cancel``, ``cuprum.stdin_error``,
and one ``stdout`` / ``stderr`` event per output line (attribute
``cuprum.line``) only with ``record_lines=True``. The status is an error
when the run failed (see ``cuprum.adapters.metrics`` for what counts),
timed out or was cancelled; otherwise it is left unset.

A run that ends without starting (the program could not be executed) gets
a span that starts and ends at its ``exit`` event. ``close()`` ends, with an
error, any span still open because its run never reported an exit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final, Protocol

from cuprum.adapters._outcome import failure_description, is_failure
from cuprum.adapters.redaction import redact_argv, redact_text
from cuprum.events import ExecPhase

if TYPE_CHECKING:
    from opentelemetry import trace as otel_trace

    from cuprum.adapters.redaction import Redactor
    from cuprum.events import ExecEvent

type AttributeValue = str | bool | int | float | Sequence[str]
type Attributes = Mapping[str, AttributeValue]

NO_EXIT: Final = "the run ended without an exit event"
"""The error status ``TracingHook.close()`` gives the spans it ends."""


class Span(Protocol):
    """One open span, as ``TracingHook`` uses it (times in seconds since the epoch)."""

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        """Set one attribute."""
        ...

    def add_event(self, name: str, attributes: Attributes, timestamp: float) -> None:
        """Record a point in time within the span."""
        ...

    def set_error(self, description: str) -> None:
        """Mark the span as failed."""
        ...

    def end(self, end_time: float) -> None:
        """End the span."""
        ...


class Tracer(Protocol):
    """Starts spans for ``TracingHook``."""

    def start_span(self, name: str, attributes: Attributes, start_time: float) -> Span:
        """Start a span named ``name`` (a child of the current span, if the tracer has one)."""
        ...


class _Open:
    __slots__ = ("errored", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.errored = False

    def fail(self, description: str) -> None:
        if not self.errored:
            self.errored = True
            self.span.set_error(description)


class TracingHook:
    """An observe hook that turns runs into spans.

    Parameters
    ----------
    tracer
        Starts the spans.
    record_lines
        Record each output line as a span event (off by default: output may
        hold secrets, and a span with many events is expensive).
    redactor
        Applied to ``argv``, lines, errors and tag values before anything is
        recorded.
    """

    __slots__ = ("_lock", "_open", "_record_lines", "_redactor", "_tracer")

    def __init__(
        self, tracer: Tracer, *, record_lines: bool = False, redactor: Redactor | None = None
    ) -> None:
        self._tracer = tracer
        self._record_lines = record_lines
        self._redactor = redactor
        self._open: dict[tuple[str, int | None], _Open] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        """Name the tracer, for the ``cuprum.hooks`` report of a failure."""
        return f"TracingHook(tracer={self._tracer!r}, record_lines={self._record_lines!r})"

    @property
    def open_spans(self) -> int:
        """How many spans are started and not yet ended."""
        return len(self._open)

    def __call__(self, event: ExecEvent) -> None:
        """Start, annotate or end the span of ``event``'s process."""
        phase = event.phase
        key = (event.exec_id, event.stage)
        if phase is ExecPhase.STDOUT or phase is ExecPhase.STDERR:
            if self._record_lines and (state := self._open.get(key)) is not None:
                line = redact_text(self._redactor, event.line or "", event.argv)
                state.span.add_event(phase.value, {"cuprum.line": line}, event.timestamp)
            return
        if phase is ExecPhase.START:
            self._start(event, key)
        elif phase is ExecPhase.EXIT:
            self._exit(event, key)
        elif phase is not ExecPhase.PLAN and (state := self._open.get(key)) is not None:
            self._annotate(event, state)  # plan: the span starts with the process

    def _annotate(self, event: ExecEvent, state: _Open) -> None:
        match event.phase:
            case ExecPhase.TIMEOUT:
                state.span.add_event("cuprum.timeout", {}, event.timestamp)
                state.fail("timed out")
            case ExecPhase.CANCEL:
                state.span.add_event("cuprum.cancel", {}, event.timestamp)
                state.fail("cancelled")
            case ExecPhase.STDIN:
                state.span.set_attribute("cuprum.stdin_bytes", event.byte_count or 0)
            case _:  # stdin_error
                error = redact_text(self._redactor, event.error or "", event.argv)
                state.span.add_event("cuprum.stdin_error", {"cuprum.error": error}, event.timestamp)

    def _attributes(self, event: ExecEvent) -> dict[str, AttributeValue]:
        redactor = self._redactor
        attributes: dict[str, AttributeValue] = {
            "cuprum.program": event.program,
            "cuprum.argv": redact_argv(redactor, event.argv),
            "cuprum.exec_id": event.exec_id,
        }
        if event.pid is not None:
            attributes["cuprum.pid"] = event.pid
        if event.stage is not None:
            attributes["cuprum.stage"] = event.stage
        if event.cwd is not None:
            attributes["cuprum.cwd"] = event.cwd
        for name, value in event.tags.items():
            attributes[f"cuprum.tag.{name}"] = redact_text(redactor, value, event.argv)
        return attributes

    def _start(self, event: ExecEvent, key: tuple[str, int | None]) -> None:
        span = self._tracer.start_span(event.program, self._attributes(event), event.timestamp)
        with self._lock:
            previous = self._open.pop(key, None)
            self._open[key] = _Open(span)
        if previous is not None:  # cannot happen with Cuprum's runner; never leak a span
            previous.fail(NO_EXIT)
            previous.span.end(event.timestamp)

    def _exit(self, event: ExecEvent, key: tuple[str, int | None]) -> None:
        with self._lock:
            state = self._open.pop(key, None)
        if state is None:  # ended before it started: the program could not be executed
            state = _Open(self._tracer.start_span(event.program, self._attributes(event), event.timestamp))
        span = state.span
        try:
            if event.exit_code is not None:
                span.set_attribute("cuprum.exit_code", event.exit_code)
            if event.duration_s is not None:
                span.set_attribute("cuprum.duration_s", event.duration_s)
            if event.outcome is not None:
                span.set_attribute("cuprum.outcome", event.outcome.value)
            if is_failure(event):
                state.fail(redact_text(self._redactor, failure_description(event), event.argv))
        finally:
            span.end(event.timestamp)

    def close(self) -> None:
        """End every span still open, with an error status (idempotent)."""
        with self._lock:
            states = list(self._open.values())
            self._open.clear()
        now = time.time()
        for state in states:
            state.fail(NO_EXIT)
            state.span.end(now)


def _nanoseconds(seconds: float) -> int:
    return round(seconds * 1_000_000_000)


class _OpenTelemetrySpan:
    __slots__ = ("_span",)

    def __init__(self, span: otel_trace.Span) -> None:
        self._span = span

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        self._span.set_attribute(key, value)

    def add_event(self, name: str, attributes: Attributes, timestamp: float) -> None:
        self._span.add_event(name, dict(attributes), timestamp=_nanoseconds(timestamp))

    def set_error(self, description: str) -> None:
        from opentelemetry.trace import Status, StatusCode  # noqa: PLC0415 (optional dependency)

        self._span.set_status(Status(StatusCode.ERROR, description))

    def end(self, end_time: float) -> None:
        self._span.end(end_time=_nanoseconds(end_time))


class OpenTelemetryTracer:
    """A ``Tracer`` on the OpenTelemetry API.

    Parameters
    ----------
    tracer_provider
        Where spans go (default: the global provider, set with
        ``opentelemetry.trace.set_tracer_provider``).

    Raises
    ------
    ImportError
        When ``opentelemetry-api`` is not installed.
    """

    __slots__ = ("_tracer",)

    def __init__(self, tracer_provider: otel_trace.TracerProvider | None = None) -> None:
        try:
            from opentelemetry import trace  # noqa: PLC0415 (optional: imported only when used)
        except ImportError as error:
            msg = "OpenTelemetryTracer needs the OpenTelemetry API: pip install opentelemetry-api"
            raise ImportError(msg, name="opentelemetry") from error
        from cuprum import __version__  # noqa: PLC0415 (cuprum imports nothing from here)

        self._tracer = trace.get_tracer("cuprum", __version__, tracer_provider=tracer_provider)

    def __repr__(self) -> str:
        """Identify the tracer, for the ``cuprum.hooks`` report of a failure."""
        return f"OpenTelemetryTracer({self._tracer!r})"

    def start_span(self, name: str, attributes: Attributes, start_time: float) -> Span:
        """Start a span (a child of the current OpenTelemetry context's span)."""
        span = self._tracer.start_span(name, attributes=dict(attributes), start_time=_nanoseconds(start_time))
        return _OpenTelemetrySpan(span)
