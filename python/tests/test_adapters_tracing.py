"""Tests for the tracing adapter on the OpenTelemetry SDK.

Each test builds its own ``TracerProvider`` with an ``InMemorySpanExporter``
(the global provider is never touched), runs real commands and checks the
finished spans: names, attributes, events, status and parentage.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import TYPE_CHECKING

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from support import shell

from cuprum import (
    CAT,
    ECHO,
    FALSE,
    HEAD,
    YES,
    ExecEvent,
    ExecPhase,
    ExecutionContext,
    Program,
    ProgramCatalogue,
    ProjectSettings,
    StdinInput,
    TimeoutExpired,
    current_scope,
    observe,
    sh,
)
from cuprum.adapters.redaction import Redactor
from cuprum.adapters.tracing import NO_EXIT, Attributes, OpenTelemetryTracer, Span, TracingHook

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(autouse=True)
def no_scope_leak() -> Iterator[None]:
    layers = current_scope().layers
    yield
    assert current_scope().layers == layers, "the test left a scope layer registered"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


@pytest.fixture
def tracer(provider: TracerProvider) -> OpenTelemetryTracer:
    return OpenTelemetryTracer(provider)


def stage_of(span: ReadableSpan) -> int:
    stage = (span.attributes or {}).get("cuprum.stage", -1)
    assert isinstance(stage, int)
    return stage


def spans_of(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    """The finished spans, in stage order (a lone command has no stage)."""
    return sorted(exporter.get_finished_spans(), key=stage_of)


def attributes(span: ReadableSpan) -> dict[str, object]:
    return dict(span.attributes or {})


def event_names(span: ReadableSpan) -> list[str]:
    return [event.name for event in span.events]


# --- one span per process ---------------------------------------------------------------


def test_a_command_is_one_span(exporter: InMemorySpanExporter, tracer: OpenTelemetryTracer) -> None:
    hook = TracingHook(tracer)
    context = ExecutionContext(tags={"job": "nightly"})
    with observe(hook):
        result = sh.make(ECHO)("hello", "world").run_sync(context=context)
    (span,) = spans_of(exporter)
    assert span.name == "echo"
    found = attributes(span)
    duration = found.pop("cuprum.duration_s")
    assert isinstance(duration, float)
    assert duration >= 0
    assert found == {
        "cuprum.program": "echo",
        "cuprum.argv": ("echo", "hello", "world"),
        "cuprum.exec_id": found["cuprum.exec_id"],
        "cuprum.pid": result.pid,
        "cuprum.exit_code": 0,
        "cuprum.outcome": "ok",
        "cuprum.tag.job": "nightly",
    }
    assert span.status.status_code is StatusCode.UNSET
    assert span.events == ()  # no lines unless asked
    assert span.start_time is not None
    assert span.end_time is not None
    assert span.start_time <= span.end_time
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "cuprum"
    assert hook.open_spans == 0


def test_each_pipeline_stage_is_a_span(exporter: InMemorySpanExporter, tracer: OpenTelemetryTracer) -> None:
    with observe(TracingHook(tracer, record_lines=True)):
        result = (sh.make(ECHO)("piped") | sh.make(CAT)()).run_sync()
    first, second = spans_of(exporter)
    assert (first.name, second.name) == ("echo", "cat")
    assert attributes(first)["cuprum.stage"] == 0
    assert attributes(second)["cuprum.stage"] == 1
    assert attributes(first)["cuprum.exec_id"] == attributes(second)["cuprum.exec_id"]
    assert attributes(first)["cuprum.pid"] == result.stages[0].pid
    assert attributes(second)["cuprum.pid"] == result.stages[1].pid
    assert first.context is not None
    assert second.context is not None
    assert first.context.span_id != second.context.span_id
    assert event_names(first) == []
    assert [(event.name, dict(event.attributes or {})) for event in second.events] == [
        ("stdout", {"cuprum.line": "piped"})
    ]


def test_output_lines_become_span_events_only_when_asked(
    exporter: InMemorySpanExporter, tracer: OpenTelemetryTracer
) -> None:
    cmd = shell("echo out-1; echo err-1 >&2; echo out-2")
    with observe(TracingHook(tracer)):
        cmd.run_sync()
    with observe(TracingHook(tracer, record_lines=True)):
        cmd.run_sync()
    quiet, verbose = exporter.get_finished_spans()
    assert quiet.events == ()
    lines = [(event.name, dict(event.attributes or {})["cuprum.line"]) for event in verbose.events]
    assert [line for line in lines if line[0] == "stdout"] == [("stdout", "out-1"), ("stdout", "out-2")]
    assert [line for line in lines if line[0] == "stderr"] == [("stderr", "err-1")]
    assert verbose.start_time is not None
    assert all(event.timestamp >= verbose.start_time for event in verbose.events)


def test_stdin_bytes_are_an_attribute(exporter: InMemorySpanExporter, tracer: OpenTelemetryTracer) -> None:
    with observe(TracingHook(tracer)):
        sh.make(CAT)().run_sync(stdin=StdinInput(text="four"))
    (span,) = exporter.get_finished_spans()
    assert attributes(span)["cuprum.stdin_bytes"] == 4


def test_spans_are_children_of_the_current_span(
    exporter: InMemorySpanExporter, provider: TracerProvider, tracer: OpenTelemetryTracer
) -> None:
    with observe(TracingHook(tracer)), provider.get_tracer("test").start_as_current_span("deploy") as parent:
        sh.make(ECHO)("x").run_sync()
    child, deploy = exporter.get_finished_spans()
    assert deploy.name == "deploy"
    assert child.parent is not None
    assert child.parent.span_id == parent.get_span_context().span_id
    assert child.context is not None
    assert child.context.trace_id == parent.get_span_context().trace_id


# --- status -------------------------------------------------------------------------


def test_a_failing_command_has_an_error_status(
    exporter: InMemorySpanExporter, tracer: OpenTelemetryTracer
) -> None:
    with observe(TracingHook(tracer)):
        assert sh.make(FALSE)().run_sync().exit_code == 1
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "exit code 1"
    assert attributes(span)["cuprum.exit_code"] == 1


def test_a_stage_forgiven_its_sigpipe_is_not_an_error(
    exporter: InMemorySpanExporter, tracer: OpenTelemetryTracer
) -> None:
    with observe(TracingHook(tracer)):
        result = (sh.make(YES)() | sh.make(HEAD)("-n", "1")).run_sync(timeout=30)
    assert result.ok
    yes, head = spans_of(exporter)
    assert attributes(yes)["cuprum.exit_code"] == -signal.SIGPIPE
    assert yes.status.status_code is StatusCode.UNSET
    assert head.status.status_code is StatusCode.UNSET


def test_a_timed_out_run_has_an_error_status(
    exporter: InMemorySpanExporter, tracer: OpenTelemetryTracer
) -> None:
    hook = TracingHook(tracer)
    with observe(hook), pytest.raises(TimeoutExpired):
        shell("sleep 30").run_sync(timeout=0.2)
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "timed out"
    assert event_names(span) == ["cuprum.timeout"]
    assert attributes(span)["cuprum.exit_code"] == -signal.SIGTERM
    assert hook.open_spans == 0


def test_a_cancelled_run_has_an_error_status(
    exporter: InMemorySpanExporter, tracer: OpenTelemetryTracer
) -> None:
    hook = TracingHook(tracer)

    async def main() -> None:
        started = asyncio.Event()

        def on_start(event: ExecEvent) -> None:
            if event.phase is ExecPhase.START:
                started.set()

        with observe(hook), observe(on_start):
            task = asyncio.ensure_future(shell("sleep 30").run())
            await asyncio.wait_for(started.wait(), timeout=10)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "cancelled"
    assert event_names(span) == ["cuprum.cancel"]
    assert hook.open_spans == 0


def test_a_program_that_cannot_start_gets_an_error_span(
    exporter: InMemorySpanExporter, tracer: OpenTelemetryTracer
) -> None:
    missing = Program("/nonexistent/cuprum-test-missing")
    catalogue = ProgramCatalogue(projects=[ProjectSettings(name="ghosts", programs=(missing,))])
    hook = TracingHook(tracer)
    with observe(hook), pytest.raises(FileNotFoundError):
        sh.make(missing, catalogue=catalogue)().run_sync()
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description is not None
    assert span.status.description.startswith("could not start: ProgramNotFoundError")
    assert "cuprum.exit_code" not in attributes(span)
    assert "cuprum.pid" not in attributes(span)
    assert span.start_time == span.end_time
    assert hook.open_spans == 0


def test_close_ends_spans_whose_run_never_exited(
    exporter: InMemorySpanExporter, tracer: OpenTelemetryTracer
) -> None:
    hook = TracingHook(tracer)
    start = ExecEvent(ExecPhase.START, "x-1", "echo", ("echo",), None, 42, 1.0, None, None, None, {}, stage=0)
    hook(start)
    assert hook.open_spans == 1
    assert exporter.get_finished_spans() == ()
    hook.close()
    hook.close()
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == NO_EXIT
    assert attributes(span)["cuprum.pid"] == 42
    assert hook.open_spans == 0


def test_secrets_never_reach_a_span(exporter: InMemorySpanExporter, tracer: OpenTelemetryTracer) -> None:
    redactor = Redactor(values=["hunter2"], options=["--password"])
    with observe(TracingHook(tracer, record_lines=True, redactor=redactor)):
        sh.make(ECHO)("--password", "s3cret", "hunter2").run_sync(
            context=ExecutionContext(tags={"pw": "hunter2"})
        )
    (span,) = exporter.get_finished_spans()
    assert attributes(span)["cuprum.argv"] == ("echo", "--password", "***", "***")
    assert attributes(span)["cuprum.tag.pw"] == "***"
    assert [dict(event.attributes or {}) for event in span.events] == [{"cuprum.line": "--password *** ***"}]
    emitted = repr(attributes(span)) + repr([dict(event.attributes or {}) for event in span.events])
    assert "hunter2" not in emitted
    assert "s3cret" not in emitted
    assert "hunter2" not in repr(attributes(span)) + repr(
        [dict(event.attributes or {}) for event in span.events]
    )


# --- the protocol, and the error policy --------------------------------------------------


class FakeSpan:
    def __init__(self, log: list[tuple[object, ...]], name: str) -> None:
        self.log = log
        self.name = name

    def set_attribute(self, key: str, value: object) -> None:
        self.log.append(("attribute", self.name, key, value))

    def add_event(self, name: str, attributes: Attributes, timestamp: float) -> None:
        self.log.append(("event", self.name, name, dict(attributes), timestamp > 0))

    def set_error(self, description: str) -> None:
        self.log.append(("error", self.name, description))

    def end(self, end_time: float) -> None:
        self.log.append(("end", self.name, end_time > 0))


class FakeTracer:
    def __init__(self) -> None:
        self.log: list[tuple[object, ...]] = []

    def start_span(self, name: str, attributes: Attributes, start_time: float) -> Span:
        self.log.append(("start", name, dict(attributes)["cuprum.program"], start_time > 0))
        return FakeSpan(self.log, name)


def test_any_tracer_can_be_driven() -> None:
    tracer = FakeTracer()
    with observe(TracingHook(tracer)):
        sh.make(FALSE)().run_sync()
    assert tracer.log[0] == ("start", "false", "false", True)
    assert tracer.log[-4:] == [
        ("attribute", "false", "cuprum.duration_s", tracer.log[-4][3]),
        ("attribute", "false", "cuprum.outcome", "failed"),
        ("error", "false", "exit code 1"),
        ("end", "false", True),
    ]
    assert ("attribute", "false", "cuprum.exit_code", 1) in tracer.log


class BrokenTracer(FakeTracer):
    def start_span(self, name: str, attributes: Attributes, start_time: float) -> Span:  # noqa: ARG002
        message = f"collector unreachable for {name}"
        raise ConnectionError(message)


class SpanThatFailsToEnd(FakeSpan):
    def end(self, end_time: float) -> None:  # noqa: ARG002
        message = "exporter failed"
        raise RuntimeError(message)


class TracerWithBrokenSpans(FakeTracer):
    def start_span(self, name: str, attributes: Attributes, start_time: float) -> Span:  # noqa: ARG002
        return SpanThatFailsToEnd(self.log, name)


def test_a_raising_tracer_does_not_break_the_run(caplog: pytest.LogCaptureFixture) -> None:
    hook = TracingHook(BrokenTracer())
    with caplog.at_level(logging.ERROR, logger="cuprum.hooks"), observe(hook):
        result = sh.make(ECHO)("still").run_sync()
    assert result.ok
    assert result.stdout == "still\n"
    reports = [record for record in caplog.records if record.name == "cuprum.hooks"]
    # start fails, and so does the span the exit tries to make instead.
    assert [record.getMessage().split(" raised on ")[1].split()[0] for record in reports] == ["start", "exit"]
    for report in reports:
        assert "TracingHook(tracer=" in report.getMessage()
        assert report.exc_info is not None
        assert isinstance(report.exc_info[1], ConnectionError)
    assert hook.open_spans == 0


def test_a_span_that_fails_to_end_is_not_kept_open(caplog: pytest.LogCaptureFixture) -> None:
    hook = TracingHook(TracerWithBrokenSpans())
    with caplog.at_level(logging.ERROR, logger="cuprum.hooks"), observe(hook):
        result = (sh.make(ECHO)("x") | sh.make(CAT)()).run_sync()
    assert result.ok
    reports = [record for record in caplog.records if record.name == "cuprum.hooks"]
    assert len(reports) == 2
    assert all(
        report.exc_info is not None and isinstance(report.exc_info[1], RuntimeError) for report in reports
    )
    assert hook.open_spans == 0


def test_a_missing_opentelemetry_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ImportError, match=r"pip install opentelemetry-api") as caught:
        OpenTelemetryTracer()
    assert caught.value.name == "opentelemetry"
