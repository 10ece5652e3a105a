"""Timeouts and cancellation: the whole process group ends, and is reaped, first.

Time bounds here are deliberately loose: each upper bound allows a second or
more beyond the timeout and grace actually scheduled, which is many times
the few milliseconds that tearing a process group down takes.
"""

# support.patient() always yields: what its loops bind is bound.
# pyright: reportPossiblyUnboundVariable=false

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

import pytest
from support import group_alive, kill_group_quietly, no_fd_leak, open_fds, patient, py, shell, wait_until

import cuprum
from cuprum import (
    SLEEP,
    CuprumError,
    ExecEvent,
    ExecOutcome,
    ExecPhase,
    ExecutionContext,
    RunOutputOptions,
    SafeCmd,
    ScopeConfig,
    TimeoutExpired,
    sh,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    from cuprum import CommandResult

SLACK = 1.0
"""Seconds allowed beyond the scheduled timeout and grace: generous on purpose."""


class Runner(Protocol):
    """``SafeCmd.run`` (driven by ``asyncio.run``) or ``SafeCmd.run_sync``."""

    def __call__(
        self,
        cmd: SafeCmd,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
    ) -> CommandResult: ...


def run_async(
    cmd: SafeCmd,
    *,
    output: RunOutputOptions | None = None,
    timeout: float | None = None,
    context: ExecutionContext | None = None,
) -> CommandResult:
    """Drive ``cmd.run(...)`` in a fresh event loop."""
    return asyncio.run(cmd.run(output=output, timeout=timeout, context=context))


def run_blocking(
    cmd: SafeCmd,
    *,
    output: RunOutputOptions | None = None,
    timeout: float | None = None,
    context: ExecutionContext | None = None,
) -> CommandResult:
    """Call ``cmd.run_sync(...)``."""
    return cmd.run_sync(output=output, timeout=timeout, context=context)


@pytest.fixture(params=[run_async, run_blocking], ids=["run", "run_sync"])
def run(request: pytest.FixtureRequest) -> Runner:
    """Each test that takes ``run`` runs once per entry point."""
    return cast("Runner", request.param)


class Recorder:
    """Keeps every event of the runs it observes, and the process groups they start.

    A recorder that is not registered as an observer sees no events; tests
    then learn the leader's pid from the child itself (``adopt``), so that
    unobserved runs, which may read their output differently, are covered too.
    """

    def __init__(self) -> None:
        self.events: list[ExecEvent] = []
        self.pids: list[int] = []
        self.own_group: list[bool] = []

    def __call__(self, event: ExecEvent) -> None:
        """Record ``event``; on ``start``, check the child leads its own group."""
        self.events.append(event)
        if event.phase is ExecPhase.START and event.pid is not None:
            self.pids.append(event.pid)
            self.own_group.append(os.getpgid(event.pid) == event.pid)

    def adopt(self, pid: int) -> None:
        """Note a leader's pid that the child reported itself."""
        if pid not in self.pids:
            self.pids.append(pid)

    @property
    def pid(self) -> int:
        """The one process started."""
        assert len(self.pids) == 1, self.pids
        return self.pids[0]

    @property
    def phases(self) -> list[ExecPhase]:
        """The phases seen, with output lines left out."""
        return [e.phase for e in self.events if e.phase not in {ExecPhase.STDOUT, ExecPhase.STDERR}]

    def stdout_lines(self) -> list[str | None]:
        """The stdout lines seen so far."""
        return [e.line for e in self.events if e.phase is ExecPhase.STDOUT]

    def exit_code(self) -> int | None:
        """The exit code reported by the ``exit`` event."""
        codes = [e.exit_code for e in self.events if e.phase is ExecPhase.EXIT]
        assert len(codes) == 1, codes
        return codes[0]


@contextlib.contextmanager
def recording(*, enabled: bool = True) -> Generator[Recorder]:
    """Observe the runs inside the block (when ``enabled``); kill any group left behind."""
    recorder = Recorder()
    try:
        with cuprum.observe(recorder) if enabled else contextlib.nullcontext():
            yield recorder
    finally:
        for pid in recorder.pids:
            kill_group_quietly(pid)


@pytest.fixture(params=[False, True], ids=["unobserved", "observed"])
def observed(request: pytest.FixtureRequest) -> bool:
    """Whether an observer watches the run (which changes how output is read)."""
    return cast("bool", request.param)


def assert_group_gone(pid: int) -> None:
    """The leader is reaped and nothing of its group lives on.

    Stragglers were sent SIGKILL before ``run()`` returned; the kernel may
    take a moment to finish them, so poll briefly (a survivor of a missed
    SIGKILL would sleep for 100 s and still fail this).
    """
    assert not process_exists(pid), "the leader was not reaped"
    assert wait_until(lambda: not group_alive(pid), timeout=2.0), f"process group {pid} is still alive"


def process_exists(pid: int) -> bool:
    """Whether ``pid`` names a process, a zombie included (a reaped one has gone)."""
    return Path(f"/proc/{pid}").exists()


def read_pid(pidfile: Path) -> int | None:
    """The pid a child wrote to ``pidfile``, once it is there in full."""
    content = pidfile.read_text(encoding="utf-8") if pidfile.exists() else ""
    return int(content) if content.endswith("\n") else None


async def until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` on the loop for up to 10 s (a generous bound, for slow machines)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    msg = f"timed out waiting until {what}"
    raise AssertionError(msg)


def reported_pid(stdout: str | bytes | None) -> int:
    """The pid a child printed as its first line."""
    assert isinstance(stdout, str)
    return int(stdout.split("\n", 1)[0])


SLEEPER_TREE = 'sleep 100 & echo "$$"; wait'
"""A shell waiting for a background sleep; it prints its pid once the sleep is forked."""
STUBBORN_TREE = "trap '' TERM; " + SLEEPER_TREE
"""The shell ignores SIGTERM, and so does the sleep it starts (it inherits that)."""
STUBBORN_GRANDCHILD = "(trap '' TERM; exec sleep 100) & echo \"$$\"; wait"
"""Only the grandchild ignores SIGTERM; the leader dies of it."""


# --- TimeoutExpired ------------------------------------------------------------


def test_timeout_expired_carries_the_command_and_the_partial_output(
    run: Runner, observed: bool, tmp_path: Path
) -> None:
    written = tmp_path / "written"
    touch = f": > {shlex.quote(str(written))}"
    cmd = shell(f'echo "$$"; printf "partial out"; echo "partial err" >&2; {touch}; sleep 100')
    for timeout in patient(0.5):
        with recording(enabled=observed) as recorder, no_fd_leak(), pytest.raises(TimeoutExpired) as caught:
            run(cmd, timeout=timeout)
        if written.exists():  # the child had written everything when the timeout fired
            break
    error = caught.value
    pid = reported_pid(error.stdout)
    recorder.adopt(pid)
    assert isinstance(error, TimeoutError)
    assert isinstance(error, CuprumError)
    assert error.command == cmd.shell_quoted
    assert shlex.split(error.command) == list(cmd.argv)
    assert error.command.startswith("sh -c '")
    assert error.timeout == timeout
    assert error.stdout == f"{pid}\npartial out"
    assert error.stderr == "partial err\n"
    assert str(error) == f"command timed out after {timeout:g} s: {error.command}"
    assert error.__cause__ is None
    assert recorder.pid == pid
    assert_group_gone(pid)


def test_timeout_expired_keeps_a_mebibyte_of_output(run: Runner, observed: bool, tmp_path: Path) -> None:
    written = tmp_path / "written"
    code = (
        "import pathlib, sys, time\nsys.stdout.write('y' * 2**20)\nsys.stdout.flush()\n"
        "pathlib.Path(sys.argv[1]).touch()\ntime.sleep(100)\n"
    )
    for timeout in patient(1.0):
        with recording(enabled=observed), no_fd_leak(), pytest.raises(TimeoutExpired) as caught:
            run(py(code, str(written)), timeout=timeout)
        if written.exists():  # the child had written everything when the timeout fired
            break
    assert caught.value.stdout == "y" * 2**20
    assert caught.value.stderr == ""


def test_timeout_expired_without_capture_has_no_output(run: Runner) -> None:
    with recording(), pytest.raises(TimeoutExpired) as caught:
        run(shell("echo hidden; sleep 100"), timeout=0.3, output=RunOutputOptions(capture=False))
    assert caught.value.stdout is None
    assert caught.value.stderr is None


def test_a_command_that_finishes_in_time_is_not_affected(run: Runner) -> None:
    result = run(shell("echo quick"), timeout=30)
    assert result.ok
    assert result.stdout == "quick\n"


# --- killing the process tree --------------------------------------------------


def _time_out_a_tree(
    run: Runner, script: str, first_timeout: float, grace: float, *, observed: bool
) -> tuple[float, float, Recorder]:
    """Time out ``script``'s tree once it was up (``support.patient``): timeout, seconds, recorder."""
    for timeout in patient(first_timeout):
        with recording(enabled=observed) as recorder, no_fd_leak():
            started = time.monotonic()
            with pytest.raises(TimeoutExpired) as caught:
                run(shell(script), timeout=timeout, context=ExecutionContext(cancel_grace=grace))
            elapsed = time.monotonic() - started
            if caught.value.stdout:  # the tree (and any trap) was up when the timeout fired
                recorder.adopt(reported_pid(caught.value.stdout))
        if caught.value.stdout:
            break
    return timeout, elapsed, recorder


def test_timeout_kills_the_process_tree_promptly(run: Runner, observed: bool) -> None:
    grace = 0.5
    timeout, elapsed, recorder = _time_out_a_tree(run, SLEEPER_TREE, 0.5, grace, observed=observed)
    assert elapsed >= timeout * 0.9
    assert elapsed < timeout + grace + SLACK
    assert_group_gone(recorder.pid)
    if observed:
        assert recorder.own_group == [True]
        assert recorder.phases == [ExecPhase.PLAN, ExecPhase.START, ExecPhase.TIMEOUT, ExecPhase.EXIT]
        assert recorder.exit_code() == -signal.SIGTERM


def test_a_tree_ignoring_sigterm_is_killed_after_the_grace(run: Runner, observed: bool) -> None:
    grace = 0.4
    timeout, elapsed, recorder = _time_out_a_tree(run, STUBBORN_TREE, 0.3, grace, observed=observed)
    assert elapsed >= (timeout + grace) * 0.9  # SIGKILL only once the grace ran out
    assert elapsed < timeout + grace + SLACK
    assert_group_gone(recorder.pid)
    if observed:
        assert recorder.exit_code() == -signal.SIGKILL


def test_a_grandchild_ignoring_sigterm_is_killed_once_the_leader_exits(run: Runner, observed: bool) -> None:
    grace = 5.0
    timeout, elapsed, recorder = _time_out_a_tree(run, STUBBORN_GRANDCHILD, 0.3, grace, observed=observed)
    # The grace is only ever spent waiting for the leader, which died at once,
    # even though the grandchild still held the output pipes at that moment.
    assert elapsed < timeout + SLACK
    assert_group_gone(recorder.pid)
    if observed:
        assert recorder.exit_code() == -signal.SIGTERM


def test_zero_grace_kills_at_once(run: Runner) -> None:
    timeout = 0.3
    with recording() as recorder:
        started = time.monotonic()
        with pytest.raises(TimeoutExpired):
            run(shell(STUBBORN_TREE), timeout=timeout, context=ExecutionContext(cancel_grace=0))
        elapsed = time.monotonic() - started
    assert elapsed < timeout + SLACK
    assert recorder.exit_code() == -signal.SIGKILL
    assert_group_gone(recorder.pid)


ESCAPEE = """
import os, sys, time
child = os.fork()
if child == 0:
    os.setsid()  # leaves the process group, keeping the output pipes
    time.sleep(100)
    os._exit(0)
while os.getsid(child) != child:  # tell its pid only once it has left
    time.sleep(0.001)
print(child, flush=True)
time.sleep(100)
"""


@contextlib.contextmanager
def escapees() -> Generator[list[int]]:
    """Collect the pids of processes that left their group; kill them afterwards."""
    pids: list[int] = []
    try:
        yield pids
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_a_process_that_left_the_group_cannot_hold_the_run_open(run: Runner, observed: bool) -> None:
    grace = 0.2
    with escapees() as escaped, recording(enabled=observed):
        for timeout in patient(0.3):
            started = time.monotonic()
            with pytest.raises(TimeoutExpired) as caught:
                run(py(ESCAPEE), timeout=timeout, context=ExecutionContext(cancel_grace=grace))
            elapsed = time.monotonic() - started
            if caught.value.stdout:  # it had escaped when the timeout fired
                escaped.append(reported_pid(caught.value.stdout))
                break
        # The grace, then at most one more grace (or 0.1 s) draining the pipes.
        assert elapsed < timeout + 2 * grace + SLACK
        assert process_exists(escaped[0])  # it really did escape


def test_a_process_that_left_the_group_leaves_no_descriptor_open(observed: bool) -> None:
    async def scenario(escaped: list[int]) -> set[int]:
        before = open_fds()
        for timeout in patient(0.3):
            with pytest.raises(TimeoutExpired) as caught:
                await py(ESCAPEE).run(timeout=timeout, context=ExecutionContext(cancel_grace=0.1))
            if caught.value.stdout:  # it had escaped when the timeout fired
                break
        escaped.append(reported_pid(caught.value.stdout))
        for _ in range(50):  # the loop is still running: closing may be scheduled on it
            if not open_fds() - before:
                break
            await asyncio.sleep(0.01)
        return open_fds() - before

    with escapees() as escaped, recording(enabled=observed):
        leaked = asyncio.run(scenario(escaped))
        assert leaked == set(), f"descriptors left open: {leaked}"


# --- cancellation --------------------------------------------------------------


async def cancel_once_started(
    cmd: SafeCmd,
    recorder: Recorder,
    pidfile: Path,
    context: ExecutionContext | None = None,
    ready: str | None = None,
) -> float:
    """Start ``cmd`` and cancel it once it has written its pid to ``pidfile``.

    With ``ready``, also wait for that stdout line (observed runs only).
    Returns the seconds from the cancellation until ``CancelledError``.
    """
    task = asyncio.create_task(cmd.run(context=context))
    await until(lambda: read_pid(pidfile) is not None, "the child wrote its pid")
    if ready is not None:
        await until(lambda: ready in recorder.stdout_lines(), f"the child wrote {ready!r}")
    pid = read_pid(pidfile)
    assert pid is not None
    recorder.adopt(pid)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    elapsed = time.monotonic() - started
    # By the time CancelledError reaches the caller, the leader is reaped.
    assert not process_exists(recorder.pid), "CancelledError arrived before the reap"
    return elapsed


def writing_pid(script: str, pidfile: Path) -> SafeCmd:
    """``script`` with ``echo "$$"`` redirected to ``pidfile`` (written once, whole)."""
    target = shlex.quote(str(pidfile))
    return shell(script.replace('echo "$$"', f'echo "$$" > {target}.new && mv {target}.new {target}'))


def test_cancellation_terminates_and_reaps_the_group(observed: bool, tmp_path: Path) -> None:
    cmd = writing_pid(SLEEPER_TREE, tmp_path / "pid")
    with recording(enabled=observed) as recorder, no_fd_leak():
        elapsed = asyncio.run(cancel_once_started(cmd, recorder, tmp_path / "pid"))
    assert elapsed < SLACK
    assert_group_gone(recorder.pid)
    if observed:
        assert recorder.phases == [ExecPhase.PLAN, ExecPhase.START, ExecPhase.CANCEL, ExecPhase.EXIT]
        assert recorder.exit_code() == -signal.SIGTERM


def test_cancellation_kills_a_tree_ignoring_sigterm_after_the_grace(observed: bool, tmp_path: Path) -> None:
    grace = 0.3
    context = ExecutionContext(cancel_grace=grace)
    cmd = writing_pid(STUBBORN_TREE, tmp_path / "pid")
    with recording(enabled=observed) as recorder, no_fd_leak():
        elapsed = asyncio.run(cancel_once_started(cmd, recorder, tmp_path / "pid", context))
    assert elapsed >= grace * 0.9
    assert elapsed < grace + SLACK
    assert_group_gone(recorder.pid)
    if observed:
        assert recorder.exit_code() == -signal.SIGKILL


def test_cancellation_reaches_a_stubborn_grandchild(observed: bool, tmp_path: Path) -> None:
    cmd = writing_pid(STUBBORN_GRANDCHILD, tmp_path / "pid")
    with recording(enabled=observed) as recorder, no_fd_leak():
        asyncio.run(cancel_once_started(cmd, recorder, tmp_path / "pid"))
    assert_group_gone(recorder.pid)


def test_an_outer_timeout_is_a_cancellation_not_a_timeout_expired() -> None:
    async def bounded() -> None:
        await asyncio.wait_for(shell(SLEEPER_TREE).run(), timeout=0.3)

    with recording() as recorder, no_fd_leak():
        with pytest.raises(TimeoutError) as caught:
            asyncio.run(bounded())
        assert not isinstance(caught.value, TimeoutExpired)
    assert_group_gone(recorder.pid)
    assert ExecPhase.CANCEL in recorder.phases
    assert ExecPhase.TIMEOUT not in recorder.phases


def test_cancellation_while_an_observer_handles_start_still_kills_the_group(tmp_path: Path) -> None:
    pids: list[int] = []
    marker = tmp_path / "sleeper-started"

    async def slow_observer(event: ExecEvent) -> None:
        if event.phase is ExecPhase.START and event.pid is not None:
            pids.append(event.pid)
            await asyncio.sleep(30)  # e.g. shipping the event somewhere slow

    async def cancel_in_observer() -> None:
        task = asyncio.create_task(shell(f"sleep 100 & : > {shlex.quote(str(marker))}; wait").run())
        # Cancel once the whole tree is up (the observer is still busy with 'start').
        await until(lambda: bool(pids) and marker.exists(), "the sleeper started")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        with cuprum.observe(slow_observer), no_fd_leak():
            asyncio.run(cancel_in_observer())
        assert pids
        assert_group_gone(pids[0])
    finally:
        for pid in pids:
            kill_group_quietly(pid)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


PARTIAL_CHARACTER = (
    "import os, sys, time\n"
    "sys.stdout.buffer.write(b'ready\\nab\\xe2\\x82')\n"
    "sys.stdout.flush()\n"
    "with open(sys.argv[1] + '.new', 'w') as pidfile:\n"
    "    pidfile.write(f'{os.getpid()}\\n')\n"
    "os.rename(sys.argv[1] + '.new', sys.argv[1])\n"
    "time.sleep(100)\n"
)
"""Writes a line and an unfinished character, then its pid to ``argv[1]``, then waits."""


def test_strict_decoding_still_reports_a_timeout(tmp_path: Path) -> None:
    context = ExecutionContext(errors="strict")
    for timeout in patient(0.5):
        pidfile = tmp_path / f"pid-{timeout}"
        with recording() as recorder, pytest.raises(TimeoutExpired) as caught:
            py(PARTIAL_CHARACTER, str(pidfile)).run_sync(timeout=timeout, context=context)
        if read_pid(pidfile) is not None:  # it had written everything when the timeout fired
            break
    # The unfinished character is the kill's doing, not the program's.
    assert caught.value.stdout == "ready\nab\ufffd"
    assert_group_gone(recorder.pid)


def test_strict_decoding_never_swallows_a_cancellation(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    cmd = py(PARTIAL_CHARACTER, str(pidfile))
    context = ExecutionContext(errors="strict")
    with recording() as recorder:
        asyncio.run(cancel_once_started(cmd, recorder, pidfile, context, ready="ready"))
    assert_group_gone(recorder.pid)


# --- precedence ----------------------------------------------------------------

SHORT = 0.2
"""A timeout that fires long before ``NAP`` ends."""
NAP = "0.5"
"""How long the command sleeps: it outlasts ``SHORT`` by far, and is quick to wait out."""


@pytest.mark.parametrize(
    ("explicit", "in_context", "scopes", "expected"),
    [
        pytest.param(SHORT, 30.0, (20.0,), SHORT, id="explicit-beats-context-and-scope"),
        pytest.param(30.0, 0.1, (0.1,), None, id="longer-explicit-beats-shorter-context"),
        pytest.param(math.inf, 0.1, (), None, id="explicit-inf-lifts-the-context-limit"),
        pytest.param(SHORT, math.inf, (), SHORT, id="explicit-beats-context-inf"),
        pytest.param(None, SHORT, (30.0,), SHORT, id="context-beats-scope"),
        pytest.param(None, 30.0, (0.1,), None, id="longer-context-beats-shorter-scope"),
        pytest.param(None, math.inf, (0.1,), None, id="context-inf-lifts-the-scope-limit"),
        pytest.param(None, None, (SHORT,), SHORT, id="scope-default-applies"),
        pytest.param(None, None, (30.0, SHORT), SHORT, id="inner-scope-beats-outer"),
        pytest.param(None, None, (0.1, 30.0), None, id="longer-inner-scope-beats-outer"),
        pytest.param(None, None, (0.1, math.inf), None, id="inner-scope-inf-lifts-the-limit"),
        pytest.param(None, None, (SHORT, None), SHORT, id="scope-without-timeout-inherits"),
        pytest.param(None, None, (), None, id="no-limit-by-default"),
    ],
)
def test_timeout_precedence(
    run: Runner,
    explicit: float | None,
    in_context: float | None,
    scopes: tuple[float | None, ...],
    expected: float | None,
) -> None:
    cmd = sh.make(SLEEP)(NAP)
    context = ExecutionContext(timeout=in_context)
    with contextlib.ExitStack() as stack:
        for timeout in scopes:
            stack.enter_context(cuprum.scoped(ScopeConfig(timeout=timeout)))
        if expected is None:
            assert run(cmd, timeout=explicit, context=context).ok
        else:
            with pytest.raises(TimeoutExpired) as caught:
                run(cmd, timeout=explicit, context=context)
            assert caught.value.timeout == expected


def test_a_scoped_timeout_ends_with_its_scope(run: Runner) -> None:
    with cuprum.scoped(ScopeConfig(timeout=0.1)):
        pass
    assert run(sh.make(SLEEP)(NAP)).ok


def test_an_integer_timeout_is_reported_as_seconds(run: Runner) -> None:
    with recording(), pytest.raises(TimeoutExpired) as caught:
        run(shell(SLEEPER_TREE), timeout=1)
    assert caught.value.timeout == 1.0
    assert "after 1 s" in str(caught.value)


# --- invalid timeouts ----------------------------------------------------------

INVALID_TIMEOUTS = [
    pytest.param(math.nan, ValueError, id="nan"),
    pytest.param(True, TypeError, id="true"),
    pytest.param(False, TypeError, id="false"),
    pytest.param("1", TypeError, id="str"),
    pytest.param([1], TypeError, id="list"),
]


@pytest.mark.parametrize(("timeout", "error"), INVALID_TIMEOUTS)
def test_an_invalid_timeout_is_refused_before_anything_starts(
    run: Runner, tmp_path: Path, timeout: object, error: type[Exception]
) -> None:
    marker = tmp_path / "started"
    called: list[SafeCmd] = []
    with recording() as recorder, cuprum.before(called.append), pytest.raises(error, match="timeout"):
        run(shell(f"touch {shlex.quote(str(marker))}"), timeout=cast("float", timeout))
    assert recorder.events == []
    assert called == []
    assert not marker.exists()


EXPIRED_TIMEOUTS = [
    pytest.param(0, id="zero"),
    pytest.param(0.0, id="zero-float"),
    pytest.param(-1, id="negative"),
    pytest.param(-math.inf, id="minus-inf"),
]


@pytest.mark.parametrize("timeout", EXPIRED_TIMEOUTS)
def test_an_expired_timeout_starts_nothing_and_raises_timeout_expired(
    run: Runner, tmp_path: Path, timeout: float
) -> None:
    # As subprocess: a timeout of zero or less has already expired.
    marker = tmp_path / "started"
    called: list[SafeCmd] = []
    cmd = shell(f"touch {shlex.quote(str(marker))}")
    with recording() as recorder, cuprum.before(called.append), pytest.raises(TimeoutExpired) as caught:
        run(cmd, timeout=timeout)
    assert isinstance(caught.value, subprocess.TimeoutExpired)
    assert (caught.value.cmd, caught.value.timeout, caught.value.output, caught.value.stderr) == (
        cmd.argv,
        timeout,
        None,
        None,
    )
    assert [event.phase for event in recorder.events] == [ExecPhase.PLAN, ExecPhase.TIMEOUT, ExecPhase.EXIT]
    assert recorder.events[-1].outcome is ExecOutcome.TIMED_OUT
    assert called == []
    assert not marker.exists()


@pytest.mark.parametrize("timeout", EXPIRED_TIMEOUTS)
def test_an_expired_timeout_is_accepted_by_contexts_and_scopes(timeout: float) -> None:
    assert ExecutionContext(timeout=timeout).timeout == timeout
    assert ScopeConfig(timeout=timeout).timeout == timeout


@pytest.mark.parametrize(("timeout", "error"), INVALID_TIMEOUTS)
def test_an_invalid_context_timeout_is_refused_when_made(timeout: object, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"ExecutionContext\.timeout"):
        ExecutionContext(timeout=cast("float", timeout))


@pytest.mark.parametrize(("timeout", "error"), INVALID_TIMEOUTS)
def test_an_invalid_scope_timeout_is_refused_when_made(timeout: object, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"ScopeConfig\.timeout"):
        ScopeConfig(timeout=cast("float", timeout))


@pytest.mark.parametrize(
    ("grace", "error"),
    [
        pytest.param(-0.1, ValueError, id="negative"),
        pytest.param(math.inf, ValueError, id="inf"),
        pytest.param(math.nan, ValueError, id="nan"),
        pytest.param(True, TypeError, id="bool"),
        pytest.param("1", TypeError, id="str"),
    ],
)
def test_an_invalid_cancel_grace_is_refused(grace: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="cancel_grace"):
        ExecutionContext(cancel_grace=cast("float", grace))
