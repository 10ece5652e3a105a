"""Tests for the redactor: what it hides, in argv and text, and that every adapter applies it.

The unit tests pin the rules (literal values, patterns with and without
groups, option values, environment variables); the integration tests run
real commands under each adapter and search everything the adapter emitted
for the secret.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import logging
import re
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry, generate_latest
from support import SH, TEST_CATALOGUE

from cuprum import ECHO, ExecEvent, ExecPhase, ExecutionContext, current_scope, env, observe, sh
from cuprum.adapters import (
    JsonFormatter,
    LoggingHook,
    MetricsHook,
    OpenTelemetryTracer,
    PrometheusMetrics,
    Redactor,
    TracingHook,
    redacting,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

SECRET = "hunter2-Zq9"  # noqa: S105 (a test secret)


@pytest.fixture(autouse=True)
def no_scope_leak() -> Iterator[None]:
    layers = current_scope().layers
    yield
    assert current_scope().layers == layers, "the test left a scope layer registered"


def event(**fields: object) -> ExecEvent:
    values: dict[str, object] = {
        "phase": ExecPhase.START,
        "exec_id": "1-1",
        "program": "echo",
        "argv": ("echo",),
        "cwd": None,
        "pid": 1,
        "timestamp": 0.0,
        "line": None,
        "exit_code": None,
        "duration_s": None,
        "tags": {},
    }
    values.update(fields)
    return ExecEvent(**values)  # pyright: ignore[reportArgumentType]


# --- the rules ---------------------------------------------------------------------


def test_literal_values_are_hidden_as_whole_elements_and_inside_them() -> None:
    redactor = Redactor(values=[SECRET])
    assert redactor.redact_argv(("login", SECRET, f"--pw={SECRET}", f"{SECRET}{SECRET}", "plain")) == (
        "login",
        "***",
        "--pw=***",
        "******",
        "plain",
    )
    assert redactor.redact_text(f"the password is {SECRET}.") == "the password is ***."


def test_the_longest_of_overlapping_values_is_hidden_whole() -> None:
    redactor = Redactor(values=["abc", "abcdef"])
    assert redactor.redact_text("xabcdefx abc") == "x***x ***"


def test_a_pattern_without_groups_hides_its_whole_match() -> None:
    redactor = Redactor(patterns=["--password=.*"])
    assert redactor.redact_argv(("db", "--password=s3cret", "--user=me")) == ("db", "***", "--user=me")
    assert redactor.redact_text("called with --password=s3cret") == "called with ***"


def test_a_pattern_with_groups_hides_only_its_groups() -> None:
    redactor = Redactor(patterns=[r"--password=(.*)", re.compile(r"token (\w+) for (\w+)")])
    assert redactor.redact_argv(("db", "--password=s3cret")) == ("db", "--password=***")
    assert redactor.redact_text("token abc for bob, ok") == "token *** for ***, ok"


def test_a_group_that_did_not_match_or_is_empty_hides_nothing() -> None:
    redactor = Redactor(patterns=[r"--key=(\d+)?", r"--password=(.*)"])
    assert redactor.redact_argv(("--key=", "--key=12", "--password=")) == (
        "--key=",
        "--key=***",
        "--password=",
    )


def test_patterns_that_match_the_empty_string_do_not_flood_the_text() -> None:
    redactor = Redactor(patterns=[r"x*"])
    assert redactor.redact_text("abxxc") == "ab***c"


def test_option_values_are_hidden_in_both_spellings() -> None:
    redactor = Redactor(options=["--password", "-p"])
    argv = ("mysql", "-p", "s3cret", "--password=s3cret", "--password", "other", "--passwordless", "-p")
    assert redactor.redact_argv(argv) == (
        "mysql",
        "-p",
        "***",
        "--password=***",
        "--password",
        "***",
        "--passwordless",
        "-p",
    )


def test_what_argv_hides_is_hidden_in_that_commands_text() -> None:
    redactor = Redactor(options=["--password"], patterns=[r"--token=(\w+)"])
    argv = ("login", "--password", "pw-1", "--password=pw-2", "--token=tok3")
    assert redactor.redact_text("got pw-1, pw-2 and tok3", argv=argv) == "got ***, *** and ***"
    assert redactor.redact_text("got pw-1, pw-2 and tok3") == "got pw-1, pw-2 and tok3"  # no argv, no clue
    assert redactor.redact_argv((*argv, "--confirm=pw-1")) == (
        "login",
        "--password",
        "***",
        "--password=***",
        "--token=***",
        "--confirm=***",
    )
    output = redactor.redact_event(event(phase=ExecPhase.STDOUT, argv=argv, line="pw-2 tok3"))
    assert output.line == "*** ***"


def test_environment_values_are_hidden_from_the_process_and_from_scope_overlays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CUPRUM_TEST_TOKEN", "tok-from-environ")
    redactor = Redactor(env_names=["CUPRUM_TEST_TOKEN", "CUPRUM_TEST_UNSET"])
    assert redactor.redact_text("a tok-from-environ b") == "a *** b"
    with env(CUPRUM_TEST_TOKEN="tok-from-scope"):  # noqa: S106 (a test secret)
        assert redactor.redact_argv(("x", "--t=tok-from-scope")) == ("x", "--t=***")
    # Looked up at redaction time: a changed value is hidden from then on.
    monkeypatch.setenv("CUPRUM_TEST_TOKEN", "rotated")
    assert redactor.redact_text("tok-from-environ rotated") == "tok-from-environ ***"
    monkeypatch.setenv("CUPRUM_TEST_TOKEN", "")  # an empty value hides nothing
    assert redactor.redact_text("a b") == "a b"


def test_a_custom_mask() -> None:
    redactor = Redactor(values=[SECRET], mask="[hidden]")
    assert redactor.redact_text(SECRET) == "[hidden]"


def test_without_configuration_nothing_changes() -> None:
    redactor = Redactor()
    assert redactor.redact_argv(("echo", "a=b")) == ("echo", "a=b")
    assert redactor.redact_text("as it is") == "as it is"


def test_the_configuration_is_frozen_to_tuples() -> None:
    redactor = Redactor(values={SECRET}, patterns=["a(b)"], options=("-p",), env_names=["X"])
    assert redactor.values == (SECRET,)
    assert redactor.patterns == (re.compile("a(b)"),)
    assert redactor.options == ("-p",)
    assert redactor.env_names == ("X",)
    assert redactor == Redactor(values=[SECRET], patterns=["a(b)"], options=["-p"], env_names=["X"])


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"values": SECRET}, TypeError),
        ({"values": [b"bytes"]}, TypeError),
        ({"values": [""]}, ValueError),
        ({"patterns": "--password=.*"}, TypeError),
        ({"patterns": [re.compile(b"x")]}, TypeError),
        ({"patterns": [""]}, TypeError),
        ({"patterns": ["("]}, re.error),
        ({"options": "-p"}, TypeError),
        ({"env_names": [""]}, ValueError),
        ({"mask": 3}, TypeError),
        ({"values": ["*"], "mask": "***"}, ValueError),
    ],
)
def test_bad_configurations_are_refused(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        Redactor(**kwargs)  # pyright: ignore[reportArgumentType]


def test_redact_event_covers_argv_line_error_and_tags() -> None:
    redactor = Redactor(values=[SECRET])
    original = event(
        phase=ExecPhase.STDOUT,
        argv=("echo", SECRET),
        line=f"out {SECRET}",
        error=f"oops {SECRET}",
        tags={"token": SECRET, "team": "ops"},
    )
    redacted = redactor.redact_event(original)
    assert redacted.argv == ("echo", "***")
    assert redacted.line == "out ***"
    assert redacted.error == "oops ***"
    assert dict(redacted.tags) == {"token": "***", "team": "ops"}
    assert redacted._replace(
        argv=original.argv, line=original.line, error=original.error, tags=original.tags
    ) == (original)


SECRET_TEXT = st.text(alphabet="abcXYZ019", min_size=1, max_size=6)


@given(
    secrets=st.lists(SECRET_TEXT, min_size=1, max_size=3),
    pieces=st.lists(st.one_of(SECRET_TEXT, st.text(max_size=8)), max_size=8),
    data=st.data(),
)
def test_no_secret_survives_in_any_text(secrets: list[str], pieces: list[str], data: st.DataObject) -> None:
    text = "".join(piece + data.draw(st.sampled_from(secrets)) for piece in pieces)
    redactor = Redactor(values=secrets)
    redacted = redactor.redact_text(text)
    for secret in secrets:
        assert secret not in redacted
    elements = redactor.redact_argv((text, *pieces, *secrets))
    assert not any(secret in element for element in elements for secret in secrets)


# --- wrapping any hook ---------------------------------------------------------------


def test_redacting_wraps_a_plain_hook() -> None:
    seen: list[ExecEvent] = []
    with observe(redacting(seen.append, Redactor(values=[SECRET]))):
        sh.make(ECHO)(SECRET).run_sync()
    assert seen
    assert all(SECRET not in repr(item) for item in seen)
    assert [item.line for item in seen if item.phase is ExecPhase.STDOUT] == ["***"]


def test_redacting_wraps_an_async_hook() -> None:
    seen: list[ExecEvent] = []

    async def collect(item: ExecEvent) -> None:
        await asyncio.sleep(0)
        seen.append(item)

    wrapped = redacting(collect, Redactor(values=[SECRET]))
    assert inspect.iscoroutinefunction(wrapped)
    with observe(wrapped):
        sh.make(ECHO)(SECRET).run_sync()
    assert [item.argv for item in seen if item.phase is ExecPhase.START] == [("echo", "***")]


# --- every adapter applies it ----------------------------------------------------------


def test_no_adapter_emits_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUPRUM_TEST_API_KEY", "key-from-env-77")
    redactor = Redactor(values=[SECRET], patterns=[r"--token=(.*)"], env_names=["CUPRUM_TEST_API_KEY"])

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.redaction.all")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    registry = CollectorRegistry()

    script = 'echo "$CUPRUM_TEST_API_KEY" "$1"; echo "$2" >&2'
    cmd = sh.make(SH, catalogue=TEST_CATALOGUE)("-c", script, "sh", SECRET, "--token=tok-in-argv")
    context = ExecutionContext(tags={"secret": SECRET})
    try:
        with (
            observe(LoggingHook(logger, lines=True, redactor=redactor)),
            observe(TracingHook(OpenTelemetryTracer(provider), record_lines=True, redactor=redactor)),
            observe(MetricsHook(PrometheusMetrics(registry), catalogue=TEST_CATALOGUE, redactor=redactor)),
        ):
            result = cmd.run_sync(context=context)
    finally:
        logger.removeHandler(handler)
    assert result.stdout == f"key-from-env-77 {SECRET}\n"
    assert result.stderr == "--token=tok-in-argv\n"

    logs = stream.getvalue()
    records = [json.loads(line) for line in logs.splitlines()]
    # stdout and stderr are read concurrently: their records may come in either order.
    assert records[0]["cuprum"]["phase"] == "start"
    assert records[-1]["cuprum"]["phase"] == "exit"
    assert sorted(record["cuprum"]["phase"] for record in records[1:-1]) == ["stderr", "stdout"]
    assert records[0]["cuprum"]["argv"] == ["sh", "-c", script, "sh", "***", "--token=***"]
    assert records[0]["cuprum"]["tags"] == {"secret": "***"}

    (span,) = exporter.get_finished_spans()
    traced = repr(dict(span.attributes or {})) + repr(
        [(e.name, dict(e.attributes or {})) for e in span.events]
    )
    assert "--token=***" in traced

    metrics = generate_latest(registry).decode()
    for emitted in (logs, traced, metrics):
        for secret in (SECRET, "tok-in-argv", "key-from-env-77"):
            assert secret not in emitted
