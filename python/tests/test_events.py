"""Tests for execution events: phases, field contents, failing observers, lines.

Observers see every run as a sequence of ``ExecEvent`` values. These tests
run real children and check what the events say about them, and they check
the line splitter behind ``stdout``/``stderr`` events with Hypothesis.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import logging
import os
import re
import signal
import time
from typing import TYPE_CHECKING, cast

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from support import PYTHON, SH, TEST_CATALOGUE, kill_group_quietly, py, shell, written_pids

from cuprum import (
    CAT,
    ECHO,
    HEAD,
    YES,
    ExecEvent,
    ExecOutcome,
    ExecPhase,
    ExecutionContext,
    Program,
    ProgramCatalogue,
    ProjectSettings,
    RunOutputOptions,
    StdinInput,
    TimeoutExpired,
    current_scope,
    observe,
    sh,
)
from cuprum.engine.streams import LineSplitter

if TYPE_CHECKING:
    import pathlib
    from collections.abc import Callable, Iterator, Sequence

    from cuprum import SafeCmd

LIFECYCLE = {ExecPhase.PLAN, ExecPhase.START, ExecPhase.EXIT}
LINE_PHASES = {ExecPhase.STDOUT, ExecPhase.STDERR}


@pytest.fixture(autouse=True)
def no_scope_leak() -> Iterator[None]:
    """Fail a test that leaves an observer registered (it would leak into the next)."""
    layers = current_scope().layers
    yield
    assert current_scope().layers == layers, "the test left a scope layer registered"


def observed_run(cmd: SafeCmd, **run_options: object) -> tuple[list[ExecEvent], object]:
    """Run ``cmd`` with an observer; return the events and the result (or the exception)."""
    events: list[ExecEvent] = []
    outcome: object
    run = cast("Callable[..., object]", cmd.run_sync)
    with observe(events.append):
        try:
            outcome = run(**run_options)
        except Exception as error:  # noqa: BLE001 (returned for the test to inspect)
            outcome = error
    return events, outcome


def phases(events: Sequence[ExecEvent]) -> list[ExecPhase]:
    return [event.phase for event in events]


def lines(events: Sequence[ExecEvent], phase: ExecPhase) -> list[str | None]:
    return [event.line for event in events if event.phase == phase]


# --- phases --------------------------------------------------------------------


def test_phases_of_a_run_with_stdin_stdout_and_stderr() -> None:
    cmd = shell("cat; echo err-1 >&2; echo out-2; echo err-2 >&2")
    events, result = observed_run(cmd, stdin=StdinInput(text="in-1\nin-2\n"))
    assert getattr(result, "ok", False)
    sequence = phases(events)
    assert sequence[:2] == [ExecPhase.PLAN, ExecPhase.START]
    assert sequence[-1] == ExecPhase.EXIT
    assert sequence.count(ExecPhase.PLAN) == sequence.count(ExecPhase.START) == 1
    assert sequence.count(ExecPhase.EXIT) == 1
    assert sequence.count(ExecPhase.STDIN) == 1
    assert lines(events, ExecPhase.STDOUT) == ["in-1", "in-2", "out-2"]
    assert lines(events, ExecPhase.STDERR) == ["err-1", "err-2"]
    assert set(sequence) == {*LIFECYCLE, ExecPhase.STDIN, *LINE_PHASES}


def test_a_silent_run_has_only_lifecycle_events() -> None:
    events, _ = observed_run(shell("exit 0"))
    assert phases(events) == [ExecPhase.PLAN, ExecPhase.START, ExecPhase.EXIT]


def test_phases_of_a_timed_out_run() -> None:
    events, outcome = observed_run(py("import time; time.sleep(30)"), timeout=0.2)
    assert isinstance(outcome, TimeoutExpired)
    assert phases(events) == [ExecPhase.PLAN, ExecPhase.START, ExecPhase.TIMEOUT, ExecPhase.EXIT]
    exit_event = events[-1]
    assert exit_event.exit_code == -signal.SIGTERM
    assert exit_event.duration_s is not None
    assert exit_event.duration_s >= 0.2


def test_phases_of_a_cancelled_run() -> None:
    events: list[ExecEvent] = []

    async def main() -> None:
        started = asyncio.Event()

        def hook(event: ExecEvent) -> None:
            events.append(event)
            if event.phase == ExecPhase.STDOUT:
                started.set()

        with observe(hook):
            task = asyncio.ensure_future(py("import time; print('ready', flush=True); time.sleep(30)").run())
            await asyncio.wait_for(started.wait(), timeout=10)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    assert phases(events) == [
        ExecPhase.PLAN,
        ExecPhase.START,
        ExecPhase.STDOUT,
        ExecPhase.CANCEL,
        ExecPhase.EXIT,
    ]
    assert events[-1].exit_code == -signal.SIGTERM


def test_stdin_error_when_the_child_does_not_read() -> None:
    # Far more than any pipe buffer: the child exits without reading a byte.
    data = b"x" * (16 * 1024 * 1024)
    events, result = observed_run(shell("exit 0"), stdin=StdinInput(data=data))
    assert getattr(result, "exit_code", None) == 0
    sequence = phases(events)
    assert ExecPhase.STDIN_ERROR in sequence
    assert ExecPhase.STDIN not in sequence
    assert sequence[-1] == ExecPhase.EXIT
    (error_event,) = (event for event in events if event.phase == ExecPhase.STDIN_ERROR)
    assert error_event.error is not None
    assert error_event.error.startswith(("BrokenPipeError", "ConnectionResetError"))
    assert error_event.byte_count is None


def test_stdin_event_counts_encoded_bytes() -> None:
    text = "h\u00e9llo w\u00f6rld\n"
    events, _ = observed_run(sh.make(CAT, catalogue=TEST_CATALOGUE)(), stdin=StdinInput(text=text))
    (stdin_event,) = (event for event in events if event.phase == ExecPhase.STDIN)
    assert stdin_event.byte_count == len(text.encode("utf-8"))
    assert stdin_event.error is None
    assert lines(events, ExecPhase.STDOUT) == ["h\u00e9llo w\u00f6rld"]


def test_phase_values_are_stable() -> None:
    assert [phase.value for phase in ExecPhase] == [
        "plan",
        "start",
        "stdin",
        "stdin_error",
        "stdout",
        "stderr",
        "timeout",
        "cancel",
        "exit",
    ]


# --- field contents ------------------------------------------------------------


def test_events_share_the_run_identity() -> None:
    cmd = shell("echo a; echo b >&2")
    events, result = observed_run(cmd, context=ExecutionContext(tags={"job": "nightly", "team": "ops"}))
    assert events
    assert len({event.exec_id for event in events}) == 1
    pid = getattr(result, "pid", None)
    for event in events:
        assert event.program == SH
        assert event.argv == cmd.argv
        assert event.cwd is None
        assert event.tags == {"job": "nightly", "team": "ops"}
        assert event.stage is None
        if event.phase == ExecPhase.PLAN:
            assert event.pid is None
        else:
            assert event.pid == pid


def test_exec_ids_differ_between_runs() -> None:
    ids: list[set[str]] = []
    for _ in range(3):
        events, _ = observed_run(shell("exit 0"))
        ids.append({event.exec_id for event in events})
    assert all(len(run_ids) == 1 for run_ids in ids)
    assert len({exec_id for run_ids in ids for exec_id in run_ids}) == 3


def test_fields_are_set_only_for_their_phases() -> None:
    events, _ = observed_run(shell("cat; echo x >&2; exit 7"), stdin=StdinInput(text="y\n"))
    for event in events:
        assert (event.line is not None) == (event.phase in LINE_PHASES), event
        assert (event.exit_code is not None) == (event.phase == ExecPhase.EXIT), event
        assert (event.duration_s is not None) == (event.phase == ExecPhase.EXIT), event
        assert (event.byte_count is not None) == (event.phase == ExecPhase.STDIN), event
        assert event.error is None
    assert events[-1].exit_code == 7


def test_cwd_is_reported_as_a_string(tmp_path: pathlib.Path) -> None:
    events, result = observed_run(py("import os; print(os.getcwd())"), context=ExecutionContext(cwd=tmp_path))
    assert events
    assert {event.cwd for event in events} == {str(tmp_path)}
    assert lines(events, ExecPhase.STDOUT) == [os.path.realpath(tmp_path)]
    assert getattr(result, "ok", False)


def test_tags_are_copied_from_the_context() -> None:
    tags = {"request": "42"}
    context = ExecutionContext(tags=tags)
    tags["request"] = "changed"
    events, _ = observed_run(shell("exit 0"), context=context)
    assert {event.tags["request"] for event in events} == {"42"}


def test_an_observer_cannot_rewrite_the_tags_of_a_run() -> None:
    context = ExecutionContext(tags={"job": "nightly"})
    seen: list[dict[str, str]] = []

    def meddle(event: ExecEvent) -> None:
        seen.append(dict(event.tags))
        event.tags["job"] = "hijacked"  # pyright: ignore[reportIndexIssue]

    with observe(meddle):
        assert shell("exit 0").run_sync(context=context).ok
    assert seen == [{"job": "nightly"}] * 3
    assert context.tags == {"job": "nightly"}


def test_timestamps_are_wall_clock_and_in_order() -> None:
    before = time.time()
    events, _ = observed_run(shell("echo a; echo b; echo c >&2"))
    after = time.time()
    stamps = [event.timestamp for event in events]
    # Wall-clock time can be stepped, so allow a little slack.
    assert all(before - 1.0 <= stamp <= after + 1.0 for stamp in stamps)
    assert all(later >= earlier - 0.1 for earlier, later in itertools.pairwise(stamps))
    assert stamps[-1] >= stamps[0]


def test_exit_event_reports_code_and_duration() -> None:
    started = time.monotonic()
    events, result = observed_run(py("import sys, time; time.sleep(0.2); sys.exit(5)"))
    elapsed = time.monotonic() - started
    assert getattr(result, "exit_code", None) == 5
    exit_event = events[-1]
    assert exit_event.phase == ExecPhase.EXIT
    assert exit_event.exit_code == 5
    assert exit_event.duration_s is not None
    assert 0.2 <= exit_event.duration_s <= elapsed


def test_lines_keep_everything_but_their_newline_and_say_whether_they_had_one() -> None:
    script = "import sys; sys.stdout.write('a\\r\\nb\\n\\nc'); sys.stderr.write('e\\r\\nf')"
    events, result = observed_run(py(script))
    assert lines(events, ExecPhase.STDOUT) == ["a\r", "b", "", "c"]
    assert lines(events, ExecPhase.STDERR) == ["e\r", "f"]
    stdout = [event for event in events if event.phase is ExecPhase.STDOUT]
    assert [event.newline for event in stdout] == [True, True, True, False]
    rebuilt = "".join((event.line or "") + "\n" * bool(event.newline) for event in stdout)
    assert rebuilt == "a\r\nb\n\nc"
    # The captured output keeps the bytes as written.
    assert getattr(result, "stdout", None) == "a\r\nb\n\nc"
    assert getattr(result, "stderr", None) == "e\r\nf"


def test_a_line_longer_than_a_read_is_one_event() -> None:
    events, _ = observed_run(py("print('x' * 300000); print('tail')"))
    assert lines(events, ExecPhase.STDOUT) == ["x" * 300000, "tail"]


def test_a_character_split_across_writes_is_intact() -> None:
    script = (
        "import os, time; data = 'caf\\u00e9\\n'.encode(); "
        "os.write(1, data[:4]); time.sleep(0.05); os.write(1, data[4:])"
    )
    events, _ = observed_run(py(script))
    assert lines(events, ExecPhase.STDOUT) == ["caf\u00e9"]


def test_line_events_do_not_need_capture() -> None:
    events, result = observed_run(shell("echo out; echo err >&2"), output=RunOutputOptions(capture=False))
    assert lines(events, ExecPhase.STDOUT) == ["out"]
    assert lines(events, ExecPhase.STDERR) == ["err"]
    assert getattr(result, "stdout", "") is None
    assert getattr(result, "stderr", "") is None


def test_line_events_and_echo_see_the_same_output() -> None:
    sink = io.StringIO()
    events, result = observed_run(
        shell("printf 'one\\ntwo\\n'"),
        output=RunOutputOptions(capture=True, echo=True),
        context=ExecutionContext(stdout_sink=sink),
    )
    assert sink.getvalue() == "one\ntwo\n"
    assert getattr(result, "stdout", None) == "one\ntwo\n"
    assert lines(events, ExecPhase.STDOUT) == ["one", "two"]


def test_pipeline_stages_share_the_exec_id() -> None:
    first = py("print('one'); print('two')")
    second = sh.make(CAT, catalogue=TEST_CATALOGUE)()
    events: list[ExecEvent] = []
    with observe(events.append):
        result = (first | second).run_sync()
    assert result.ok
    assert len({event.exec_id for event in events}) == 1
    assert {event.stage for event in events} == {0, 1}
    for stage, program in ((0, PYTHON), (1, CAT)):
        own = [event for event in events if event.stage == stage]
        assert {event.program for event in own} == {program}
        assert [event.phase for event in own if event.phase in LIFECYCLE] == [
            ExecPhase.PLAN,
            ExecPhase.START,
            ExecPhase.EXIT,
        ]
    assert [(event.stage, event.line) for event in events if event.phase == ExecPhase.STDOUT] == [
        (1, "one"),
        (1, "two"),
    ]


# --- failing observers -----------------------------------------------------------


def test_raising_observer_does_not_break_the_run(caplog: pytest.LogCaptureFixture) -> None:
    delivered: list[ExecEvent] = []

    def broken(event: ExecEvent) -> None:
        message = f"observer failed on {event.phase}"
        raise RuntimeError(message)

    async def broken_async(_event: ExecEvent) -> None:
        message = "async observer failed"
        raise ValueError(message)

    cmd = shell("echo out; echo err >&2; exit 3")
    with (
        caplog.at_level(logging.ERROR, logger="cuprum.hooks"),
        observe(broken),
        observe(broken_async),
        observe(delivered.append),
    ):
        result = cmd.run_sync()
    assert result.exit_code == 3
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"
    # The process was reaped: it is no longer a child of this process.
    with pytest.raises(ChildProcessError):
        os.waitpid(result.pid, os.WNOHANG)
    # The well-behaved observer still saw everything.
    assert phases(delivered)[0] == ExecPhase.PLAN
    assert phases(delivered)[-1] == ExecPhase.EXIT
    assert len(delivered) == 5

    records = [record for record in caplog.records if record.name == "cuprum.hooks"]
    assert len(records) == 2 * len(delivered)
    assert all(record.levelno == logging.ERROR for record in records)
    assert all(record.exc_info is not None for record in records)
    raised = {type(record.exc_info[1]) for record in records if record.exc_info}
    assert raised == {RuntimeError, ValueError}
    messages = [record.getMessage() for record in records]
    exec_id = delivered[0].exec_id
    for phase in phases(delivered):
        assert any(f"on {phase.value} event of sh (exec_id {exec_id})" in message for message in messages)
    assert any("broken_async" in message for message in messages)


def test_raising_observer_during_a_timeout_still_reaps(caplog: pytest.LogCaptureFixture) -> None:
    def broken(_event: ExecEvent) -> None:
        message = "observer failed"
        raise RuntimeError(message)

    pids: set[int] = set()

    def record_pid(event: ExecEvent) -> None:
        if event.pid is not None:
            pids.add(event.pid)

    with (
        caplog.at_level(logging.ERROR, logger="cuprum.hooks"),
        observe(broken),
        observe(record_pid),
        pytest.raises(TimeoutExpired),
    ):
        py("import time; time.sleep(30)").run_sync(timeout=0.2)
    (pid,) = pids
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    logged = [re.search(r"raised on (\w+) event of", record.getMessage()) for record in caplog.records]
    assert [match.group(1) for match in logged if match] == ["plan", "start", "timeout", "exit"]


# --- the line splitter ---------------------------------------------------------------

LINE_TEXT = st.text(alphabet=st.sampled_from("ab \r\n\u00e9") | st.characters(), max_size=300)


def expected_lines(text: str) -> list[str]:
    """``str.split('\\n')`` semantics (a ``'\\r'`` is kept), no empty tail."""
    parts = text.split("\n")
    if parts[-1] == "":
        parts.pop()
    return parts


def split_at(text: str, cuts: list[int]) -> list[str]:
    bounds = sorted({min(cut, len(text)) for cut in cuts})
    edges = [0, *bounds, len(text)]
    return [text[start:end] for start, end in itertools.pairwise(edges)]


def run_splitter(chunks: Sequence[str]) -> list[str]:
    splitter = LineSplitter()
    produced: list[str] = []
    for chunk in chunks:
        produced.extend(splitter.feed(chunk))
    if (last := splitter.finish()) is not None:
        produced.append(last)
    return produced


@given(LINE_TEXT, st.lists(st.integers(min_value=0, max_value=300), max_size=20))
@example("a\r\nb\r\n", [2])
@example("a\r", [1])
@example("\r\n\r\n", [1, 3])
@example("", [])
def test_splitter_matches_split_semantics_at_any_chunking(text: str, cuts: list[int]) -> None:
    chunks = split_at(text, cuts)
    assert "".join(chunks) == text
    assert run_splitter(chunks) == expected_lines(text)


@given(LINE_TEXT)
def test_splitter_one_character_at_a_time(text: str) -> None:
    assert run_splitter(list(text)) == expected_lines(text)


@given(st.lists(st.text(alphabet=st.characters(exclude_characters="\r\n")), min_size=1, max_size=10))
def test_crlf_split_across_chunks_ends_one_line(texts: list[str]) -> None:
    # Every CRLF is cut between its CR and its LF.
    chunks: list[str] = []
    for text in texts:
        chunks.extend([f"{text}\r", "\n"])
    assert run_splitter(chunks) == [f"{text}\r" for text in texts]


def test_crlf_split_across_two_chunks_gives_no_empty_line() -> None:
    splitter = LineSplitter()
    assert splitter.feed("first\r") == []
    assert splitter.feed("\nsecond") == ["first\r"]
    assert splitter.finish() == "second"


def test_splitter_keeps_a_lone_carriage_return_inside_a_line() -> None:
    splitter = LineSplitter()
    assert splitter.feed("50%\r100%\n") == ["50%\r100%"]
    assert splitter.finish() is None


def test_splitter_keeps_empty_lines_and_finish_is_idempotent() -> None:
    splitter = LineSplitter()
    assert splitter.feed("\n\nx\n\n") == ["", "", "x", ""]
    assert splitter.finish() is None
    assert splitter.feed("tail") == []
    assert splitter.finish() == "tail"
    assert splitter.finish() is None


# --- outcomes on exit events ------------------------------------------------------


def _exit_outcomes(run: Callable[[], object]) -> dict[int | None, ExecOutcome | None]:
    """Run ``run()`` observed; map each stage (or None) to its exit outcome."""
    outcomes: dict[int | None, ExecOutcome | None] = {}

    def record(event: ExecEvent) -> None:
        if event.phase is ExecPhase.EXIT:
            outcomes[event.stage] = event.outcome

    with observe(record), contextlib.suppress(TimeoutExpired):
        run()
    return outcomes


def test_exit_outcomes_of_lone_commands() -> None:
    assert _exit_outcomes(sh.make(ECHO)("x").run_sync) == {None: ExecOutcome.OK}
    assert _exit_outcomes(shell("exit 3").run_sync) == {None: ExecOutcome.FAILED}
    assert _exit_outcomes(lambda: shell("sleep 30").run_sync(timeout=0.2)) == {None: ExecOutcome.TIMED_OUT}


def test_exit_outcomes_follow_the_pipeline_failure_policy() -> None:
    forgiven = _exit_outcomes((sh.make(YES)() | sh.make(HEAD)("-n", "1")).run_sync)
    assert forgiven == {0: ExecOutcome.FORGIVEN, 1: ExecOutcome.OK}
    blamed = _exit_outcomes((sh.make(YES)() | shell("exit 4")).run_sync)
    assert blamed == {0: ExecOutcome.FORGIVEN, 1: ExecOutcome.FAILED}
    fail_fast = (shell("sleep 30") | shell("exit 4")).with_policy(fail_fast=True)
    assert _exit_outcomes(fail_fast.run_sync) == {0: ExecOutcome.TERMINATED, 1: ExecOutcome.FAILED}


def test_a_cancelled_run_reports_cancelled() -> None:
    async def cancel_soon() -> None:
        task = asyncio.ensure_future(shell("sleep 30").run())
        await asyncio.sleep(0.2)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    assert _exit_outcomes(lambda: asyncio.run(cancel_soon())) == {None: ExecOutcome.CANCELLED}


def test_a_program_that_cannot_start_reports_failed() -> None:
    missing = ProgramCatalogue(
        projects=(ProjectSettings(name="gone", programs=(Program("/nonexistent/x"),)),)
    )

    def run_missing() -> None:
        with contextlib.suppress(FileNotFoundError):
            sh.make("/nonexistent/x", catalogue=missing)().run_sync()

    assert _exit_outcomes(run_missing) == {None: ExecOutcome.FAILED}


# --- the line-event hot path: built as delivered, redacted per batch ------------------

URL_IN_TWO_READS = (
    "import sys, time\n"
    "sys.stdout.write('x\\n' * 1000 + 'clone https://deploy:')\n"
    "sys.stdout.flush()\n"
    "time.sleep(0.2)\n"
    "sys.stdout.write('hunter2@example.org/r.git\\nplain\\n')\n"
)


def test_a_url_password_cut_between_two_reads_is_hidden_from_line_events() -> None:
    # The default redactor looks for "://" once per batch of lines; a URL
    # whose halves arrive in two reads is one line of the second batch.
    events, result = observed_run(py(URL_IN_TWO_READS))
    shown = [line for line in lines(events, ExecPhase.STDOUT) if line is not None]
    assert len(shown) == 1002
    assert shown[1000] == "clone https://deploy:***@example.org/r.git"
    assert shown[-1] == "plain"
    assert not any("hunter2" in line for line in shown)
    assert "hunter2" in str(getattr(result, "stdout", ""))  # the data itself is never altered


def test_sync_and_async_observers_see_every_line_in_order() -> None:
    seen_sync: list[str] = []
    seen_async: list[str] = []
    awaited: list[str] = []

    def sync_hook(event: ExecEvent) -> None:
        if event.phase is ExecPhase.STDOUT and event.line is not None:
            seen_sync.append(event.line)

    async def async_hook(event: ExecEvent) -> None:
        if event.phase is ExecPhase.STDOUT and event.line is not None:
            seen_async.append(event.line)

    async def later(line: str) -> None:
        await asyncio.sleep(0)
        awaited.append(line)

    def returns_a_coroutine(event: ExecEvent) -> object:
        # A plain function that returns an awaitable: it is awaited too.
        return later(event.line) if event.phase is ExecPhase.STDOUT and event.line is not None else None

    expected = [str(number) for number in range(1, 20001)]
    with observe(sync_hook), observe(async_hook), observe(returns_a_coroutine):
        py("print('\\n'.join(str(n) for n in range(1, 20001)))").run_sync()
    assert seen_sync == expected
    assert seen_async == expected
    assert awaited == expected


def test_lines_read_together_share_a_timestamp_and_keep_their_order() -> None:
    events, _ = observed_run(py("print('\\n'.join(str(n) for n in range(5000)))"))
    stdout = [event for event in events if event.phase is ExecPhase.STDOUT]
    assert [event.line for event in stdout] == [str(n) for n in range(5000)]
    stamps = [event.timestamp for event in stdout]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) < len(stamps)  # one per read, not one per line


ESCAPED_HOLDER = (
    "import os, sys, time\n"
    "if os.fork() == 0:\n"  # a grandchild that leaves the group and keeps stdout open
    "    os.setsid()\n"
    "    with open(sys.argv[1], 'a') as pids:\n"
    "        pids.write(f'{os.getpid()}\\n')\n"
    "    time.sleep(60)\n"
    "    os._exit(0)\n"
    "sys.stdout.write('first\\npartial')\n"
    "sys.stdout.flush()\n"
    "time.sleep(60)\n"
)


def test_a_stream_stopped_by_teardown_still_gives_async_observers_its_last_partial_line(
    tmp_path: pathlib.Path,
) -> None:
    # The escaped grandchild holds stdout open, so teardown stops the reader
    # instead of reading to end of file: the partial line must still arrive.
    seen: list[tuple[str, bool | None]] = []

    async def on_line(event: ExecEvent) -> None:
        if event.phase is ExecPhase.STDOUT and event.line is not None:
            seen.append((event.line, event.newline))

    pid_file = tmp_path / "escaped"
    context = ExecutionContext(cancel_grace=0.1)
    try:
        with observe(on_line), pytest.raises(TimeoutExpired):
            py(ESCAPED_HOLDER, str(pid_file)).run_sync(timeout=0.5, context=context)
        assert seen == [("first", True), ("partial", False)]
    finally:
        for pid in written_pids(pid_file):
            kill_group_quietly(pid)
