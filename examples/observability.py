"""Logs, metrics and a trace of a few commands, with a secret kept out of all three.

Run it with ``tools/bazel run //examples:observability``. It runs an
``echo`` that carries a password, a failing ``grep``, and a pipeline, with
three observers: JSON logs, Prometheus metrics and OpenTelemetry spans (to
an in-memory exporter, printed at the end). One ``Redactor`` keeps the
password out of every one of them.
"""

from __future__ import annotations

import io
import logging

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry, generate_latest

from cuprum import ECHO, GREP, SORT, StdinInput, observe, sh
from cuprum.adapters import (
    JsonFormatter,
    LoggingHook,
    MetricsHook,
    OpenTelemetryTracer,
    PrometheusMetrics,
    Redactor,
    TracingHook,
)

SECRET = "hunter2"  # noqa: S105 (a demonstration secret)


def main() -> None:
    """Run the commands observed, then print the logs, the metrics and the spans."""
    redactor = Redactor(options=("--password",))

    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("example.cuprum")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False

    registry = CollectorRegistry()
    metrics = PrometheusMetrics(registry)

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing = TracingHook(OpenTelemetryTracer(provider), redactor=redactor)

    with (
        observe(LoggingHook(logger, redactor=redactor)),
        observe(MetricsHook(metrics, redactor=redactor)),
        observe(tracing),
    ):
        sh.make(ECHO)("deploying", password=SECRET).run_sync()
        sh.make(GREP)("needle").run_sync(stdin=StdinInput(text="haystack\n"))
        (sh.make(ECHO)("b\na\nc") | sh.make(SORT)()).run_sync()

    print("== logs (JSON, one record per line)")
    print(logs.getvalue(), end="")
    print("\n== metrics (Prometheus exposition, cuprum_* samples)")
    exposition = generate_latest(registry).decode()
    for line in exposition.splitlines():
        if line.startswith("cuprum_") and "_bucket" not in line and "_created" not in line:
            print(line)
    print("\n== spans")
    for span in exporter.get_finished_spans():
        attributes = dict(span.attributes or {})
        print(
            f"{span.name:<6} stage={attributes.get('cuprum.stage', '-')!s:<2} "
            f"exit={attributes.get('cuprum.exit_code')} status={span.status.status_code.name} "
            f"argv={list(attributes.get('cuprum.argv', ()))}"  # pyright: ignore[reportArgumentType]
        )
    everything = (
        logs.getvalue() + exposition + repr([dict(s.attributes or {}) for s in exporter.get_finished_spans()])
    )
    print(f"\nthe secret appears in the output: {SECRET in everything}")


if __name__ == "__main__":
    main()
