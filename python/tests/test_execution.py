"""Behaviour of running one command: results, output, stdin, errors and context.

Every behaviour that ``run()`` and ``run_sync()`` share is tested through
both (the ``run`` fixture), so the two can never drift apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import hashlib
import io
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

import pytest
from support import SH, group_alive, kill_group_quietly, no_fd_leak, py, shell, wait_until

import cuprum
from cuprum import (
    LS,
    CommandFailed,
    CommandResult,
    CuprumError,
    ExecEvent,
    ExecPhase,
    ExecutionContext,
    Program,
    ProgramCatalogue,
    ProjectSettings,
    RunOutputOptions,
    SafeCmd,
    StdinInput,
    sh,
)

if TYPE_CHECKING:
    from collections.abc import Generator

MIB = 2**20


class Runner(Protocol):
    """``SafeCmd.run`` (driven by ``asyncio.run``) or ``SafeCmd.run_sync``."""

    def __call__(
        self,
        cmd: SafeCmd,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        stdin: StdinInput | None = None,
        check: bool = False,
    ) -> CommandResult: ...


def run_async(
    cmd: SafeCmd,
    *,
    output: RunOutputOptions | None = None,
    timeout: float | None = None,
    context: ExecutionContext | None = None,
    stdin: StdinInput | None = None,
    check: bool = False,
) -> CommandResult:
    """Drive ``cmd.run(...)`` in a fresh event loop."""
    return asyncio.run(cmd.run(output=output, timeout=timeout, context=context, stdin=stdin, check=check))


def run_blocking(
    cmd: SafeCmd,
    *,
    output: RunOutputOptions | None = None,
    timeout: float | None = None,
    context: ExecutionContext | None = None,
    stdin: StdinInput | None = None,
    check: bool = False,
) -> CommandResult:
    """Call ``cmd.run_sync(...)``."""
    return cmd.run_sync(output=output, timeout=timeout, context=context, stdin=stdin, check=check)


@pytest.fixture(params=[run_async, run_blocking], ids=["run", "run_sync"])
def run(request: pytest.FixtureRequest) -> Runner:
    """Each test that takes ``run`` runs once per entry point."""
    return cast("Runner", request.param)


@contextlib.contextmanager
def recording() -> Generator[list[ExecEvent]]:
    """Observe every event of the runs inside the block."""
    events: list[ExecEvent] = []
    with cuprum.observe(events.append):
        yield events


def phases(events: list[ExecEvent]) -> list[ExecPhase]:
    """The phases of ``events``, in order."""
    return [event.phase for event in events]


def lines(events: list[ExecEvent], phase: ExecPhase) -> list[str | None]:
    """The lines of the ``stdout`` or ``stderr`` events."""
    return [event.line for event in events if event.phase is phase]


def assert_same_text(actual: str | None, expected: str) -> None:
    """Compare large strings without asking pytest to diff megabytes."""
    assert actual is not None
    assert len(actual) == len(expected), f"length {len(actual)} != {len(expected)}"
    assert actual == expected, "same length, different content"


# --- results -----------------------------------------------------------------


def test_result_describes_the_process(run: Runner) -> None:
    cmd = shell('echo "$$"; echo out; echo err >&2')
    with no_fd_leak():
        result = run(cmd)
    assert isinstance(result, CommandResult)
    assert result.program == SH
    assert result.argv == ("sh", "-c", 'echo "$$"; echo out; echo err >&2')
    assert result.argv == cmd.argv
    assert result.exit_code == 0
    assert result.ok
    assert result.stdout is not None
    pid_line, rest = result.stdout.split("\n", 1)
    assert result.pid == int(pid_line)
    assert rest == "out\n"
    assert result.stderr == "err\n"


def test_result_is_immutable(run: Runner) -> None:
    result = run(shell("true"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.exit_code = 1  # pyright: ignore[reportAttributeAccessIssue]


def test_non_zero_exit_is_reported_not_raised(run: Runner) -> None:
    result = run(shell("echo some; echo trouble >&2; exit 7"))
    assert result.exit_code == 7
    assert not result.ok
    assert result.stdout == "some\n"
    assert result.stderr == "trouble\n"


def test_each_run_is_a_new_process(run: Runner) -> None:
    cmd = shell('echo "$$"')
    first, second = run(cmd), run(cmd)
    assert first.pid != second.pid
    assert first.stdout == f"{first.pid}\n"
    assert second.stdout == f"{second.pid}\n"


SELF_SIGNAL = "import os, sys\nprint('bye', flush=True)\nos.kill(os.getpid(), int(sys.argv[1]))\n"


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_signal_death_reports_negative_exit_code(run: Runner, signum: signal.Signals) -> None:
    with no_fd_leak():
        result = run(py(SELF_SIGNAL, str(int(signum))))
    assert result.exit_code == -int(signum)
    assert not result.ok
    assert result.stdout == "bye\n"


def test_check_raises_command_failed_carrying_the_result(run: Runner) -> None:
    cmd = shell("echo partial; echo broken >&2; exit 3")
    with no_fd_leak(), pytest.raises(CommandFailed) as caught:
        run(cmd, check=True)
    error = caught.value
    assert isinstance(error, CuprumError)
    assert error.result.program == SH
    assert error.result.argv == cmd.argv
    assert error.result.exit_code == 3
    assert error.result.stdout == "partial\n"
    assert error.result.stderr == "broken\n"
    assert not error.result.ok
    assert str(error) == f"{cmd.shell_quoted} exited with status 3; stderr: broken"
    assert isinstance(error, subprocess.CalledProcessError)
    assert (error.returncode, error.cmd, error.stdout, error.stderr) == (3, cmd.argv, "partial\n", "broken\n")


def test_check_names_the_signal_of_a_killed_process(run: Runner) -> None:
    cmd = py(SELF_SIGNAL, str(int(signal.SIGTERM)))
    with pytest.raises(CommandFailed) as caught:
        run(cmd, check=True)
    assert caught.value.result.exit_code == -signal.SIGTERM
    assert str(caught.value) == f"{cmd.shell_quoted} exited with signal {int(signal.SIGTERM)}"


def test_check_returns_a_successful_result(run: Runner) -> None:
    result = run(shell("echo fine"), check=True)
    assert result.ok
    assert result.stdout == "fine\n"


def test_run_and_run_sync_give_the_same_result() -> None:
    cmd = shell("echo one; echo two >&2; exit 4")
    via_run = run_async(cmd, stdin=StdinInput(text="ignored"))
    via_sync = run_blocking(cmd, stdin=StdinInput(text="ignored"))
    assert via_run.pid != via_sync.pid
    assert dataclasses.replace(via_run, pid=0) == dataclasses.replace(via_sync, pid=0)


# --- run_sync and event loops --------------------------------------------------


def test_run_sync_inside_a_running_event_loop_raises() -> None:
    async def nested(events: list[ExecEvent]) -> None:
        with pytest.raises(RuntimeError, match=r"run_sync\(\) cannot be called") as caught:
            shell("true").run_sync()
        assert "event loop is running" in str(caught.value)
        assert events == []  # nothing was planned, let alone started

    with recording() as events, no_fd_leak():
        asyncio.run(nested(events))
    assert events == []


def test_run_sync_works_from_a_worker_thread_while_a_loop_runs() -> None:
    async def offload() -> CommandResult:
        return await asyncio.to_thread(shell("echo from-thread").run_sync)

    result = asyncio.run(offload())
    assert result.ok
    assert result.stdout == "from-thread\n"


def test_concurrent_runs_keep_their_output_apart() -> None:
    async def many() -> list[CommandResult]:
        return await asyncio.gather(*(shell(f"echo {n}; echo err{n} >&2").run() for n in range(12)))

    with no_fd_leak():
        results = asyncio.run(many())
    assert [result.stdout for result in results] == [f"{n}\n" for n in range(12)]
    assert [result.stderr for result in results] == [f"err{n}\n" for n in range(12)]
    assert len({result.pid for result in results}) == 12


# --- capture and echo ----------------------------------------------------------


def test_capture_false_gives_none(run: Runner) -> None:
    with no_fd_leak():
        result = run(shell("echo out; echo err >&2; exit 2"), output=RunOutputOptions(capture=False))
    assert result.stdout is None
    assert result.stderr is None
    assert result.exit_code == 2


def test_capture_false_still_feeds_observers(run: Runner) -> None:
    with recording() as events:
        result = run(shell("echo a; echo b; echo c >&2"), output=RunOutputOptions(capture=False))
    assert result.stdout is None
    assert lines(events, ExecPhase.STDOUT) == ["a", "b"]
    assert lines(events, ExecPhase.STDERR) == ["c"]


def test_echo_writes_to_the_sinks_while_capturing(run: Runner) -> None:
    out, err = io.StringIO(), io.StringIO()
    context = ExecutionContext(stdout_sink=out, stderr_sink=err)
    result = run(
        shell("echo out1; echo err1 >&2; echo out2"), output=RunOutputOptions(echo=True), context=context
    )
    assert out.getvalue() == "out1\nout2\n"
    assert err.getvalue() == "err1\n"
    assert result.stdout == "out1\nout2\n"
    assert result.stderr == "err1\n"


def test_echo_without_capture_only_echoes(run: Runner) -> None:
    out, err = io.StringIO(), io.StringIO()
    context = ExecutionContext(stdout_sink=out, stderr_sink=err)
    result = run(
        shell("echo shown; echo noted >&2"),
        output=RunOutputOptions(capture=False, echo=True),
        context=context,
    )
    assert out.getvalue() == "shown\n"
    assert err.getvalue() == "noted\n"
    assert result.stdout is None
    assert result.stderr is None


def test_echo_defaults_to_sys_stdout_and_stderr(run: Runner, capsys: pytest.CaptureFixture[str]) -> None:
    result = run(shell("echo to-out; echo to-err >&2"), output=RunOutputOptions(echo=True))
    captured = capsys.readouterr()
    assert captured.out == "to-out\n"
    assert captured.err == "to-err\n"
    assert result.stdout == "to-out\n"


def test_no_echo_by_default(run: Runner) -> None:
    out = io.StringIO()
    result = run(shell("echo quiet"), context=ExecutionContext(stdout_sink=out))
    assert out.getvalue() == ""
    assert result.stdout == "quiet\n"


# --- stdin ---------------------------------------------------------------------


def test_stdin_input_refuses_both_text_and_data() -> None:
    with pytest.raises(ValueError, match="one source, not text and data"):
        StdinInput(text="a", data=b"a")


def test_stdin_input_checks_types() -> None:
    with pytest.raises(TypeError, match="use data= for bytes"):
        StdinInput(text=cast("str", b"bytes"))
    with pytest.raises(TypeError, match="use text= for str"):
        StdinInput(data=cast("bytes", "text"))


HEX_OF_STDIN = "import sys\nsys.stdout.write(sys.stdin.buffer.read().hex())\n"
DIGEST_OF_STDIN = (
    "import hashlib, sys\n"
    "data = sys.stdin.buffer.read()\n"
    "sys.stdout.write(f'{len(data)} {hashlib.sha256(data).hexdigest()}')\n"
)


def test_stdin_text_is_encoded_as_utf8_by_default(run: Runner) -> None:
    text = "naïve € ✓\nsecond line"
    result = run(py(HEX_OF_STDIN), stdin=StdinInput(text=text))
    assert result.stdout == text.encode("utf-8").hex()


def test_stdin_text_uses_the_context_encoding(run: Runner) -> None:
    result = run(
        py(HEX_OF_STDIN), stdin=StdinInput(text="café"), context=ExecutionContext(encoding="latin-1")
    )
    assert result.stdout == "636166e9"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        bytes(range(256)),
        b"\0\r\n\x1a\x04\xff" * 1000,
        os.urandom(3 * MIB + 7),
    ],
    ids=["empty", "every-byte-value", "control-bytes", "3MiB-random"],
)
def test_stdin_bytes_reach_the_child_exactly(run: Runner, data: bytes) -> None:
    with no_fd_leak():
        result = run(py(DIGEST_OF_STDIN), stdin=StdinInput(data=data), timeout=30)
    assert result.stdout == f"{len(data)} {hashlib.sha256(data).hexdigest()}"


def test_stdin_bytes_are_not_transformed(run: Runner) -> None:
    data = bytes(range(256)) * 3
    result = run(py(HEX_OF_STDIN), stdin=StdinInput(data=data))
    assert result.stdout == data.hex()


def test_without_stdin_the_child_reads_end_of_file(run: Runner) -> None:
    result = run(py("import sys\nprint(len(sys.stdin.buffer.read()))\n"), timeout=30)
    assert result.stdout == "0\n"


def test_stdin_event_counts_the_bytes_written(run: Runner) -> None:
    with recording() as events:
        run(py(DIGEST_OF_STDIN), stdin=StdinInput(data=b"x" * 1000))
    written = [event.byte_count for event in events if event.phase is ExecPhase.STDIN]
    assert written == [1000]


def test_child_closing_stdin_early_is_not_an_error(run: Runner) -> None:
    with recording() as events, no_fd_leak():
        result = run(shell("exec 0<&-; echo done"), stdin=StdinInput(data=b"z" * (4 * MIB)), timeout=30)
    assert result.ok
    assert result.stdout == "done\n"
    assert ExecPhase.STDIN_ERROR in phases(events)
    assert ExecPhase.STDIN not in phases(events)
    assert phases(events)[-1] is ExecPhase.EXIT


# --- decoding ------------------------------------------------------------------
#
# Observed runs split lines as they decode; unobserved ones only decode.
# Tests that take ``observed`` cover both paths.


@pytest.fixture(params=[False, True], ids=["unobserved", "observed"])
def observed(request: pytest.FixtureRequest) -> bool:
    """Whether an observer watches the run (which changes how output is read)."""
    return cast("bool", request.param)


@contextlib.contextmanager
def maybe_recording(enabled: bool) -> Generator[list[ExecEvent]]:
    """``recording()`` when ``enabled``; otherwise an empty list and no observer."""
    if enabled:
        with recording() as events:
            yield events
    else:
        yield []


SPLIT_WRITES = (
    "import sys, time\n"
    "out = sys.stdout.buffer\n"
    "out.write(bytes.fromhex(sys.argv[1])); out.flush()\n"
    "time.sleep(0.1)\n"
    "out.write(bytes.fromhex(sys.argv[2])); out.flush()\n"
)
"""Write two byte strings (given in hex) as separate, flushed writes."""


def split_writes(first: bytes, second: bytes) -> SafeCmd:
    """A child writing ``first``, pausing, then writing ``second``."""
    return py(SPLIT_WRITES, first.hex(), second.hex())


@pytest.mark.parametrize("errors", ["strict", "replace"])
def test_character_split_across_writes_decodes_intact(run: Runner, observed: bool, errors: str) -> None:
    with maybe_recording(observed) as events:
        result = run(split_writes(b"price: \xe2\x82", b"\xac\n"), context=ExecutionContext(errors=errors))
    assert result.stdout == "price: €\n"
    if observed:
        assert lines(events, ExecPhase.STDOUT) == ["price: €"]


@pytest.mark.parametrize("errors", ["strict", "replace"])
def test_multibyte_text_across_read_boundaries_decodes_intact(
    run: Runner, observed: bool, errors: str
) -> None:
    # 3-byte characters never line up with the 64 KiB reads.
    code = "import sys\nsys.stdout.write('€✓' * 200_000 + 'end\\n')\n"
    with maybe_recording(observed) as events:
        result = run(py(code), context=ExecutionContext(errors=errors))
    assert_same_text(result.stdout, "€✓" * 200_000 + "end\n")
    if observed:
        assert len(events) > 0


def test_one_mebibyte_line_without_newline_is_captured_whole(run: Runner, observed: bool) -> None:
    code = "import string, sys\nsys.stdout.write((string.ascii_letters * 20_200)[: 2**20])\n"
    expected = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" * 20_200)[:MIB]
    with maybe_recording(observed) as events:
        result = run(py(code))
    assert_same_text(result.stdout, expected)
    if observed:
        stdout_lines = lines(events, ExecPhase.STDOUT)
        assert len(stdout_lines) == 1
        assert_same_text(stdout_lines[0], expected)


def test_lines_longer_than_the_read_size_are_split_only_at_newlines(run: Runner, observed: bool) -> None:
    code = "import sys\nsys.stdout.write('a' * 200_000 + '\\n' + 'b' * 300_000 + '\\r\\n' + 'c')\n"
    with maybe_recording(observed) as events:
        result = run(py(code))
    assert result.stdout == "a" * 200_000 + "\n" + "b" * 300_000 + "\r\n" + "c"
    if observed:
        assert lines(events, ExecPhase.STDOUT) == ["a" * 200_000, "b" * 300_000 + "\r", "c"]


INVALID_UTF8 = (
    "import sys\nsys.stdout.buffer.write(b'ok\\xff\\xfe!\\n')\nsys.stderr.buffer.write(b'bad\\xc3\\n')\n"
)


def test_invalid_bytes_are_replaced_by_default(run: Runner, observed: bool) -> None:
    with maybe_recording(observed):
        result = run(py(INVALID_UTF8))
    assert result.stdout == "ok\ufffd\ufffd!\n"
    assert result.stderr == "bad\ufffd\n"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(b"end\xe2\x82", b"", id="truncated-at-eof"),
        pytest.param(b"a\xf0\x9f\x98", b"b", id="truncated-four-byte"),
        pytest.param(b"a\xf0\x9f", b"\x98b", id="truncated-four-byte-split"),
        pytest.param(b"s\xed\xa0\x80", b"!", id="surrogate"),
        pytest.param(b"o\xc0\xaf", b"!", id="overlong"),
        pytest.param(b"x\xe2\x82", b"\xe2\x82\xac", id="broken-then-whole-across-writes"),
        pytest.param(b"\x80\xbf\xfe\xff", b"\xf4\x90\x80\x80", id="never-valid"),
        pytest.param(b"\xef\xbb\xbfbom", b"", id="byte-order-mark-kept"),
    ],
)
def test_replacement_matches_one_shot_decoding(
    run: Runner, observed: bool, first: bytes, second: bytes
) -> None:
    # Decoding chunk by chunk must give exactly what decoding it all at once gives.
    with maybe_recording(observed):
        result = run(split_writes(first, second))
    assert result.stdout == (first + second).decode("utf-8", "replace")


def test_errors_handler_is_applied(run: Runner) -> None:
    result = run(py(INVALID_UTF8), context=ExecutionContext(errors="backslashreplace"))
    assert result.stdout == "ok\\xff\\xfe!\n"
    assert result.stderr == "bad\\xc3\n"


def test_strict_errors_raise_and_clean_up(run: Runner) -> None:
    starts: list[int] = []

    def on_start(event: ExecEvent) -> None:
        if event.phase is ExecPhase.START and event.pid is not None:
            starts.append(event.pid)

    # The child keeps writing after the bad byte (more than a pipe holds,
    # less than the 2 MiB the reader may buffer), so it must be stopped.
    code = "import sys\nsys.stdout.buffer.write(b'ok\\xff\\n' + b'x' * (3 * 2**19))\n"
    with cuprum.observe(on_start), no_fd_leak(), pytest.raises(UnicodeDecodeError) as caught:
        run(py(code), context=ExecutionContext(errors="strict"), timeout=30)
    assert caught.value.object[caught.value.start : caught.value.end] == b"\xff"
    try:
        assert starts
        assert wait_until(lambda: not group_alive(starts[0]), timeout=5)
    finally:
        for pid in starts:
            kill_group_quietly(pid)


STUBBORN_FLOOD = (
    "import signal, sys\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "sys.stdout.buffer.write(b'ok\\xff\\n' + b'x' * 2**23)\n"
)


def test_strict_errors_with_a_flooding_child_end_promptly_and_leak_nothing() -> None:
    # Once the reader has failed, nobody drains stdout and the child (deaf to
    # SIGTERM) keeps writing, so teardown must not wait for end-of-file on
    # that pipe, and must still close it. Run in a daemon thread so that a
    # hang fails the test instead of stalling the suite.
    outcome: list[BaseException] = []

    def scenario() -> None:
        try:
            with no_fd_leak(), pytest.raises(UnicodeDecodeError):
                py(STUBBORN_FLOOD).run_sync(context=ExecutionContext(errors="strict", cancel_grace=0.3))
        except BaseException as error:  # noqa: BLE001 (handed to the test's thread)
            outcome.append(error)

    worker = threading.Thread(target=scenario, daemon=True)
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive(), "run() hung after the decoding error"
    if outcome:
        raise outcome[0]


def test_output_uses_the_context_encoding(run: Runner) -> None:
    code = "import sys\nsys.stdout.buffer.write(b'caf\\xe9\\n')\n"
    result = run(py(code), context=ExecutionContext(encoding="latin-1", errors="strict"))
    assert result.stdout == "café\n"


def test_unknown_encoding_is_refused_when_the_context_is_made() -> None:
    with pytest.raises(LookupError):
        ExecutionContext(encoding="no-such-codec")


# --- no deadlock ---------------------------------------------------------------

BIDIRECTIONAL = """
import hashlib, sys
mode, pending = sys.argv[1], int(sys.argv[2])
out, err, inp = sys.stdout.buffer, sys.stderr.buffer, sys.stdin.buffer
def emit():
    out.write(b'o' * 65536)
    out.flush()
    err.write(b'e' * 65536)
    err.flush()
if mode == 'output-first':
    for _ in range(pending):
        emit()
    pending = 0
digest = hashlib.sha256()
received = 0
while chunk := inp.read1(65536):
    digest.update(chunk)
    received += len(chunk)
    if pending:
        emit()
        pending -= 1
for _ in range(pending):
    emit()
out.write(f'\\n{received} {digest.hexdigest()}\\n'.encode())
"""


@pytest.mark.parametrize("mode", ["output-first", "interleaved"])
def test_large_traffic_in_all_directions_never_deadlocks(run: Runner, mode: str) -> None:
    blocks = 64  # 4 MiB on stdout and on stderr, far beyond any pipe buffer
    data = os.urandom(4 * MIB)
    with no_fd_leak():
        result = run(py(BIDIRECTIONAL, mode, str(blocks)), stdin=StdinInput(data=data), timeout=60)
    assert result.ok, result.stderr and result.stderr[-2000:]
    trailer = f"\n{len(data)} {hashlib.sha256(data).hexdigest()}\n"
    assert_same_text(result.stdout, "o" * (blocks * 65536) + trailer)
    assert_same_text(result.stderr, "e" * (blocks * 65536))


# --- failures to start ---------------------------------------------------------

MISSING = Program("cuprum-test-no-such-program")
MISSING_CATALOGUE = ProgramCatalogue(projects=(ProjectSettings(name="missing", programs=(MISSING,)),))


@pytest.mark.parametrize("stdin", [None, StdinInput(text="unread")], ids=["no-stdin", "stdin"])
def test_program_not_found_raises_file_not_found(run: Runner, stdin: StdinInput | None) -> None:
    cmd = sh.make(MISSING, catalogue=MISSING_CATALOGUE)("--flag")
    with recording() as events, no_fd_leak(), pytest.raises(FileNotFoundError) as caught:
        run(cmd, stdin=stdin)
    assert isinstance(caught.value, OSError)
    assert caught.value.errno == errno.ENOENT
    assert ExecPhase.START not in phases(events)


def test_program_without_execute_permission_raises_permission_error(run: Runner, tmp_path: Path) -> None:
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\necho never\n", encoding="utf-8")
    script.chmod(0o644)
    program = Program(str(script))
    catalogue = ProgramCatalogue(projects=(ProjectSettings(name="local", programs=(program,)),))
    with no_fd_leak(), pytest.raises(PermissionError):
        run(sh.make(program, catalogue=catalogue)())


def test_missing_working_directory_raises_file_not_found(run: Runner, tmp_path: Path) -> None:
    context = ExecutionContext(cwd=tmp_path / "absent")
    with no_fd_leak(), pytest.raises(FileNotFoundError):
        run(shell("echo never"), context=context)


# --- working directory and environment -----------------------------------------

PRINT_CWD = "import os\nprint(os.getcwd())\n"


@pytest.mark.parametrize("as_string", [False, True], ids=["path", "str"])
def test_cwd_option_sets_the_working_directory(run: Runner, tmp_path: Path, as_string: bool) -> None:
    (tmp_path / "marker.txt").write_text("here", encoding="utf-8")
    cwd: str | Path = str(tmp_path) if as_string else tmp_path
    context = ExecutionContext(cwd=cwd)
    assert run(py(PRINT_CWD), context=context).stdout == f"{os.path.realpath(tmp_path)}\n"
    assert run(sh.make(LS)(), context=context).stdout == "marker.txt\n"
    assert Path.cwd() != tmp_path  # the caller's directory is untouched


def test_default_cwd_is_the_callers(run: Runner) -> None:
    assert run(py(PRINT_CWD)).stdout == f"{Path.cwd()}\n"


PRINT_ENV = "import os, sys\nfor name in sys.argv[1:]:\n    print(name, os.environ.get(name, '<unset>'))\n"


def test_env_option_merges_over_os_environ(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUPRUM_TEST_INHERITED", "from-os")
    monkeypatch.setenv("CUPRUM_TEST_REPLACED", "old")
    monkeypatch.delenv("CUPRUM_TEST_ADDED", raising=False)
    context = ExecutionContext(env={"CUPRUM_TEST_REPLACED": "new", "CUPRUM_TEST_ADDED": "added"})
    names = ("CUPRUM_TEST_INHERITED", "CUPRUM_TEST_REPLACED", "CUPRUM_TEST_ADDED")
    result = run(py(PRINT_ENV, *names), context=context)
    assert result.stdout == (
        "CUPRUM_TEST_INHERITED from-os\nCUPRUM_TEST_REPLACED new\nCUPRUM_TEST_ADDED added\n"
    )
    # The caller's environment is not changed by the run.
    assert os.environ["CUPRUM_TEST_REPLACED"] == "old"
    assert "CUPRUM_TEST_ADDED" not in os.environ


def test_environment_is_read_when_the_command_runs(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    cmd = py(PRINT_ENV, "CUPRUM_TEST_LATE", "CUPRUM_TEST_CONTEXT")
    context = ExecutionContext(env={"CUPRUM_TEST_CONTEXT": "set"})
    monkeypatch.setenv("CUPRUM_TEST_LATE", "late")  # after the command and context were built
    assert run(cmd).stdout == "CUPRUM_TEST_LATE late\nCUPRUM_TEST_CONTEXT <unset>\n"
    assert run(cmd, context=context).stdout == "CUPRUM_TEST_LATE late\nCUPRUM_TEST_CONTEXT set\n"


def test_context_env_wins_over_scope_overlays(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUPRUM_TEST_X", "os")
    monkeypatch.setenv("CUPRUM_TEST_Y", "os")
    context = ExecutionContext(env={"CUPRUM_TEST_X": "context"})
    with cuprum.env(CUPRUM_TEST_X="scope", CUPRUM_TEST_Y="scope"):
        result = run(py(PRINT_ENV, "CUPRUM_TEST_X", "CUPRUM_TEST_Y"), context=context)
    assert result.stdout == "CUPRUM_TEST_X context\nCUPRUM_TEST_Y scope\n"


@pytest.mark.parametrize(
    "env",
    [
        {"BAD=NAME": "x"},
        {"": "x"},
        {"NUL\0NAME": "x"},
        {"CUPRUM_TEST_VALUE": "nul\0value"},
        {"CUPRUM_TEST_VALUE": cast("str", 1)},
        {cast("str", 1): "x"},
    ],
    ids=["equals-in-name", "empty-name", "nul-in-name", "nul-in-value", "int-value", "int-name"],
)
def test_invalid_env_is_refused_before_anything_starts(run: Runner, env: dict[str, str]) -> None:
    called: list[SafeCmd] = []
    refused = pytest.raises(ValueError, match=r"ExecutionContext\.env")
    with recording() as events, cuprum.before(called.append), refused:
        run(shell("echo never"), context=ExecutionContext(env=env))
    assert events == []
    assert called == []


def test_env_must_be_a_mapping() -> None:
    with pytest.raises(TypeError, match="mapping"):
        ExecutionContext(env=cast("dict[str, str]", [("A", "B")]))


def test_child_runs_this_interpreter() -> None:
    # A sanity check that the test children are what the tests assume.
    result = py("import sys\nprint(sys.version_info[:2])\n").run_sync()
    assert result.stdout == f"{sys.version_info[:2]}\n"
