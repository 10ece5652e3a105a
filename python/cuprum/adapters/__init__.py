"""Observability adapters: logging, metrics and tracing on the observe hooks.

Each adapter is an observe hook (a callable taking an ``ExecEvent``),
registered like any other: ``with cuprum.observe(hook): ...``. Nothing here
is imported by ``import cuprum``, and the optional libraries are imported
only when an adapter that needs them is created: ``prometheus_client`` by
``PrometheusMetrics``, ``opentelemetry`` by ``OpenTelemetryTracer``.

What each adapter emits
-----------------------
================  ==========================  ======================  ==================
adapter           argv, program, pid, tags    output lines            environment
================  ==========================  ======================  ==================
``LoggingHook``   yes (start, exit)           only with ``lines``     never
``MetricsHook``   program label only          counted, never sent     never
``TracingHook``   yes (span attributes)       only ``record_lines``   never
================  ==========================  ======================  ==================

Every adapter takes an optional ``Redactor`` (``cuprum.adapters.redaction``)
and applies it to ``argv``, lines, error messages and tag values before it
emits anything; ``redacting(hook, redactor)`` does the same for any hook.

Error policy
------------
An adapter that raises never breaks the command it observes, and its error
is never lost: Cuprum's event delivery catches it, logs it with its
traceback on the ``cuprum.hooks`` logger (naming the hook, the phase, the
program and the ``exec_id``) and carries on with the run and the other
observers. Keep ``cuprum.hooks`` routed somewhere you read.
"""

from __future__ import annotations

from cuprum.adapters.logging import JsonFormatter, LoggingHook
from cuprum.adapters.metrics import MetricsCollector, MetricsHook, PrometheusMetrics
from cuprum.adapters.redaction import Redactor, redacting
from cuprum.adapters.tracing import OpenTelemetryTracer, Span, Tracer, TracingHook

__all__ = [
    "JsonFormatter",
    "LoggingHook",
    "MetricsCollector",
    "MetricsHook",
    "OpenTelemetryTracer",
    "PrometheusMetrics",
    "Redactor",
    "Span",
    "Tracer",
    "TracingHook",
    "redacting",
]
