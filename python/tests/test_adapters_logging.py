"""Tests for the logging adapter and the JSON formatter, on real runs.

Records are captured with ``caplog`` (the hook's logger propagates) or
rendered by ``JsonFormatter`` into a ``StringIO`` and parsed back, and the
values are checked against the run's result.
"""

from __future__ import annotations

import io
import json
import logging
import signal
import subprocess
import sys
from typing import TYPE_CHECKING, cast

import pytest
from support import py, shell

from cuprum import (
    CAT,
    ECHO,
    FALSE,
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
from cuprum.adapters.logging import DEFAULT_LOGGER, JsonFormatter, LoggingHook

if TYPE_CHECKING:
    from collections.abc import Iterator

LOGGER = "test.adapters.logging"


@pytest.fixture(autouse=True)
def no_scope_leak() -> Iterator[None]:
    layers = current_scope().layers
    yield
    assert current_scope().layers == layers, "the test left a scope layer registered"


def cuprum_records(caplog: pytest.LogCaptureFixture, name: str = LOGGER) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == name]


def fields(record: logging.LogRecord) -> dict[str, object]:
    return cast("dict[str, object]", record.__dict__["cuprum"])


def phases_of(records: list[logging.LogRecord]) -> list[object]:
    return [fields(record)["phase"] for record in records]


# --- what is logged -------------------------------------------------------------


def test_one_record_at_start_and_one_at_exit(caplog: pytest.LogCaptureFixture) -> None:
    context = ExecutionContext(tags={"job": "nightly"})
    with caplog.at_level(logging.DEBUG, logger=LOGGER), observe(LoggingHook(LOGGER)):
        result = sh.make(ECHO)("hello", "world").run_sync(context=context)
    start, exit_ = cuprum_records(caplog)
    assert (start.levelno, exit_.levelno) == (logging.INFO, logging.INFO)
    assert fields(start) == {
        "phase": "start",
        "exec_id": fields(exit_)["exec_id"],
        "program": "echo",
        "argv": ["echo", "hello", "world"],
        "cwd": None,
        "pid": result.pid,
        "stage": None,
        "tags": {"job": "nightly"},
    }
    exit_fields = fields(exit_)
    assert exit_fields["phase"] == "exit"
    assert exit_fields["exit_code"] == 0
    assert exit_fields["pid"] == result.pid
    duration = exit_fields["duration_s"]
    assert isinstance(duration, float)
    assert duration >= 0
    assert (
        start.getMessage() == f"start echo hello world (pid {result.pid}, exec_id {exit_fields['exec_id']})"
    )
    assert exit_.getMessage().startswith("exit echo hello world: exit code 0 after ")


def test_the_default_logger_is_cuprum_exec(caplog: pytest.LogCaptureFixture) -> None:
    hook = LoggingHook()
    assert hook.logger.name == DEFAULT_LOGGER == "cuprum.exec"
    with caplog.at_level(logging.INFO, logger=DEFAULT_LOGGER), observe(hook):
        sh.make(ECHO)("x").run_sync()
    assert phases_of(cuprum_records(caplog, DEFAULT_LOGGER)) == ["start", "exit"]


def test_output_lines_are_not_logged_unless_asked(caplog: pytest.LogCaptureFixture) -> None:
    cmd = shell("echo out-1; echo err-1 >&2; echo out-2")
    with caplog.at_level(logging.DEBUG, logger=LOGGER), observe(LoggingHook(LOGGER)):
        cmd.run_sync()
    assert phases_of(cuprum_records(caplog)) == ["start", "exit"]


def test_output_lines_at_debug_when_asked(caplog: pytest.LogCaptureFixture) -> None:
    cmd = shell("echo out-1; echo err-1 >&2; echo out-2")
    with caplog.at_level(logging.DEBUG, logger=LOGGER), observe(LoggingHook(LOGGER, lines=True)):
        result = cmd.run_sync()
    records = cuprum_records(caplog)
    lines = [record for record in records if fields(record)["phase"] in {"stdout", "stderr"}]
    assert all(record.levelno == logging.DEBUG for record in lines)
    assert [fields(record)["line"] for record in lines if fields(record)["phase"] == "stdout"] == [
        "out-1",
        "out-2",
    ]
    assert [fields(record)["line"] for record in lines if fields(record)["phase"] == "stderr"] == ["err-1"]
    assert {fields(record)["pid"] for record in lines} == {result.pid}
    assert "stdout sh: out-1" in [record.getMessage() for record in lines]


def test_lines_follow_the_logger_level(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=LOGGER), observe(LoggingHook(LOGGER, lines=True)):
        sh.make(ECHO)("quiet").run_sync()
    assert phases_of(cuprum_records(caplog)) == ["start", "exit"]


def test_a_failing_command_is_logged_at_the_failure_level(caplog: pytest.LogCaptureFixture) -> None:
    hook = LoggingHook(LOGGER, failure_level=logging.ERROR)
    with caplog.at_level(logging.DEBUG, logger=LOGGER), observe(hook):
        result = sh.make(FALSE)().run_sync()
    start, exit_ = cuprum_records(caplog)
    assert result.exit_code == 1
    assert start.levelno == logging.INFO
    assert exit_.levelno == logging.ERROR
    assert fields(exit_)["exit_code"] == 1
    assert "exit code 1" in exit_.getMessage()


def test_pipeline_stages_share_the_exec_id_and_carry_their_stage(caplog: pytest.LogCaptureFixture) -> None:
    pipeline = sh.make(ECHO)("piped") | sh.make(CAT)()
    with caplog.at_level(logging.DEBUG, logger=LOGGER), observe(LoggingHook(LOGGER, lines=True)):
        result = pipeline.run_sync()
    records = cuprum_records(caplog)
    assert len({fields(record)["exec_id"] for record in records}) == 1
    starts = {fields(r)["stage"]: fields(r) for r in records if fields(r)["phase"] == "start"}
    exits = {fields(r)["stage"]: fields(r) for r in records if fields(r)["phase"] == "exit"}
    assert {stage: value["program"] for stage, value in starts.items()} == {0: "echo", 1: "cat"}
    assert {stage: value["pid"] for stage, value in starts.items()} == {
        0: result.stages[0].pid,
        1: result.stages[1].pid,
    }
    assert {stage: value["exit_code"] for stage, value in exits.items()} == {0: 0, 1: 0}
    (line,) = (fields(r) for r in records if fields(r)["phase"] == "stdout")
    assert (line["stage"], line["program"], line["line"]) == (1, "cat", "piped")
    assert "stage 1" in next(
        r.getMessage() for r in records if fields(r)["phase"] == "start" and "cat" in r.getMessage()
    )


def test_a_timeout_is_logged_before_the_exit(caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.DEBUG, logger=LOGGER),
        observe(LoggingHook(LOGGER)),
        pytest.raises(TimeoutExpired),
    ):
        shell("sleep 30").run_sync(timeout=0.2)
    records = cuprum_records(caplog)
    assert phases_of(records) == ["start", "timeout", "exit"]
    assert records[1].levelno == logging.WARNING
    assert records[2].levelno == logging.WARNING
    assert fields(records[2])["exit_code"] == -signal.SIGTERM


def test_stdin_is_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger=LOGGER), observe(LoggingHook(LOGGER)):
        sh.make(CAT)().run_sync(stdin=StdinInput(text="four"))
    records = cuprum_records(caplog)
    (stdin,) = (record for record in records if fields(record)["phase"] == "stdin")
    assert stdin.levelno == logging.DEBUG
    assert fields(stdin)["byte_count"] == 4


def test_a_program_that_cannot_start_is_logged_with_its_error(caplog: pytest.LogCaptureFixture) -> None:
    missing = Program("/nonexistent/cuprum-test-missing")
    catalogue = ProgramCatalogue(projects=[ProjectSettings(name="missing", programs=(missing,))])
    with (
        caplog.at_level(logging.DEBUG, logger=LOGGER),
        observe(LoggingHook(LOGGER)),
        pytest.raises(FileNotFoundError),
    ):
        sh.make(missing, catalogue=catalogue)().run_sync()
    (exit_,) = cuprum_records(caplog)
    assert exit_.levelno == logging.WARNING
    assert fields(exit_)["exit_code"] is None
    error = fields(exit_)["error"]
    assert isinstance(error, str)
    assert error.startswith("ProgramNotFoundError")
    assert "could not start: ProgramNotFoundError" in exit_.getMessage()


def test_a_disabled_logger_gets_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.CRITICAL, logger=LOGGER), observe(LoggingHook(LOGGER, lines=True)):
        sh.make(FALSE)().run_sync()
    assert cuprum_records(caplog) == []


# --- the JSON formatter -------------------------------------------------------------


@pytest.fixture
def json_logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.adapters.logging.json")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_json_lines_of_a_real_run(json_logger: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = json_logger
    with observe(LoggingHook(logger, lines=True)):
        result = sh.make(ECHO)("caf\u00e9", "two words").run_sync(
            context=ExecutionContext(tags={"team": "ops"})
        )
    lines = stream.getvalue().splitlines()
    objects = [json.loads(line) for line in lines]
    assert [item["cuprum"]["phase"] for item in objects] == ["start", "stdout", "exit"]
    start, stdout, exit_ = objects
    assert set(start) == {"timestamp", "level", "logger", "message", "cuprum"}
    assert start["level"] == "INFO"
    assert start["logger"] == "test.adapters.logging.json"
    assert start["timestamp"].endswith("+00:00")
    assert start["cuprum"]["argv"] == ["echo", "caf\u00e9", "two words"]
    assert start["cuprum"]["pid"] == result.pid
    assert start["cuprum"]["tags"] == {"team": "ops"}
    exec_id = start["cuprum"]["exec_id"]
    assert start["message"] == f"start echo 'caf\u00e9' 'two words' (pid {result.pid}, exec_id {exec_id})"
    assert stdout["level"] == "DEBUG"
    assert stdout["cuprum"]["line"] == "caf\u00e9 two words"
    assert exit_["cuprum"]["exit_code"] == 0
    assert exit_["cuprum"]["duration_s"] >= 0
    assert "caf\u00e9" in lines[0]  # not escaped by default


def test_json_keeps_one_object_per_line_and_renders_exceptions(
    json_logger: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = json_logger
    logger.info("two\nlines", extra={"cuprum": {"odd": {1, 2}.__class__, "path": io.StringIO}})
    try:
        raise RuntimeError("boom")  # noqa: TRY301, EM101 (a traceback to render)
    except RuntimeError:
        logger.exception("failed")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "two\nlines"
    assert first["cuprum"] == {"odd": str(set), "path": str(io.StringIO)}
    assert second["level"] == "ERROR"
    assert "RuntimeError: boom" in second["exc_info"]


def test_json_attributes_and_ascii_are_configurable() -> None:
    formatter = JsonFormatter(attributes=["request_id"], ensure_ascii=True)
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "na\u00efve", None, None)
    record.request_id = "r-1"
    record.cuprum = {"ignored": True}
    rendered = formatter.format(record)
    assert "\\u00ef" in rendered
    assert json.loads(rendered) == {
        "timestamp": json.loads(rendered)["timestamp"],
        "level": "WARNING",
        "logger": "x",
        "message": "na\u00efve",
        "request_id": "r-1",
    }
    with pytest.raises(TypeError):
        JsonFormatter(attributes="cuprum")


# --- error policy ----------------------------------------------------------------------


class _Explodes(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = f"filter failed on {record.getMessage()}"
        raise RuntimeError(message)


def test_a_raising_logging_hook_does_not_break_the_run(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.adapters.logging.broken")
    logger.addFilter(_Explodes())
    logger.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.ERROR, logger="cuprum.hooks"), observe(LoggingHook(logger, lines=True)):
            result = py("print('fine')").run_sync()
    finally:
        logger.filters.clear()
        logger.setLevel(logging.NOTSET)
    assert result.ok
    assert result.stdout == "fine\n"
    reports = [record for record in caplog.records if record.name == "cuprum.hooks"]
    assert [report.getMessage().split(" raised on ")[1].split()[0] for report in reports] == [
        "start",
        "stdout",
        "exit",
    ]
    for report in reports:
        assert report.levelno == logging.ERROR
        assert "LoggingHook(logger='test.adapters.logging.broken'" in report.getMessage()
        assert report.exc_info is not None
        assert isinstance(report.exc_info[1], RuntimeError)


def test_importing_the_adapters_imports_no_optional_library() -> None:
    code = (
        "import sys, cuprum, cuprum.adapters, cuprum.adapters.logging, cuprum.adapters.metrics, "
        "cuprum.adapters.tracing, cuprum.adapters.redaction\n"
        "optional = {'prometheus_client', 'opentelemetry'}\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in optional)\n"
        "assert not loaded, loaded\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PYTHONPATH": ":".join(sys.path)},
    )
    assert completed.returncode == 0, completed.stderr
