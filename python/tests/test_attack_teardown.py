"""Adversarial review, round 2: runs that hang, and runs cut short that leave something behind.

Promises: "the deadline bounds the process, whatever the observers do";
"observers watch, they never steer"; "any cancel at any moment must take
the whole group down"; "no survivor, no zombie, no descriptor leak, the
loop still works". Each test is a minimal reproducer expected to FAIL on
the engine as reviewed, and is bounded in time (a hang fails, it does not
block the suite). Run under both backends (``CUPRUM_STREAM_BACKEND``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import os
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support import group_alive, kill_group_quietly, open_fds, py, shell, wait_until, warm_run_sync

from cuprum import (
    CAT,
    DEVNULL,
    ECHO,
    PIPE,
    SLEEP,
    ExecEvent,
    ExecPhase,
    ExecutionContext,
    RunOutputOptions,
    TimeoutExpired,
    after,
    observe,
    sh,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


@pytest.fixture
def started() -> Iterator[list[int]]:
    """The pids of every process started while observed; their groups are killed afterwards."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        kill_group_quietly(pid)


def _record_starts(pids: list[int]) -> Callable[[ExecEvent], None]:
    def hook(event: ExecEvent) -> None:
        if event.phase is ExecPhase.START and event.pid:
            pids.append(event.pid)

    return hook


def _child_zombies() -> list[int]:
    zombies: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == os.getpid() and fields[0] == "Z":
                zombies.append(int(entry.name))
    return zombies


def test_a_timeout_is_kept_when_an_async_observer_is_busy_with_the_last_line() -> None:
    """A slow ``async`` observer handling the final line (no ``\\n``) when the
    deadline fires: ``PipeReader.stop()`` and the cancelled ``_finish_after``
    both report the stream's end, ``_open_streams`` drops to -1 and
    ``wait_finished`` never returns. ``timeout=0.5`` hangs forever."""

    async def slow(event: ExecEvent) -> None:
        if event.phase is ExecPhase.STDOUT:
            await asyncio.sleep(3)

    async def main() -> str:
        with observe(slow):
            try:
                async with asyncio.timeout(8):
                    await py("import sys; sys.stdout.write('no newline')").run(timeout=0.5)
            except TimeoutExpired:
                return "timeout expired"
            except TimeoutError:
                return "hang"
        return "completed"

    assert asyncio.run(main()) == "timeout expired"


def test_an_async_observer_raising_cancelled_error_does_not_hang_the_run() -> None:
    """An ``async`` observer that raises ``CancelledError`` on a line (its own
    await was cancelled, say): ``_resume_after`` returns without resuming or
    ending the reader, so a run of a process that exits at once never
    ends (or ends in ``TimeoutExpired`` when it has a timeout)."""

    async def broken(event: ExecEvent) -> None:
        if event.phase is ExecPhase.STDOUT:
            raise asyncio.CancelledError

    async def main() -> str:
        with observe(broken):
            try:
                async with asyncio.timeout(3):
                    result = await py("print('a'); print('b')").run()
            except TimeoutError:
                return "hang"
        return result.stdout or ""

    assert asyncio.run(main()) == "a\nb\n"


@pytest.mark.parametrize("kind", [KeyboardInterrupt, SystemExit])
def test_run_sync_tears_down_when_a_base_exception_escapes_the_loop(
    kind: type[BaseException], started: list[int]
) -> None:
    """A ``KeyboardInterrupt``/``SystemExit`` raised in a loop callback (here a
    sync observer; equally a custom SIGINT handler) propagates out of
    ``run_until_complete``; ``run_sync`` leaves the run's task pending and the
    process group running (``asyncio.run`` cancels and tears down)."""

    def hook(event: ExecEvent) -> None:
        if event.phase is ExecPhase.START and event.pid:
            started.append(event.pid)
        if event.phase is ExecPhase.STDOUT:
            raise kind

    with observe(hook), pytest.raises(kind):
        shell("echo hi; exec sleep 30").run_sync()
    assert started
    gone = wait_until(lambda: not any(group_alive(pid) for pid in started), timeout=5)
    assert gone, "the group survived run_sync()"


def test_run_sync_tears_down_on_ctrl_c_with_a_custom_sigint_handler(started: list[int]) -> None:
    """Ctrl-C while the application has its own SIGINT handler that raises
    ``KeyboardInterrupt`` (common in CLIs): the run's group survives."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals need the main thread")

    def handler(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    def interrupt_once_started() -> None:
        wait_until(lambda: bool(started))
        os.kill(os.getpid(), signal.SIGINT)

    previous = signal.signal(signal.SIGINT, handler)
    interrupter = threading.Thread(target=interrupt_once_started)
    try:
        interrupter.start()
        with observe(_record_starts(started)), pytest.raises(KeyboardInterrupt):
            shell("exec sleep 30").run_sync()
    finally:
        interrupter.join()
        signal.signal(signal.SIGINT, previous)
    assert started
    gone = wait_until(lambda: not any(group_alive(pid) for pid in started), timeout=5)
    assert gone, "the group survived Ctrl-C"


def test_a_cancellation_is_prompt_while_a_substitution_outlives_its_consumer() -> None:
    """``echo <(sleep 8)``: the consumer exits at once; ``wait()`` then awaits
    the substituted run inside ``run_to_completion``, which defers the
    caller's cancellation until ``sleep`` ends by itself."""

    async def main() -> float:
        task = asyncio.ensure_future(sh.make(ECHO)(sh.make(SLEEP)(8)).run())
        await asyncio.sleep(0.5)
        begun = time.monotonic()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return time.monotonic() - begun

    assert asyncio.run(main()) < 2.0


def test_concurrent_waits_report_the_run_once() -> None:
    """Two tasks awaiting ``proc.wait()`` (a progress task and the main one):
    two ``exit`` events per process, the after hooks run twice, and two
    different result objects."""
    phases: list[str] = []
    hooks: list[int] = []

    async def main() -> None:
        with (
            observe(lambda event: phases.append(event.phase.value)),
            after(lambda _cmd, result: hooks.append(result.exit_code)),
        ):
            async with shell("sleep 0.2; echo hi").start() as proc:
                await asyncio.gather(proc.wait(), proc.wait())

    asyncio.run(main())
    assert (phases.count("exit"), len(hooks)) == (1, 1)


def test_concurrent_stdin_writes_do_not_hang() -> None:
    """Two tasks writing to ``proc.stdin`` while the pipe is full: the second
    ``_writable`` overwrites the first's future, and the first writer waits
    forever."""

    async def main() -> int:
        output = RunOutputOptions(stdout=DEVNULL)
        async with shell("sleep 0.3; exec cat").start(stdin=PIPE, output=output) as proc:
            payload = b"x" * (4 << 20)
            writers = {asyncio.ensure_future(proc.stdin.write(payload)) for _ in range(2)}
            _, pending = await asyncio.wait(writers, timeout=5)
            for writer in pending:
                writer.cancel()
            await proc.stdin.close()
            await proc.wait()
            return len(pending)

    assert asyncio.run(main()) == 0, "a stdin writer hung"


def test_a_fifo_redirect_target_does_not_freeze_the_event_loop() -> None:
    """``stdout=Path(fifo)``: ``os.open(O_WRONLY)`` blocks in the parent, inside
    the synchronous spawn, until a reader appears: every task of the loop
    stalls and no timeout or cancellation can fire."""
    directory = tempfile.mkdtemp()
    fifo = Path(directory) / "fifo"
    os.mkfifo(fifo)

    def reader_arrives_late() -> None:
        time.sleep(2.5)
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        time.sleep(0.5)
        os.close(fd)

    helper = threading.Thread(target=reader_arrives_late, daemon=True)
    helper.start()

    async def main() -> float:
        stamps: list[float] = []

        async def tick() -> None:
            while True:
                stamps.append(time.monotonic())
                await asyncio.sleep(0.05)

        ticker = asyncio.ensure_future(tick())
        await asyncio.sleep(0.2)
        with contextlib.suppress(Exception):
            await sh.make(ECHO)("x").run(output=RunOutputOptions(stdout=fifo), timeout=0.5)
        ticker.cancel()
        return max(later - earlier for earlier, later in itertools.pairwise(stamps))

    try:
        stall = asyncio.run(main())
    finally:
        helper.join()
        fifo.unlink()
        Path(directory).rmdir()
    assert stall < 0.5, f"the event loop stalled for {stall:.2f} s"


def test_pass_fds_that_name_cuprums_own_pipes_are_refused() -> None:
    """``pass_fds`` is never checked: a number free when the context was made
    (or one the caller closed since) is reused by Cuprum for its own pipes,
    and the child inherits the parent's ends, here the write end of its own
    stdin, so ``cat`` never sees EOF."""

    async def main() -> str:
        probe = [os.pipe() for _ in range(3)]  # the numbers Cuprum's pipes will get
        numbers = sorted(fd for pair in probe for fd in pair)
        for read_end, write_end in probe:
            os.close(read_end)
            os.close(write_end)
        context = ExecutionContext(pass_fds=tuple(numbers))
        try:
            async with asyncio.timeout(5):
                async with sh.make(CAT)().start(stdin=PIPE, context=context) as proc:
                    await proc.stdin.write(b"hello\n")
                    await proc.stdin.close()
                    await proc.wait()
        except TimeoutError:
            return "hang"
        except (OSError, ValueError):
            return "refused"
        return "ran"

    assert asyncio.run(main()) == "refused"


def test_a_closed_pass_fd_is_refused_before_any_event() -> None:
    """A closed descriptor in ``pass_fds`` fails only at spawn, after the
    ``plan`` events and the before hooks (plan.py: every validation error is
    raised before any event)."""
    phases: list[str] = []
    closed = max(open_fds()) + 100
    with observe(lambda event: phases.append(event.phase.value)), pytest.raises(OSError, match="pass_fds"):
        sh.make(ECHO)("x").run_sync(context=ExecutionContext(pass_fds=(closed,)))
    assert phases == []


def test_a_loop_closed_under_a_run_leaves_no_zombie_and_no_pidfd(started: list[int]) -> None:
    """Issue 18.5's misuse (a loop closed with a run going): the children are
    never reaped (zombies for the life of the process) and their pidfds stay
    open."""
    warm_run_sync()
    before = open_fds()
    loop = asyncio.new_event_loop()
    with observe(_record_starts(started)):
        task = loop.create_task((shell("sleep 0.5") | sh.make(CAT)()).run())

    async def both_started() -> None:
        for _ in range(1000):  # a generous 10 s
            if len(started) == 2:
                return
            await asyncio.sleep(0.01)

    loop.run_until_complete(both_started())
    loop.close()
    del task, loop

    def leftovers() -> tuple[list[int], list[int]]:
        gc.collect()
        pidfds = [fd for fd in open_fds() - before if "pidfd" in _link(fd)]
        return [pid for pid in _child_zombies() if pid in started], pidfds

    # The sleep ends by itself (cat may never see EOF); allow its reaping a generous while.
    assert wait_until(lambda: not all(group_alive(pid) for pid in started), timeout=10)
    wait_until(lambda: leftovers() == ([], []), timeout=5)
    zombies, pidfds = leftovers()
    for pid in zombies:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    for fd in pidfds:
        os.close(fd)
    assert (zombies, pidfds) == ([], [])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_run_sync_in_a_forked_child_does_not_reuse_the_parents_loop() -> None:
    """After ``fork``, ``run_sync`` in the child reuses the parent's per-thread
    loop object: the same epoll instance and self-pipe as the parent, so
    each process's registrations and wake-ups reach the other."""
    sh.make(ECHO)("warm").run_sync()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        from cuprum.engine import sync  # noqa: PLC0415

        local = sync._local  # pyright: ignore[reportPrivateUsage]
        before = id(local.holder.loop) if local.holder else 0
        sh.make(ECHO)("child").run_sync()
        after_run = id(local.holder.loop) if local.holder else 0
        os.write(write_end, b"same" if before == after_run else b"new")
        os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 16)
    os.close(read_end)
    os.waitpid(pid, 0)
    assert answer == b"new", "the forked child ran on the parent's event loop"


def test_running_out_of_descriptors_while_opening_a_hop_leaks_nothing() -> None:
    """``stdio.build`` opens a hop's two pipes before recording either: when
    the second ``sized_pipe`` fails (``EMFILE``), the first pipe is never
    closed. Each failed run under descriptor pressure leaks more of what
    is already short."""
    import resource  # noqa: PLC0415

    warm_run_sync()
    pipeline = shell("echo a") | sh.make(CAT)()
    pipeline.run_sync()  # warm every lazy descriptor (loop, runtime, caches)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    filler: list[int] = []
    top = max(open_fds())
    while (fd := os.open(os.devnull, os.O_RDONLY)) < top:
        filler.append(fd)
    os.close(fd)
    before = open_fds()
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (top + 1 + 2, hard))  # room for one pipe only
        with contextlib.suppress(OSError):
            pipeline.run_sync()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        for fd in filler:
            os.close(fd)
    leaked = open_fds() - before - set(filler)
    assert not leaked, {fd: _link(fd) for fd in leaked}


def test_a_second_wait_reports_what_the_first_did() -> None:
    """``wait()`` again after it raised: after ``CommandFailed`` (``check=True``)
    it *returns* the failed result, silently; after ``TimeoutExpired`` it
    raises ``LiveProcessError`` ("only usable inside ``async with``") from
    inside the block."""
    from cuprum import FALSE, CommandFailed  # noqa: PLC0415

    async def main() -> list[str]:
        seen: list[str] = []
        async with sh.make(FALSE)().start(check=True) as proc:
            for _ in range(2):
                try:
                    await proc.wait()
                    seen.append("returned")
                except CommandFailed:
                    seen.append("CommandFailed")
        async with shell("sleep 5").start(timeout=0.2) as proc:
            for _ in range(2):
                try:
                    await proc.wait()
                    seen.append("returned")
                except Exception as error:  # noqa: BLE001
                    seen.append(type(error).__name__)
        return seen

    assert asyncio.run(main()) == ["CommandFailed"] * 2 + ["TimeoutExpired"] * 2


def _link(fd: int) -> str:
    """What descriptor ``fd`` refers to (``pipe:[...]``, ``anon_inode:[pidfd]``...)."""
    try:
        return str(Path(f"/proc/self/fd/{fd}").readlink())
    except OSError:
        return "closed"
