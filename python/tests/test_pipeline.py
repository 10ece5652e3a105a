"""Tests for pipelines: composition, results, the failure policy, early close and tear-down.

Every test runs under the stream backend the test target selects through
``CUPRUM_STREAM_BACKEND``; none of them names a backend, except the ones
about choosing it. Runs that could hang pass ``timeout=30``, so a hang fails
instead of stalling the suite.
"""

# support.patient() always yields: what its loops bind is bound.
# pyright: reportPossiblyUnboundVariable=false

from __future__ import annotations

import asyncio
import contextlib
import io
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest
import support

from cuprum import (
    CAT,
    ECHO,
    HEAD,
    PRINTF,
    SEQ,
    SORT,
    TR,
    TRUE,
    WC,
    YES,
    ExecEvent,
    ExecPhase,
    ExecutionContext,
    ForbiddenProgramError,
    Pipeline,
    PipelineFailed,
    RunOutputOptions,
    SafeCmd,
    ScopeConfig,
    StdinInput,
    StreamBackend,
    TimeoutExpired,
    before,
    observe,
    resolve_stream_backend,
    scoped,
    sh,
    stream_backend,
)
from cuprum.engine import supervisor

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator

    from cuprum import PipelineResult

GIB: Final = 1024**3
MIB: Final = 1024**2
RUN_TIMEOUT: Final = 30.0
"""Every run that might hang gets this timeout: a hang fails, it never stalls."""
FAST: Final = 5.0
"""What "completes fast" means here; the runs it bounds take milliseconds."""

cat = sh.make(CAT)
echo = sh.make(ECHO)
head = sh.make(HEAD)
printf = sh.make(PRINTF)
seq = sh.make(SEQ)
sort = sh.make(SORT)
tr = sh.make(TR)
wc = sh.make(WC)
yes = sh.make(YES)


# --- helpers ---------------------------------------------------------------


def run(
    pipeline: Pipeline,
    *,
    stdin: StdinInput | None = None,
    output: RunOutputOptions | None = None,
    context: ExecutionContext | None = None,
    check: bool = False,
    timeout: float = RUN_TIMEOUT,
) -> PipelineResult:
    """Run ``pipeline`` in a fresh event loop, with a timeout so a hang fails."""
    return asyncio.run(
        pipeline.run(stdin=stdin, output=output, context=context, check=check, timeout=timeout)
    )


class Recorder:
    """A synchronous observe hook that keeps every event."""

    def __init__(self) -> None:
        self.events: list[ExecEvent] = []

    def __call__(self, event: ExecEvent) -> None:
        self.events.append(event)

    def phases(self, stage: int | None = None) -> list[ExecPhase]:
        """The phases seen, for one stage or for all."""
        return [e.phase for e in self.events if stage is None or e.stage == stage]

    def pids(self) -> dict[int, int]:
        """Each stage's pid, from its ``start`` event."""
        return {
            e.stage: e.pid
            for e in self.events
            if e.phase is ExecPhase.START and e.stage is not None and e.pid is not None
        }


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """Observe every event of the test, and kill any group a failing test left."""
    hook = Recorder()
    with observe(hook):
        yield hook
    for pid in hook.pids().values():
        support.kill_group_quietly(pid)


def assert_groups_gone(pids: dict[int, int] | list[int]) -> None:
    """Every stage's process group is gone (grandchildren included)."""
    values = list(pids.values()) if isinstance(pids, dict) else pids
    assert values, "no stage was started"
    for pid in values:
        # SIGKILL is delivered asynchronously: allow the kernel a moment.
        assert support.wait_until(lambda pid=pid: not support.group_alive(pid), timeout=5.0), (
            f"process group {pid} is still alive"
        )


def exited(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie awaiting its reaper counts)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in {"Z", "X"}


def vm_kib(field: str) -> int:
    """A ``/proc/self/status`` field in KiB (``VmRSS``, ``VmHWM``)."""
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    msg = f"no {field} in /proc/self/status"
    raise AssertionError(msg)


# --- composition -----------------------------------------------------------


def test_or_flattens_nested_pipelines() -> None:
    a, b, c, d = echo("a"), cat(), tr("a", "b"), wc("-c")
    left = a | b
    right = c | d
    combined = left | right
    assert isinstance(combined, Pipeline)
    assert combined.stages == (a, b, c, d)
    assert all(isinstance(stage, SafeCmd) for stage in combined.stages)
    assert ((a | b) | c).stages == (a | (b | c)).stages == (a, b, c)
    assert (a | right).stages == (a, c, d)
    assert (left | d).stages == (a, b, d)
    assert str(combined) == combined.shell_quoted == "echo a | cat | tr a b | wc -c"


def test_composition_leaves_its_operands_unchanged() -> None:
    left = echo("a") | cat()
    extended = left | wc("-c")
    assert len(left.stages) == 2
    assert len(extended.stages) == 3


def compose(left: object, right: object) -> object:
    """``left | right``, for operands the type checker would rightly refuse."""
    return left | right  # pyright: ignore[reportOperatorIssue, reportUnknownVariableType]


def test_or_rejects_what_is_not_a_command() -> None:
    with pytest.raises(TypeError):
        compose(echo("a"), "cat")
    with pytest.raises(TypeError):
        compose(echo("a") | cat(), ["cat"])


def test_pipeline_stages_must_be_commands() -> None:
    with pytest.raises(TypeError, match="not made by a builder"):
        Pipeline(("cat",))  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match="at least two stages"):
        Pipeline(())


def test_fewer_than_two_stages_is_refused_when_the_pipeline_is_made() -> None:
    with pytest.raises(ValueError, match="at least two stages, got 1"):
        Pipeline((echo("alone"),))
    with pytest.raises(ValueError, match="at least two stages, got 1"):
        Pipeline.of(echo("alone"))


# --- the result --------------------------------------------------------------


def test_stdout_is_the_final_stages_output() -> None:
    result = run(printf("b\\na\\nc\\n") | sort())
    assert result.stdout == "a\nb\nc\n"
    assert result.stages[-1].stdout == result.stdout
    assert result.stages[0].stdout is None
    assert result.ok
    assert result.failure_index is None
    assert result.exit_codes == (0, 0)


def test_each_stage_reports_its_exit_code_pid_and_stderr(recorder: Recorder) -> None:
    pipeline = (
        support.shell("echo one >&2; echo data")
        | support.shell("cat; echo two >&2")
        | support.shell("cat; echo three >&2; exit 0")
    )
    result = run(pipeline)
    assert result.ok
    assert result.stdout == "data\n"
    assert [stage.stderr for stage in result.stages] == ["one\n", "two\n", "three\n"]
    assert [stage.exit_code for stage in result.stages] == [0, 0, 0]
    assert [stage.argv for stage in result.stages] == [cmd.argv for cmd in pipeline.stages]
    assert [stage.program for stage in result.stages] == [cmd.program for cmd in pipeline.stages]
    pids = [stage.pid for stage in result.stages]
    assert all(pid > 0 for pid in pids)
    assert len(set(pids)) == 3
    assert recorder.pids() == dict(enumerate(pids))
    assert len({e.exec_id for e in recorder.events}) == 1, "a pipeline's stages share one exec_id"
    for index in range(3):
        phases = recorder.phases(index)
        assert phases[0] is ExecPhase.PLAN
        assert ExecPhase.START in phases
        assert phases[-1] is ExecPhase.EXIT


def test_hop_bytes_counts_exactly_what_each_hop_carried() -> None:
    # 300001 bytes leave stage 0; tr keeps the 150001 'a's; wc counts them.
    producer = support.py("import sys; sys.stdout.buffer.write(b'ab' * 150000 + b'a')")
    result = run(producer | tr("-d", "b") | wc("-c"))
    assert result.ok
    assert result.hop_bytes == (300001, 150001)
    assert result.stdout is not None
    assert int(result.stdout) == 150001


def test_hop_bytes_of_an_empty_stream_are_zero() -> None:
    result = run(support.shell(":") | cat() | cat())
    assert result.hop_bytes == (0, 0)
    assert result.stdout == ""


def test_exit_codes_lists_every_stage() -> None:
    result = run(echo("x") | support.shell("cat >/dev/null; exit 3"))
    assert result.exit_codes == (0, 3)
    assert result.exit_codes == tuple(stage.exit_code for stage in result.stages)
    assert not result.ok
    assert result.failure_index == 1


def test_without_capture_nothing_is_kept_but_hops_are_counted() -> None:
    result = run(seq(1, 1000) | cat(), output=RunOutputOptions(capture=False))
    assert result.ok
    assert result.stdout is None
    assert all(stage.stdout is None and stage.stderr is None for stage in result.stages)
    expected = sum(len(f"{n}\n") for n in range(1, 1001))
    assert result.hop_bytes == (expected,)


def test_echo_writes_the_final_output_to_the_sink() -> None:
    sink = io.StringIO()
    result = run(
        echo("hello") | tr("a-z", "A-Z"),
        output=RunOutputOptions(capture=True, echo=True),
        context=ExecutionContext(stdout_sink=sink, stderr_sink=io.StringIO()),
    )
    assert result.stdout == "HELLO\n"
    assert sink.getvalue() == "HELLO\n"


def test_run_sync_runs_a_pipeline() -> None:
    result = (echo("sync") | cat()).run_sync(timeout=RUN_TIMEOUT)
    assert result.stdout == "sync\n"


def test_run_sync_refuses_a_running_loop() -> None:
    async def nested() -> None:
        with pytest.raises(RuntimeError, match="cannot be called while an event loop is running"):
            (echo("x") | cat()).run_sync()

    asyncio.run(nested())


# --- stdin -----------------------------------------------------------------


def test_stdin_text_feeds_the_first_stage() -> None:
    result = run(cat() | tr("a-z", "A-Z"), stdin=StdinInput(text="hello, pipe\n"))
    assert result.stdout == "HELLO, PIPE\n"
    assert result.hop_bytes == (len("hello, pipe\n"),)


def test_stdin_bytes_feed_the_first_stage_exactly() -> None:
    data = bytes(range(256)) * 16384  # 4 MiB, every byte value
    digest = "import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())"
    result = run(cat() | cat() | support.py(digest), stdin=StdinInput(data=data))
    import hashlib  # noqa: PLC0415

    assert result.stdout == hashlib.sha256(data).hexdigest() + "\n"
    assert result.hop_bytes == (len(data), len(data))


def test_without_stdin_the_first_stage_reads_nothing() -> None:
    result = run(cat() | wc("-c"))
    assert result.stdout is not None
    assert int(result.stdout) == 0


# --- failure policy ----------------------------------------------------------


def test_failing_stage_is_blamed_and_its_output_kept() -> None:
    result = run(seq(1, 3) | support.shell("cat; exit 3"))
    assert result.failure_index == 1
    assert not result.ok
    assert result.stages[1].exit_code == 3
    assert result.stdout == "1\n2\n3\n"


def test_fail_fast_terminates_the_others_and_their_groups(recorder: Recorder) -> None:
    # Stage 0 would run for 30 s with a grandchild in its group; stage 1 fails
    # as soon as it has read the first line.
    pipeline = (
        support.shell("echo ready; sleep 30 & wait") | support.shell("read line; exit 5") | cat()
    ).with_policy(fail_fast=True)
    started = time.monotonic()
    with support.no_fd_leak():
        result = run(pipeline)
    elapsed = time.monotonic() - started
    assert elapsed < FAST, f"the running stages were not terminated ({elapsed:.1f} s)"
    assert result.failure_index == 1
    assert result.stages[1].exit_code == 5
    assert result.stages[0].exit_code == -signal.SIGTERM
    assert result.stages[2].exit_code in {0, -signal.SIGTERM}
    assert_groups_gone(recorder.pids())


def test_fail_fast_upstream_failure_terminates_the_downstream() -> None:
    result = run((support.shell("exit 6") | support.shell("sleep 30")).with_policy(fail_fast=True))
    assert result.failure_index == 0
    assert result.exit_codes == (6, -signal.SIGTERM)


def test_by_default_an_upstream_failure_leaves_the_downstream_to_finish() -> None:
    result = run(support.shell("echo partial; exit 6") | support.shell("cat; echo done"))
    assert result.exit_codes == (6, 0)
    assert result.failure_index == 0
    assert result.stdout == "partial\ndone\n"


def test_stage_that_exits_non_zero_when_terminated_is_not_blamed() -> None:
    # Stage 0 answers SIGTERM with status 9; stage 1 fails once stage 0 is ready.
    stage0 = support.shell("trap 'exit 9' TERM; echo ready; sleep 30 & wait")
    stage1 = support.shell("read line; exit 4")
    result = run((stage0 | stage1 | cat()).with_policy(fail_fast=True))
    assert result.exit_codes[:2] == (9, 4)
    assert result.failure_index == 1, "Cuprum terminated stage 0: it must not be blamed"


def test_stage_ignoring_sigterm_is_killed_after_the_grace(recorder: Recorder) -> None:
    stage0 = support.shell("trap '' TERM; echo ready; sleep 30")
    stage1 = support.shell("read line; exit 1")
    started = time.monotonic()
    result = run((stage0 | stage1).with_policy(fail_fast=True), context=ExecutionContext(cancel_grace=0.2))
    assert time.monotonic() - started < FAST
    assert result.failure_index == 1
    assert result.stages[0].exit_code == -signal.SIGKILL
    assert_groups_gone(recorder.pids())


def test_failure_index_is_the_rightmost_failure_as_pipefail_reports(tmp_path: Path) -> None:
    """Stage 1 fails first, stage 0 after it; both failed on their own: pipefail reports stage 1.

    Once data has flowed through every hop, a blocking observer holds the
    event loop while it lets stage 1 exit and then stage 0: Cuprum notices
    neither exit before both have happened, so it terminates neither.
    """
    flags = [tmp_path / "release-0", tmp_path / "release-1"]
    wait = [f"while [ ! -e '{flag}' ]; do sleep 0.01; done" for flag in flags]
    pipeline = (
        support.shell(f"echo go; {wait[0]}; exit 2")
        | support.shell(f'read line; echo "$line"; {wait[1]}; exit 3')
        | cat()
    )
    pids: dict[int, int] = {}
    held: list[bool] = []

    def hold(event: ExecEvent) -> None:
        if event.phase is ExecPhase.START and event.stage is not None and event.pid is not None:
            pids[event.stage] = event.pid
        if event.phase is ExecPhase.STDOUT and event.stage == 2 and event.line == "go":
            flags[1].touch()
            stage1_exited = support.wait_until(lambda: exited(pids[1]), timeout=10.0)
            flags[0].touch()
            stage0_exited = support.wait_until(lambda: exited(pids[0]), timeout=10.0)
            held.append(stage1_exited and stage0_exited)

    with observe(hold):
        result = run(pipeline)
    assert held == [True], "the observer did not see both stages exit while it held the loop"
    assert result.exit_codes[:2] == (2, 3)
    assert result.failure_index == 1
    assert result.exit_code == 3


def test_downstream_that_exits_before_its_hop_starts() -> None:
    """A consumer that is gone before the pump connects: its producer is forgiven.

    It happens by chance now and then with ``yes | true``; a blocking
    observer makes it certain by holding the loop until ``true`` has exited.
    """

    def hold(event: ExecEvent) -> None:
        if event.phase is ExecPhase.START and event.stage == 1 and event.pid is not None:
            pid = event.pid
            support.wait_until(lambda: exited(pid), timeout=10.0)

    with observe(hold), support.no_fd_leak():
        result = run(yes() | sh.make(TRUE)())
    assert result.ok
    assert result.exit_codes == (-signal.SIGPIPE, 0)
    assert result.hop_bytes == (0,)


@pytest.mark.parametrize(
    ("script", "status"),
    [("kill -PIPE $$", -signal.SIGPIPE), ("exit 141", 128 + signal.SIGPIPE)],
    ids=["killed-by-sigpipe", "shell-status-141"],
)
def test_sigpipe_is_blamed_when_the_downstream_was_still_reading(script: str, status: int) -> None:
    # The downstream keeps reading to the end: nothing closed the hop.
    result = run(support.shell(script) | support.shell("cat; echo done"))
    assert result.stages[0].exit_code == status
    assert result.failure_index == 0


def test_sigpipe_of_the_final_stage_is_blamed() -> None:
    result = run(echo("x") | support.shell("read line; kill -PIPE $$"))
    assert result.stages[1].exit_code == -signal.SIGPIPE
    assert result.failure_index == 1


def test_sigpipe_is_forgiven_when_the_downstream_closed_early() -> None:
    # A shell wrapper reports its child's SIGPIPE as status 141: forgiven as well.
    result = run(support.shell("yes; exit $?") | head("-n", "2"))
    assert result.exit_codes == (128 + signal.SIGPIPE, 0)
    assert result.ok
    assert result.stdout == "y\ny\n"


def test_consumer_failing_early_is_blamed_not_the_producer() -> None:
    result = run(yes() | support.shell("head -c 4; exit 3"))
    assert result.failure_index == 1
    assert result.stdout == "y\ny\n"
    assert result.stages[0].exit_code == -signal.SIGPIPE
    assert result.forgiven == (0,)


def test_check_raises_pipeline_failed_with_the_result() -> None:
    with pytest.raises(
        PipelineFailed, match=r"pipeline stage 1 \(sh -c 'read line; exit 7'\) exited with status 7"
    ) as caught:
        run(echo("x") | support.shell("read line; exit 7") | cat(), check=True)
    result = caught.value.result
    assert result.failure_index == 1
    assert result.stages[1].exit_code == 7


def test_check_passes_a_pipeline_that_succeeds_or_ends_early() -> None:
    assert run(echo("x") | cat(), check=True).stdout == "x\n"
    assert run(yes() | head("-n", "1"), check=True).stdout == "y\n"


def test_forbidden_stage_stops_the_run_before_anything_starts(recorder: Recorder) -> None:
    calls: list[SafeCmd] = []
    with (
        scoped(ScopeConfig(allowlist={CAT, ECHO})),
        before(calls.append),
        pytest.raises(ForbiddenProgramError),
    ):
        run(echo("x") | cat() | head("-n", "1"))
    assert calls == []
    assert ExecPhase.START not in recorder.phases()


# --- early close ---------------------------------------------------------------


def test_yes_into_head_ends_at_once_and_forgives_yes() -> None:
    started = time.monotonic()
    with support.no_fd_leak():
        result = run(yes() | head("-n", "1"))
    elapsed = time.monotonic() - started
    assert elapsed < FAST, f"yes | head -n 1 took {elapsed:.2f} s"
    assert result.ok
    assert result.failure_index is None
    assert result.stdout == "y\n"
    assert result.exit_codes == (-signal.SIGPIPE, 0)


def test_middle_stage_closing_early_ends_the_pipeline() -> None:
    result = run(yes() | head("-n", "3") | cat())
    assert result.ok
    assert result.stdout == "y\ny\ny\n"
    assert result.exit_codes == (-signal.SIGPIPE, 0, 0)


@pytest.mark.parametrize(
    "producer",
    [
        pytest.param(support.shell(f"head -c {GIB} /dev/zero"), id="via-shell"),
        pytest.param(head("-c", GIB, "/dev/zero"), id="direct"),
    ],
)
def test_gibibyte_producer_into_head_ends_at_once(producer: SafeCmd) -> None:
    started = time.monotonic()
    with support.no_fd_leak():
        result = run(producer | head("-c", "10"))
    elapsed = time.monotonic() - started
    assert elapsed < FAST, f"the producer was not stopped ({elapsed:.2f} s)"
    assert result.ok
    assert result.stdout == "\0" * 10
    assert result.stages[0].exit_code in {-signal.SIGPIPE, 128 + signal.SIGPIPE}
    assert result.hop_bytes[0] < GIB // 4, "the hop kept copying after head had closed"


# --- timeouts and cancellation --------------------------------------------------


def test_timeout_tears_every_stage_down(recorder: Recorder, tmp_path: Path) -> None:
    for timeout in support.patient(1.0):
        arrived = tmp_path / f"arrived-{timeout}"
        last = support.shell(f"IFS= read -r line; echo \"$line\"; : > '{arrived}'; cat; sleep 30")
        pipeline = support.shell("echo partial; sleep 30 & wait") | cat() | last
        started = time.monotonic()
        with support.no_fd_leak(), pytest.raises(TimeoutExpired) as caught:
            run(pipeline, timeout=timeout)
        elapsed = time.monotonic() - started
        if arrived.exists():  # the output had gone through every stage when the timeout fired
            break
    assert elapsed < timeout + 9.0, f"tear-down took {elapsed:.1f} s"
    error = caught.value
    assert isinstance(error, TimeoutError)
    assert error.timeout == timeout
    assert error.command == pipeline.shell_quoted
    assert error.stdout == "partial\n"
    pids = recorder.pids()
    assert sorted(pids) == [0, 1, 2]
    assert_groups_gone(pids)
    for index in range(3):
        phases = recorder.phases(index)
        assert ExecPhase.TIMEOUT in phases
        assert phases[-1] is ExecPhase.EXIT


def test_timeout_kills_stages_that_ignore_sigterm(recorder: Recorder) -> None:
    pipeline = support.shell("trap '' TERM; sleep 30") | support.shell("trap '' TERM; cat; sleep 30")
    with support.no_fd_leak(), pytest.raises(TimeoutExpired):
        run(pipeline, timeout=0.5, context=ExecutionContext(cancel_grace=0.2))
    assert_groups_gone(recorder.pids())


def test_timeout_while_data_is_backed_up(recorder: Recorder) -> None:
    # The middle stage never reads: yes fills the pipes and the pump must wait.
    pipeline = yes() | support.shell("sleep 30") | cat()
    with support.no_fd_leak(), pytest.raises(TimeoutExpired):
        run(pipeline, timeout=0.5)
    assert_groups_gone(recorder.pids())


def _cancel_once_started(pipeline: Pipeline, recorder: Recorder) -> None:
    async def scenario() -> None:
        everyone_started = asyncio.Event()
        count = len(pipeline.stages)

        def on_start(event: ExecEvent) -> None:
            if event.phase is ExecPhase.START and len(recorder.pids()) == count:
                everyone_started.set()

        with observe(on_start):
            task = asyncio.ensure_future(pipeline.run(timeout=RUN_TIMEOUT))
        await asyncio.wait_for(everyone_started.wait(), timeout=RUN_TIMEOUT)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    started = time.monotonic()
    with support.no_fd_leak():
        asyncio.run(scenario())
    assert time.monotonic() - started < 10.0


def test_cancellation_tears_every_stage_down(recorder: Recorder) -> None:
    pipeline = support.shell("sleep 30 & wait") | cat() | support.shell("cat; sleep 30")
    _cancel_once_started(pipeline, recorder)
    pids = recorder.pids()
    assert sorted(pids) == [0, 1, 2]
    assert_groups_gone(pids)
    for index in range(3):
        phases = recorder.phases(index)
        assert ExecPhase.CANCEL in phases
        assert phases[-1] is ExecPhase.EXIT


def test_cancellation_while_data_flows(recorder: Recorder) -> None:
    _cancel_once_started(yes() | cat() | cat() | wc("-c"), recorder)
    assert_groups_gone(recorder.pids())


def test_cancellation_while_stages_are_still_being_started(recorder: Recorder) -> None:
    """Cancelled while an async observer holds up the second stage's start."""

    async def scenario() -> None:
        stalled = asyncio.Event()

        async def stall(event: ExecEvent) -> None:
            if event.phase is ExecPhase.START and event.stage == 0:
                stalled.set()
                await asyncio.Event().wait()  # until cancelled

        with observe(stall):
            task = asyncio.ensure_future((support.shell("sleep 30") | cat() | cat()).run(timeout=RUN_TIMEOUT))
        await asyncio.wait_for(stalled.wait(), timeout=RUN_TIMEOUT)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    # No no_fd_leak() here: on Python >= 3.13 the first stage's stderr pipe
    # sometimes outlives the run (see the next test, which makes it certain).
    asyncio.run(scenario())
    pids = recorder.pids()
    assert list(pids) == [0]
    assert_groups_gone(pids)


ESCAPER: Final = """
import subprocess, sys, time
grandchild = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(60)"],
    start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
)  # keeps our stderr open, out of reach of our process group
with open(sys.argv[1], "w") as handle:
    handle.write(f"{grandchild.pid}\\n")
print("ready", flush=True)
time.sleep(60)
"""
"""A stage whose grandchild leaves the process group and keeps the stage's stderr open."""


def test_no_descriptor_outlives_a_torn_down_run(tmp_path: Path) -> None:
    """Cuprum's ends of every pipe close by the time run() returns, EOF or not.

    A grandchild that left the group holds the pipes open, so EOF never
    comes; the run must still close its own ends (and, on any Python, not
    wait for the grandchild).
    """
    pid_file = tmp_path / "grandchild.pid"
    try:
        with support.no_fd_leak(), pytest.raises(TimeoutExpired):
            run(support.py(ESCAPER, str(pid_file)) | cat(), timeout=1.0)
    finally:
        for pid in support.written_pids(pid_file):
            support.kill_group_quietly(pid)


def test_no_descriptor_leaks_across_many_runs() -> None:
    with support.no_fd_leak():
        for _ in range(20):
            assert run(echo("x") | cat() | cat()).stdout == "x\n"
            assert run(yes() | head("-n", "1")).ok
            assert run(echo("x") | support.shell("read line; exit 2")).failure_index == 1


# --- choosing the backend ---------------------------------------------------------


@pytest.fixture
def pumps_used(monkeypatch: pytest.MonkeyPatch) -> list[StreamBackend]:
    """Record the backend of every pump the runner asks for (and still use it)."""
    seen: list[StreamBackend] = []
    real = supervisor.pump_for

    def spy(backend: StreamBackend) -> object:
        seen.append(backend)
        return real(backend)

    monkeypatch.setattr(supervisor, "pump_for", spy)
    return seen


def test_runs_use_the_backend_the_environment_selects(pumps_used: list[StreamBackend]) -> None:
    assert run(echo("x") | cat()).stdout == "x\n"
    assert pumps_used == [resolve_stream_backend()]


def test_invalid_backend_is_refused_before_any_process_starts(
    monkeypatch: pytest.MonkeyPatch, recorder: Recorder
) -> None:
    calls: list[SafeCmd] = []
    monkeypatch.setenv(stream_backend.ENV_VAR, "bogus")
    with before(calls.append), pytest.raises(ValueError, match="'bogus' is not a stream backend"):
        run(echo("x") | cat())
    assert calls == []
    assert recorder.events == []


def test_backend_is_read_again_on_every_run(
    monkeypatch: pytest.MonkeyPatch, pumps_used: list[StreamBackend], selected_backend: str
) -> None:
    monkeypatch.setenv(stream_backend.ENV_VAR, "python")
    assert run(echo("one") | cat()).stdout == "one\n"
    monkeypatch.setenv(stream_backend.ENV_VAR, "not-a-backend")
    with pytest.raises(ValueError, match="not a stream backend"):
        run(echo("two") | cat())
    monkeypatch.setenv(stream_backend.ENV_VAR, selected_backend)
    assert run(echo("three") | cat()).stdout == "three\n"
    assert pumps_used == [StreamBackend.PYTHON, resolve_stream_backend(selected_backend)]


@pytest.fixture
def without_extension(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the Rust extension look impossible to import."""
    failure = ImportError("No module named 'cuprum._rust'", name="cuprum._rust")
    monkeypatch.setattr(stream_backend, "_load_extension", lambda: failure)


@pytest.mark.usefixtures("without_extension")
def test_rust_without_extension_fails_before_any_process_starts(
    monkeypatch: pytest.MonkeyPatch, recorder: Recorder
) -> None:
    calls: list[SafeCmd] = []
    monkeypatch.setenv(stream_backend.ENV_VAR, "rust")
    with before(calls.append), pytest.raises(ImportError, match="Rust stream backend is unavailable"):
        run(echo("x") | cat())
    assert calls == []
    assert ExecPhase.START not in recorder.phases()
    assert recorder.events == []


@pytest.mark.usefixtures("without_extension")
def test_auto_without_extension_runs_on_python(
    monkeypatch: pytest.MonkeyPatch, pumps_used: list[StreamBackend]
) -> None:
    monkeypatch.setenv(stream_backend.ENV_VAR, "auto")
    assert run(echo("x") | cat()).stdout == "x\n"
    assert pumps_used == [StreamBackend.PYTHON]


# --- memory ---------------------------------------------------------------------


class _PeakRss:
    """Sample this process's RSS from a thread while a block runs."""

    def __init__(self) -> None:
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak_kib = max(self.peak_kib, vm_kib("VmRSS"))

    @contextlib.contextmanager
    def watching(self) -> Generator[None]:
        self._thread.start()
        try:
            yield
        finally:
            self._stop.set()
            self._thread.join()
        self.peak_kib = max(self.peak_kib, vm_kib("VmRSS"))


def _reset_peak_rss() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux >= 4.0); report whether it worked."""
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_a_gibibyte_flows_through_in_bounded_memory() -> None:
    limit_kib = 64 * 1024
    # Warm up: imports, the pump's first buffers, the loop machinery.
    assert run(head("-c", 4 * MIB, "/dev/zero") | cat() | wc("-c")).stdout == f"{4 * MIB}\n"
    baseline = vm_kib("VmRSS")
    hwm_reset = _reset_peak_rss()
    sampler = _PeakRss()
    started = time.monotonic()
    with sampler.watching():
        result = run(head("-c", GIB, "/dev/zero") | cat() | wc("-c"))
    elapsed = time.monotonic() - started
    peak = max(sampler.peak_kib, vm_kib("VmHWM") if hwm_reset else 0)
    growth_kib = peak - baseline
    assert result.ok
    assert result.stdout == f"{GIB}\n"
    assert result.hop_bytes == (GIB, GIB)
    assert growth_kib < limit_kib, f"RSS grew by {growth_kib / 1024:.1f} MiB moving 1 GiB"
    assert elapsed < RUN_TIMEOUT
