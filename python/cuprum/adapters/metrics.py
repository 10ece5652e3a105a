"""Metrics adapter: counts and durations per program and project.

``MetricsHook`` is an observe hook that feeds any ``MetricsCollector``;
``PrometheusMetrics`` is a collector backed by a ``prometheus_client``
registry (install ``prometheus-client``; it is imported only when a
``PrometheusMetrics`` is created).

Every measurement is labelled with the program and the project that owns it
in the catalogue (``"unknown"`` for a program the catalogue does not list).
Nothing else is emitted: no ``argv``, no output, no environment.

* an execution is counted when a command or pipeline stage exits (also when
  it could not start), with its duration;
* a failure is an exit with a non-zero status or none (the program could not
  start); a pipeline stage ended by SIGPIPE is forgiven, as the pipeline's
  failure policy forgives it;
* each output line is counted, per stream;
* stdin bytes are counted once all of them are written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal, Protocol

from cuprum.adapters._outcome import is_failure
from cuprum.adapters.redaction import redact_text
from cuprum.catalogue import DEFAULT_CATALOGUE
from cuprum.errors import UnknownProgramError
from cuprum.events import ExecPhase

if TYPE_CHECKING:
    from collections.abc import Sequence

    from prometheus_client import CollectorRegistry, Counter, Histogram

    from cuprum.adapters.redaction import Redactor
    from cuprum.catalogue import ProgramCatalogue
    from cuprum.events import ExecEvent

type OutputStream = Literal["stdout", "stderr"]

UNKNOWN_PROJECT: Final = "unknown"
"""The project label of a program the catalogue does not list."""

DURATION_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
"""Histogram buckets, in seconds: from quick tools to long builds."""


class MetricsCollector(Protocol):
    """Where ``MetricsHook`` sends its measurements (labelled by program and project)."""

    def count_execution(self, program: str, project: str) -> None:
        """One command or pipeline stage exited (or could not start)."""
        ...

    def count_failure(self, program: str, project: str) -> None:
        """One command or pipeline stage failed."""
        ...

    def observe_duration(self, program: str, project: str, seconds: float) -> None:
        """How long a command or pipeline stage ran, in seconds."""
        ...

    def count_output_lines(self, program: str, project: str, stream: OutputStream, lines: int) -> None:
        """``lines`` more lines on ``stream``."""
        ...

    def count_stdin_bytes(self, program: str, project: str, byte_count: int) -> None:
        """``byte_count`` bytes written to a command's stdin."""
        ...


class MetricsHook:
    """An observe hook that feeds ``collector``.

    Parameters
    ----------
    collector
        Receives the measurements.
    catalogue
        Where a program's project is looked up.
    redactor
        Applied to the program label (the only text this hook emits).
    """

    __slots__ = ("_catalogue", "_collector", "_projects", "_redactor")

    def __init__(
        self,
        collector: MetricsCollector,
        *,
        catalogue: ProgramCatalogue = DEFAULT_CATALOGUE,
        redactor: Redactor | None = None,
    ) -> None:
        self._collector = collector
        self._catalogue = catalogue
        self._redactor = redactor
        self._projects: dict[str, str] = {}

    @property
    def collector(self) -> MetricsCollector:
        """Where the measurements go."""
        return self._collector

    def __repr__(self) -> str:
        """Name the collector, for the ``cuprum.hooks`` report of a failure."""
        return f"MetricsHook(collector={self._collector!r})"

    def project_of(self, program: str) -> str:
        """The name of the project that owns ``program``, or ``"unknown"``."""
        project = self._projects.get(program)
        if project is None:
            try:
                project = self._catalogue.lookup(program).name
            except UnknownProgramError:
                project = UNKNOWN_PROJECT
            self._projects[program] = project
        return project

    def __call__(self, event: ExecEvent) -> None:
        """Turn ``event`` into measurements (events without one are ignored)."""
        phase = event.phase
        if phase is ExecPhase.PLAN or phase is ExecPhase.START:
            return
        program = redact_text(self._redactor, event.program)
        project = self.project_of(event.program)
        collector = self._collector
        match phase:
            case ExecPhase.STDOUT:
                collector.count_output_lines(program, project, "stdout", 1)
            case ExecPhase.STDERR:
                collector.count_output_lines(program, project, "stderr", 1)
            case ExecPhase.EXIT:
                collector.count_execution(program, project)
                if event.duration_s is not None:
                    collector.observe_duration(program, project, event.duration_s)
                if is_failure(event):
                    collector.count_failure(program, project)
            case ExecPhase.STDIN:
                collector.count_stdin_bytes(program, project, event.byte_count or 0)
            case _:  # stdin_error, timeout, cancel: the exit that follows says it all
                pass


class PrometheusMetrics:
    """A ``MetricsCollector`` on a ``prometheus_client`` registry.

    The metrics, each labelled ``program`` and ``project``:

    * ``cuprum_executions_total`` (counter): commands and stages that exited;
    * ``cuprum_failures_total`` (counter): of those, the ones that failed;
    * ``cuprum_duration_seconds`` (histogram): how long each ran;
    * ``cuprum_stdout_lines_total``, ``cuprum_stderr_lines_total``
      (counters): output lines;
    * ``cuprum_stdin_bytes_total`` (counter): bytes written to stdin.

    Parameters
    ----------
    registry
        Where the metrics are registered (default: ``prometheus_client``'s
        global ``REGISTRY``; a registry takes each name only once).
    buckets
        The duration histogram's buckets, in seconds.

    Raises
    ------
    ImportError
        When ``prometheus_client`` is not installed.
    """

    __slots__ = (
        "durations",
        "executions",
        "failures",
        "registry",
        "stderr_lines",
        "stdin_bytes",
        "stdout_lines",
    )

    def __init__(
        self, registry: CollectorRegistry | None = None, *, buckets: Sequence[float] = DURATION_BUCKETS
    ) -> None:
        try:
            import prometheus_client  # noqa: PLC0415 (optional: imported only when used)
        except ImportError as error:
            msg = "PrometheusMetrics needs the prometheus_client package: pip install prometheus-client"
            raise ImportError(msg, name="prometheus_client") from error

        self.registry: CollectorRegistry = prometheus_client.REGISTRY if registry is None else registry
        labels = ("program", "project")

        def counter(name: str, documentation: str) -> Counter:
            return prometheus_client.Counter(name, documentation, labels, registry=self.registry)

        self.executions = counter("cuprum_executions", "Commands and pipeline stages that exited.")
        self.failures = counter("cuprum_failures", "Commands and pipeline stages that failed.")
        self.stdout_lines = counter("cuprum_stdout_lines", "Lines written to stdout.")
        self.stderr_lines = counter("cuprum_stderr_lines", "Lines written to stderr.")
        self.stdin_bytes = counter("cuprum_stdin_bytes", "Bytes written to stdin.")
        self.durations: Histogram = prometheus_client.Histogram(
            "cuprum_duration_seconds",
            "How long commands and pipeline stages ran, in seconds.",
            labels,
            registry=self.registry,
            buckets=tuple(buckets),
        )

    def __repr__(self) -> str:
        """Identify the collector, for the ``cuprum.hooks`` report of a failure."""
        return f"PrometheusMetrics(registry={self.registry!r})"

    def count_execution(self, program: str, project: str) -> None:
        """Increment ``cuprum_executions_total``."""
        self.executions.labels(program, project).inc()

    def count_failure(self, program: str, project: str) -> None:
        """Increment ``cuprum_failures_total``."""
        self.failures.labels(program, project).inc()

    def observe_duration(self, program: str, project: str, seconds: float) -> None:
        """Observe one duration in ``cuprum_duration_seconds``."""
        self.durations.labels(program, project).observe(seconds)

    def count_output_lines(self, program: str, project: str, stream: OutputStream, lines: int) -> None:
        """Add to ``cuprum_stdout_lines_total`` or ``cuprum_stderr_lines_total``."""
        counter = self.stdout_lines if stream == "stdout" else self.stderr_lines
        counter.labels(program, project).inc(lines)

    def count_stdin_bytes(self, program: str, project: str, byte_count: int) -> None:
        """Add to ``cuprum_stdin_bytes_total``."""
        self.stdin_bytes.labels(program, project).inc(byte_count)
