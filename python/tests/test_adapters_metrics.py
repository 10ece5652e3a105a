"""Tests for the metrics adapter: the hook's calls, and real Prometheus values.

Each test gets a fresh ``CollectorRegistry``, runs real commands and reads
the samples back with ``registry.get_sample_value``.
"""

from __future__ import annotations

import collections
import logging
import signal
import sys
from typing import TYPE_CHECKING

import pytest
from prometheus_client import CollectorRegistry
from support import SH, TEST_CATALOGUE, shell

from cuprum import (
    CAT,
    ECHO,
    FALSE,
    HEAD,
    YES,
    Program,
    ProgramCatalogue,
    ProjectSettings,
    StdinInput,
    TimeoutExpired,
    current_scope,
    observe,
    sh,
)
from cuprum.adapters.metrics import (
    DURATION_BUCKETS,
    UNKNOWN_PROJECT,
    MetricsCollector,
    MetricsHook,
    OutputStream,
    PrometheusMetrics,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

COREUTILS = {"program": "echo", "project": "coreutils"}


@pytest.fixture(autouse=True)
def no_scope_leak() -> Iterator[None]:
    layers = current_scope().layers
    yield
    assert current_scope().layers == layers, "the test left a scope layer registered"


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> PrometheusMetrics:
    return PrometheusMetrics(registry)


def sample(registry: CollectorRegistry, name: str, program: str, project: str = "coreutils") -> float | None:
    return registry.get_sample_value(name, {"program": program, "project": project})


class Recorder:
    """A ``MetricsCollector`` that remembers every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def count_execution(self, program: str, project: str) -> None:
        self.calls.append(("execution", program, project))

    def count_failure(self, program: str, project: str) -> None:
        self.calls.append(("failure", program, project))

    def observe_duration(self, program: str, project: str, seconds: float) -> None:
        self.calls.append(("duration", program, project, seconds >= 0))

    def count_output_lines(self, program: str, project: str, stream: OutputStream, lines: int) -> None:
        self.calls.append(("lines", program, project, stream, lines))

    def count_stdin_bytes(self, program: str, project: str, byte_count: int) -> None:
        self.calls.append(("stdin", program, project, byte_count))


# --- the hook -----------------------------------------------------------------------


def test_the_hook_feeds_any_collector() -> None:
    recorder = Recorder()
    collector: MetricsCollector = recorder  # the protocol is structural
    with observe(MetricsHook(collector)):
        sh.make(CAT)().run_sync(stdin=StdinInput(text="a\nb\n"))
    # The exit comes last; stdin and the output lines are concurrent.
    assert recorder.calls[-2:] == [("execution", "cat", "coreutils"), ("duration", "cat", "coreutils", True)]
    assert collections.Counter(recorder.calls[:-2]) == {
        ("stdin", "cat", "coreutils", 4): 1,
        ("lines", "cat", "coreutils", "stdout", 1): 2,
    }


def test_projects_come_from_the_catalogue() -> None:
    assert MetricsHook(Recorder()).project_of("grep") == "grep"
    assert MetricsHook(Recorder()).project_of(SH) == UNKNOWN_PROJECT == "unknown"
    assert MetricsHook(Recorder(), catalogue=TEST_CATALOGUE).project_of(SH) == "test-tools"


# --- Prometheus -----------------------------------------------------------------------


def test_executions_failures_and_durations_per_program(
    registry: CollectorRegistry, metrics: PrometheusMetrics
) -> None:
    with observe(MetricsHook(metrics)):
        for _ in range(3):
            sh.make(ECHO)("x").run_sync()
        assert sh.make(FALSE)().run_sync().exit_code == 1
    assert sample(registry, "cuprum_executions_total", "echo") == 3
    assert sample(registry, "cuprum_failures_total", "echo") is None
    assert sample(registry, "cuprum_executions_total", "false") == 1
    assert sample(registry, "cuprum_failures_total", "false") == 1
    assert sample(registry, "cuprum_duration_seconds_count", "echo") == 3
    duration_sum = sample(registry, "cuprum_duration_seconds_sum", "echo")
    assert duration_sum is not None
    assert duration_sum > 0
    assert sample(registry, "cuprum_duration_seconds_bucket", "echo") is None  # needs an le label
    largest = registry.get_sample_value("cuprum_duration_seconds_bucket", {**COREUTILS, "le": "+Inf"})
    assert largest == 3


def test_output_lines_and_stdin_bytes(registry: CollectorRegistry, metrics: PrometheusMetrics) -> None:
    with observe(MetricsHook(metrics, catalogue=TEST_CATALOGUE)):
        shell("echo 1; echo 2; echo 3; echo e >&2").run_sync()
        sh.make(CAT)().run_sync(stdin=StdinInput(text="h\u00e9llo\n"))
    assert sample(registry, "cuprum_stdout_lines_total", "sh", "test-tools") == 3
    assert sample(registry, "cuprum_stderr_lines_total", "sh", "test-tools") == 1
    assert sample(registry, "cuprum_stdin_bytes_total", "cat") == len("h\u00e9llo\n".encode())
    assert sample(registry, "cuprum_stdout_lines_total", "cat") == 1


def test_a_program_outside_the_catalogue_is_unknown(
    registry: CollectorRegistry, metrics: PrometheusMetrics
) -> None:
    with observe(MetricsHook(metrics)):
        shell("exit 0").run_sync()
    assert sample(registry, "cuprum_executions_total", "sh", "unknown") == 1


def test_pipeline_stages_are_counted_per_program(
    registry: CollectorRegistry, metrics: PrometheusMetrics
) -> None:
    with observe(MetricsHook(metrics)):
        result = (sh.make(ECHO)("a\nb") | sh.make(CAT)() | sh.make(CAT)()).run_sync()
    assert result.ok
    assert sample(registry, "cuprum_executions_total", "echo") == 1
    assert sample(registry, "cuprum_executions_total", "cat") == 2
    # Only the last stage's stdout reaches Cuprum.
    assert sample(registry, "cuprum_stdout_lines_total", "cat") == 2
    assert sample(registry, "cuprum_stdout_lines_total", "echo") is None


def test_a_stage_forgiven_its_sigpipe_is_not_a_failure(
    registry: CollectorRegistry, metrics: PrometheusMetrics
) -> None:
    with observe(MetricsHook(metrics)):
        result = (sh.make(YES)() | sh.make(HEAD)("-n", "1")).run_sync(timeout=30)
    assert result.ok
    assert result.stages[0].exit_code == -signal.SIGPIPE
    assert sample(registry, "cuprum_executions_total", "yes") == 1
    assert sample(registry, "cuprum_failures_total", "yes") is None


def test_a_timed_out_command_is_a_failure(registry: CollectorRegistry, metrics: PrometheusMetrics) -> None:
    with observe(MetricsHook(metrics)), pytest.raises(TimeoutExpired):
        shell("sleep 30").run_sync(timeout=0.2)
    assert sample(registry, "cuprum_executions_total", "sh", "unknown") == 1
    assert sample(registry, "cuprum_failures_total", "sh", "unknown") == 1


def test_a_program_that_cannot_start_is_a_failure_without_a_duration(
    registry: CollectorRegistry, metrics: PrometheusMetrics
) -> None:
    missing = Program("/nonexistent/cuprum-test-missing")
    catalogue = ProgramCatalogue(projects=[ProjectSettings(name="ghosts", programs=(missing,))])
    with observe(MetricsHook(metrics, catalogue=catalogue)), pytest.raises(FileNotFoundError):
        sh.make(missing, catalogue=catalogue)().run_sync()
    assert sample(registry, "cuprum_executions_total", missing, "ghosts") == 1
    assert sample(registry, "cuprum_failures_total", missing, "ghosts") == 1
    assert sample(registry, "cuprum_duration_seconds_count", missing, "ghosts") is None


def test_every_metric_is_prefixed_and_labelled(
    registry: CollectorRegistry, metrics: PrometheusMetrics
) -> None:
    with observe(MetricsHook(metrics)):
        sh.make(CAT)().run_sync(stdin=StdinInput(text="x\n"))
    families = list(registry.collect())
    assert {family.name for family in families} == {
        "cuprum_executions",
        "cuprum_failures",
        "cuprum_duration_seconds",
        "cuprum_stdout_lines",
        "cuprum_stderr_lines",
        "cuprum_stdin_bytes",
    }
    for family in families:
        for metric_sample in family.samples:
            assert metric_sample.name.startswith("cuprum_")
            assert {"program", "project"} <= set(metric_sample.labels)


def test_buckets_are_configurable(registry: CollectorRegistry) -> None:
    metrics = PrometheusMetrics(registry, buckets=(1.0, 2.0))
    with observe(MetricsHook(metrics)):
        sh.make(ECHO)().run_sync()
    assert registry.get_sample_value("cuprum_duration_seconds_bucket", {**COREUTILS, "le": "2.0"}) == 1
    assert registry.get_sample_value("cuprum_duration_seconds_bucket", {**COREUTILS, "le": "5.0"}) is None
    assert tuple(sorted(DURATION_BUCKETS)) == DURATION_BUCKETS


def test_a_registry_takes_the_metrics_once(registry: CollectorRegistry) -> None:
    PrometheusMetrics(registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        PrometheusMetrics(registry)


def test_a_missing_prometheus_client_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(ImportError, match=r"pip install prometheus-client") as caught:
        PrometheusMetrics(CollectorRegistry())
    assert caught.value.name == "prometheus_client"


# --- error policy ---------------------------------------------------------------------


class BrokenCollector(Recorder):
    def count_execution(self, program: str, project: str) -> None:  # noqa: ARG002
        message = f"collector down while counting {program}"
        raise ConnectionError(message)


def test_a_raising_collector_does_not_break_the_run(caplog: pytest.LogCaptureFixture) -> None:
    collector = BrokenCollector()
    with caplog.at_level(logging.ERROR, logger="cuprum.hooks"), observe(MetricsHook(collector)):
        result = (sh.make(ECHO)("still") | sh.make(CAT)()).run_sync()
    assert result.ok
    assert result.stdout == "still\n"
    # The calls after the failing one in the same event are lost, the others are not.
    assert ("lines", "cat", "coreutils", "stdout", 1) in collector.calls
    reports = [record for record in caplog.records if record.name == "cuprum.hooks"]
    assert len(reports) == 2  # one per stage's exit
    for report in reports:
        assert report.levelno == logging.ERROR
        assert "MetricsHook(collector=" in report.getMessage()
        assert "raised on exit event" in report.getMessage()
        assert report.exc_info is not None
        assert isinstance(report.exc_info[1], ConnectionError)
