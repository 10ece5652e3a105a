"""Steps for observability.feature: the adapters, on real commands.

Each ``Given`` registers one adapter (detached after the scenario); each
``When`` runs real commands with every registered adapter observing; the
``Then`` steps read back what the adapters emitted: finished spans from an
in-memory exporter, JSON log lines, Prometheus samples.
"""

from __future__ import annotations

import io
import json
import logging
from typing import TYPE_CHECKING, Final

from behave import given, then, when
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import CollectorRegistry

from cuprum import CAT, DEFAULT_CATALOGUE, ECHO, observe, sh
from cuprum.adapters import (
    JsonFormatter,
    LoggingHook,
    MetricsHook,
    OpenTelemetryTracer,
    PrometheusMetrics,
    Redactor,
    TracingHook,
)

if TYPE_CHECKING:
    from behave.runner import Context

RUN_TIMEOUT: Final = 30.0
"""Every run gets this timeout: a hang fails the scenario instead of stalling it."""


def register(context: Context, hook: object) -> None:
    """Observe every run of the scenario with ``hook``, until the scenario ends."""
    handle = observe(hook)  # pyright: ignore[reportArgumentType]
    context.cleanups.append(handle.detach)


def finished_spans(context: Context) -> list[ReadableSpan]:
    exporter: InMemorySpanExporter = context.exporter
    return sorted(exporter.get_finished_spans(), key=lambda span: span.start_time or 0)


def json_records(context: Context) -> list[dict[str, object]]:
    stream: io.StringIO = context.log_stream
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def cuprum_fields(record: dict[str, object]) -> dict[str, object]:
    fields = record["cuprum"]
    assert isinstance(fields, dict)
    return fields  # pyright: ignore[reportUnknownVariableType]


# --- given -------------------------------------------------------------------


@given("a tracer that keeps its spans in memory")
def step_tracer(context: Context) -> None:
    context.exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(context.exporter))
    context.cleanups.append(provider.shutdown)
    register(context, TracingHook(OpenTelemetryTracer(provider)))


@given('JSON logs of every command and its output, redacting the value "{value}" and the option "{option}"')
def step_json_logs(context: Context, value: str, option: str) -> None:
    context.log_stream = io.StringIO()
    handler = logging.StreamHandler(context.log_stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("behaviour.observability")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    context.cleanups.append(lambda: logger.removeHandler(handler))
    redactor = Redactor(values=[value], options=[option])
    register(context, LoggingHook(logger, lines=True, redactor=redactor))


@given("Prometheus metrics on a fresh registry")
def step_metrics(context: Context) -> None:
    context.registry = CollectorRegistry()
    register(context, MetricsHook(PrometheusMetrics(context.registry), catalogue=DEFAULT_CATALOGUE))


# --- when --------------------------------------------------------------------


@when('the program "{program}" is run under observation')
def step_run_once(context: Context, program: str) -> None:
    del context
    sh.make(program)().run_sync(timeout=RUN_TIMEOUT)


@when('the program "{program}" is run under observation {times:d} times')
def step_run_repeatedly(context: Context, program: str, times: int) -> None:
    del context
    for _ in range(times):
        sh.make(program)().run_sync(timeout=RUN_TIMEOUT)


@when('the pipeline echo "{text}" | cat is run under observation')
def step_run_pipeline(context: Context, text: str) -> None:
    context.result = (sh.make(ECHO)(text) | sh.make(CAT)()).run_sync(timeout=RUN_TIMEOUT)


@when('echo is run with the arguments "{first}", "{second}" and "{third}" under observation')
def step_run_echo(context: Context, first: str, second: str, third: str) -> None:
    context.result = sh.make(ECHO)(first, second, third).run_sync(timeout=RUN_TIMEOUT)


# --- then --------------------------------------------------------------------


@then('one span named "{name}" was recorded')
def step_one_span(context: Context, name: str) -> None:
    spans = finished_spans(context)
    assert [span.name for span in spans] == [name], spans
    context.span = spans[0]


@then('the span has an error status saying "{description}"')
def step_error_status(context: Context, description: str) -> None:
    span: ReadableSpan = context.span
    assert span.status.status_code is StatusCode.ERROR, span.status
    assert span.status.description == description, span.status


@then('the span\'s attribute "{key}" is {value:d}')
def step_span_attribute(context: Context, key: str, value: int) -> None:
    span: ReadableSpan = context.span
    assert (span.attributes or {}).get(key) == value, span.attributes


@then('the spans "{first}" and "{second}" were recorded, for stages 0 and 1 of one run')
def step_stage_spans(context: Context, first: str, second: str) -> None:
    spans = sorted(finished_spans(context), key=lambda span: str((span.attributes or {}).get("cuprum.stage")))
    assert [span.name for span in spans] == [first, second], spans
    assert [(span.attributes or {}).get("cuprum.stage") for span in spans] == [0, 1]
    exec_ids = [(span.attributes or {}).get("cuprum.exec_id") for span in spans]
    assert exec_ids[0] == exec_ids[1], exec_ids


@then("no span has an error status")
def step_no_error(context: Context) -> None:
    for span in finished_spans(context):
        assert span.status.status_code is not StatusCode.ERROR, (span.name, span.status)


@then("the logs hold a start record, an output record and an exit record for echo")
def step_log_records(context: Context) -> None:
    records = json_records(context)
    assert [cuprum_fields(record)["phase"] for record in records] == ["start", "stdout", "exit"], records
    assert {cuprum_fields(record)["program"] for record in records} == {"echo"}
    assert cuprum_fields(records[-1])["exit_code"] == 0


@then('the logged argv is "{a}", "{b}", "{c}" and "{d}"')
def step_logged_argv(context: Context, a: str, b: str, c: str, d: str) -> None:
    for record in json_records(context):
        fields = cuprum_fields(record)
        if fields["phase"] in {"start", "exit"}:
            assert fields["argv"] == [a, b, c, d], fields


@then('neither "{first}" nor "{second}" appears anywhere in the logs')
def step_nothing_secret(context: Context, first: str, second: str) -> None:
    stream: io.StringIO = context.log_stream
    logs = stream.getvalue()
    assert logs
    assert first not in logs
    assert second not in logs


@then('{metric} is {value:d} for "{program}" of project "{project}"')
def step_metric_value(context: Context, metric: str, value: int, program: str, project: str) -> None:
    registry: CollectorRegistry = context.registry
    assert registry.get_sample_value(metric, {"program": program, "project": project}) == value


@then('no failure was counted for "{program}" of project "{project}"')
def step_no_failure(context: Context, program: str, project: str) -> None:
    registry: CollectorRegistry = context.registry
    labels = {"program": program, "project": project}
    assert registry.get_sample_value("cuprum_failures_total", labels) in {None, 0.0}
