"""Attacks on Cuprum's trust promises: each test tries to break one.

Forged commands, the child's ``PATH``, leaking scopes, secrets in every
channel, paths and remotes that escape, groups that survive a cancel or a
timeout, a poisoned event loop, and the smaller holes of issue 11.
"""

# support.patient() always yields: what its loops bind is bound.
# pyright: reportPossiblyUnboundVariable=false

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import dataclasses
import logging
import math
import os
import pickle
import random
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support import (
    group_alive,
    kill_group_quietly,
    no_fd_leak,
    patient,
    py,
    shell,
    wait_until,
    written_pids,
)

import cuprum
from cuprum import (
    CAT,
    ECHO,
    TRUE,
    CommandFailed,
    ConcurrentConfig,
    ExecEvent,
    ExecOutcome,
    ExecPhase,
    ExecutionContext,
    ForbiddenProgramError,
    ForgedCommandError,
    Pipeline,
    PipelineFailed,
    Program,
    ProjectSettings,
    Redactor,
    SafeCmd,
    ScopeConfig,
    ScopeLockedError,
    StdinInput,
    TimeoutExpired,
    after,
    allow,
    before,
    current_scope,
    env,
    observe,
    scoped,
    sh,
)
from cuprum.builders import GitRef, SafePath, git
from cuprum.builders.validators import InvalidPathError
from cuprum.observer import new_exec_id

if TYPE_CHECKING:
    from collections.abc import Iterator

SECRET = "hunter2-s3cr3t"  # noqa: S105 (a fake secret to hide)


@pytest.fixture(autouse=True)
def no_scope_leak() -> Iterator[None]:
    layers = current_scope().layers
    yield
    assert current_scope().layers == layers


def record() -> tuple[list[ExecEvent], cuprum.ScopeHandle]:
    events: list[ExecEvent] = []
    return events, observe(events.append)


# --- 1. forged commands ------------------------------------------------------


def test_a_command_cannot_be_constructed_by_hand() -> None:
    with pytest.raises(ForgedCommandError):
        SafeCmd(program=ECHO, argv=("sh", "-c", "id"))  # pyright: ignore[reportCallIssue]


def test_a_command_cannot_be_altered_or_replaced() -> None:
    cmd = sh.make(ECHO)("x")
    with pytest.raises(TypeError):
        dataclasses.replace(cmd, argv=("sh", "-c", "id"))  # pyright: ignore[reportArgumentType]
    with pytest.raises(AttributeError):
        cmd.argv = ("sh", "-c", "id")  # pyright: ignore[reportAttributeAccessIssue]
    with pytest.raises(AttributeError):
        object.__setattr__(cmd, "argv", ("sh", "-c", "id"))
    assert cmd.argv == ("echo", "x")
    assert copy.copy(cmd) is cmd
    assert copy.deepcopy(cmd) is cmd
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(cmd)


def test_a_command_cannot_be_subclassed() -> None:
    with pytest.raises(TypeError):

        class Sneaky(SafeCmd):  # pyright: ignore[reportGeneralTypeIssues, reportUnusedClass]
            pass


def test_a_bare_instance_is_refused_at_run_and_in_pipelines() -> None:
    forged = object.__new__(SafeCmd)
    events, handle = record()
    with handle, pytest.raises(ForgedCommandError):
        forged.run_sync()
    assert events == []
    with pytest.raises(ForgedCommandError):
        Pipeline((sh.make(ECHO)("x"), forged))
    with pytest.raises(ForgedCommandError):
        sh.make(CAT)(forged)  # as a process substitution


def test_what_runs_is_the_catalogued_program_whatever_argv_says() -> None:
    with allow(ECHO):
        result = sh.make(ECHO)("x").run_sync()
    assert result.stdout == "x\n"
    assert result.executable.startswith("/")
    assert Path(result.executable).name == "echo"


def test_relative_program_paths_are_refused_by_the_catalogue() -> None:
    for name in ("bin/echo", "./echo", ".", ".."):
        with pytest.raises(ValueError, match="program"):
            ProjectSettings(name="p", programs=(Program(name),))


# --- 2. the child's PATH never chooses the binary ------------------------------


@pytest.fixture
def attacker_bin(tmp_path: Path) -> tuple[Path, Path]:
    """A directory with a fake ``echo`` that leaves a marker when it runs."""
    directory = tmp_path / "attacker-bin"
    directory.mkdir()
    marker = tmp_path / "pwned"
    fake = directory / "echo"
    fake.write_text(f"#!/bin/sh\ntouch '{marker}'\necho pwned\n", encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return directory, marker


def test_a_path_in_the_context_env_does_not_choose_the_binary(attacker_bin: tuple[Path, Path]) -> None:
    directory, marker = attacker_bin
    events, handle = record()
    with handle:
        result = sh.make(ECHO)("safe").run_sync(context=ExecutionContext(env={"PATH": str(directory)}))
    assert result.stdout == "safe\n"
    assert not marker.exists()
    assert not result.executable.startswith(str(directory))
    starts = [event for event in events if event.phase is ExecPhase.START]
    assert starts[0].executable == result.executable


def test_a_path_in_a_scope_overlay_does_not_choose_the_binary(attacker_bin: tuple[Path, Path]) -> None:
    directory, marker = attacker_bin
    with env(PATH=str(directory)):
        result = (sh.make(ECHO)("safe") | sh.make(CAT)()).run_sync()
    assert result.stdout == "safe\n"
    assert not marker.exists()


def test_the_child_still_receives_the_path_it_was_given(attacker_bin: tuple[Path, Path]) -> None:
    directory, _ = attacker_bin
    result = py("import os; print(os.environ['PATH'])").run_sync(
        context=ExecutionContext(env={"PATH": str(directory)})
    )
    assert result.stdout == f"{directory}\n"


def test_the_parents_path_is_read_at_each_run(
    attacker_bin: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    directory, marker = attacker_bin
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")
    result = sh.make(ECHO)("x").run_sync()
    assert result.stdout == "pwned\n"  # the parent chose this PATH itself
    assert marker.exists()


def test_a_program_missing_from_the_parents_path_fails_before_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent-cuprum-dir")
    events, handle = record()
    with handle, pytest.raises(cuprum.ProgramNotFoundError):
        sh.make(ECHO)("x").run_sync()
    assert [event.phase for event in events] == [ExecPhase.PLAN, ExecPhase.EXIT]
    assert events[-1].outcome is ExecOutcome.FAILED


# --- 3. scopes always restore ----------------------------------------------------


def test_registrations_inside_a_scope_do_not_outlive_it() -> None:
    calls: list[str] = []
    before_state = current_scope()
    with scoped(ScopeConfig(timeout=30)):
        allow(ECHO)
        before(lambda _cmd: calls.append("before"))
        after(lambda _cmd, _result: calls.append("after"))
        observe(lambda _event: calls.append("observe"))
        env(CUPRUM_T_LEAK="1")
        scoped(ScopeConfig(allowlist={TRUE}))
    assert current_scope().layers == before_state.layers
    assert current_scope().allowlist is None
    sh.make(ECHO)("x").run_sync()
    assert calls == []


def test_a_scope_restores_when_an_exception_skips_the_detach() -> None:
    def body() -> None:
        with scoped(ScopeConfig(allowlist={ECHO})):
            scoped(ScopeConfig(allowlist=set()))  # forbids everything, never detached
            msg = "boom"
            raise RuntimeError(msg)

    with pytest.raises(RuntimeError, match="boom"):
        body()
    assert current_scope().allowlist is None
    assert sh.make(TRUE)().run_sync().ok


def test_allow_extends_a_restricted_scope_for_its_lifetime() -> None:
    with scoped(ScopeConfig(allowlist={ECHO})):
        with pytest.raises(ForbiddenProgramError):
            sh.make(CAT)().run_sync()
        with allow(CAT):
            assert current_scope().allowlist == {ECHO, CAT}
            assert sh.make(CAT)().run_sync().ok
        assert current_scope().allowlist == {ECHO}
        handle = allow(CAT)
        assert sh.make(CAT)().run_sync().ok
        handle.detach()
        with pytest.raises(ForbiddenProgramError):
            sh.make(CAT)().run_sync()


def test_nested_allowlists_narrow_and_a_root_scope_is_permissive() -> None:
    with scoped(ScopeConfig()):
        assert current_scope().allowlist is None
        with scoped(ScopeConfig(allowlist={ECHO, CAT})), scoped(ScopeConfig(allowlist={CAT, TRUE})):
            assert current_scope().allowlist == {CAT}


def test_a_locked_scope_refuses_to_be_extended() -> None:
    with scoped(ScopeConfig(allowlist={ECHO}, locked=True)):
        with pytest.raises(ScopeLockedError):
            allow(CAT)
        with scoped(ScopeConfig(timeout=5)), pytest.raises(ScopeLockedError):
            allow(CAT)
        assert current_scope().allowlist == {ECHO}
    with allow(CAT):  # outside the locked scope, allow() is fine again
        pass


def test_a_task_cannot_change_its_parents_scope() -> None:
    async def child() -> None:
        allow(CAT)
        scoped(ScopeConfig(allowlist=set()))

    async def main() -> None:
        with scoped(ScopeConfig(allowlist={ECHO})):
            await asyncio.ensure_future(child())
            assert current_scope().allowlist == {ECHO}

    asyncio.run(main())


# --- 4. secrets never escape ------------------------------------------------------


def test_a_secret_from_stage_zero_is_hidden_in_every_stage_line() -> None:
    redactor = Redactor(options=["--password"])
    pipeline = py("import sys; print(sys.argv[2])", "--password", SECRET) | sh.make(CAT)()
    events, handle = record()
    with scoped(ScopeConfig(redactor=redactor)), handle:
        result = pipeline.run_sync()
    assert result.stdout == f"{SECRET}\n"  # the data itself is untouched
    shown = repr(events)
    assert SECRET not in shown
    assert any(event.line == "***" for event in events if event.phase is ExecPhase.STDOUT)


def test_exception_messages_and_reprs_are_redacted() -> None:
    redactor = Redactor(values=[SECRET])
    with scoped(ScopeConfig(redactor=redactor)):
        with pytest.raises(TimeoutExpired) as timed_out:
            shell(f"echo {SECRET}; echo {SECRET} >&2; sleep 30").run_sync(timeout=0.3)
        with pytest.raises(CommandFailed) as failed:
            shell(f"echo {SECRET} >&2; exit 3").run_sync(check=True)
        with pytest.raises(PipelineFailed) as pipe_failed:
            (shell(f"echo {SECRET}") | shell(f"cat >&2; echo {SECRET} >&2; exit 4")).run_sync(check=True)
        result = shell(f"echo {SECRET}").run_sync()
    for error in (timed_out.value, failed.value, pipe_failed.value):
        assert SECRET not in str(error)
        assert SECRET not in repr(error)
    assert "***" in str(failed.value)
    assert SECRET not in repr(result)
    assert timed_out.value.output == f"{SECRET}\n"  # the attributes keep the data


def test_forbidden_program_error_shows_no_arguments() -> None:
    with scoped(ScopeConfig(allowlist={ECHO})), pytest.raises(ForbiddenProgramError) as caught:
        shell(f"echo {SECRET}").run_sync()
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)


def test_a_mask_is_inserted_literally() -> None:
    redactor = Redactor(values=[SECRET], mask=r"\g<0>")
    assert redactor.redact_text(f"a {SECRET} b") == r"a \g<0> b"
    assert SECRET not in redactor.redact_argv(("x", f"--pw={SECRET}"))[1]


def test_literal_values_win_over_patterns() -> None:
    redactor = Redactor(values=["topsecret"], patterns=[r"top"])
    assert redactor.redact_text("x topsecret y") == "x *** y"


def test_a_short_option_hides_its_attached_value() -> None:
    redactor = Redactor(options=["-p"])
    assert redactor.redact_argv(("mysql", f"-p{SECRET}", "-u", "me")) == ("mysql", "-p***", "-u", "me")
    assert SECRET not in redactor.redact_text(f"using -p{SECRET}", argv=("mysql", f"-p{SECRET}"))


def test_url_credentials_are_hidden_by_default() -> None:
    url = f"https://user:{SECRET}@example.com/repo.git"
    events, handle = record()
    with handle, pytest.raises(CommandFailed) as caught:
        shell(f"echo {url}; echo {url} >&2; exit 1").run_sync(check=True)
    assert SECRET not in repr(events)
    assert SECRET not in str(caught.value)
    assert "https://user:***@example.com/repo.git" in str(caught.value)


# --- 5, 6. paths and remotes cannot escape -----------------------------------------


def test_safe_path_joins_stay_below_their_base() -> None:
    base = SafePath("/srv/app")
    with pytest.raises(InvalidPathError):
        _ = base / "/etc/passwd"
    with pytest.raises(InvalidPathError):
        _ = base / "a/../../etc"
    assert str(base / "releases/1.0") == "/srv/app/releases/1.0"


def test_a_git_remote_must_be_a_name_not_a_path() -> None:
    with pytest.raises(ValueError, match="name"):
        git.fetch(SafePath("/srv/repo"), GitRef("sub/other"))
    with pytest.raises(ValueError, match="name"):
        git.push(SafePath("/srv/repo"), GitRef("sub/other"), GitRef("main"))
    assert git.fetch(SafePath("/srv/repo"), GitRef("origin")).argv[-1] == "origin"


# --- 7, 8. no survivors ----------------------------------------------------------

TREE = "echo $$ > '{pidfile}'; sleep 100 & echo $! >> '{pidfile}'; wait"


def _assert_dead(pids: list[int]) -> None:
    for pid in pids:
        assert wait_until(lambda pid=pid: not _alive(pid), timeout=10), f"process {pid} survived"


def _alive(pid: int) -> bool:
    try:
        fields = (open(f"/proc/{pid}/stat", encoding="utf-8").read()).rsplit(")", 1)[1].split()  # noqa: PTH123, SIM115
    except OSError:
        return False
    return fields[0] != "Z"


@pytest.mark.parametrize("delay", [0.0, 0.0005, 0.002, 0.01])
def test_a_cancel_at_any_moment_of_the_start_leaves_no_group(tmp_path: Path, delay: float) -> None:
    for attempt in range(5):
        pidfile = tmp_path / f"pids-{attempt}"

        async def main(pidfile: Path = pidfile) -> None:
            task = asyncio.ensure_future(shell(TREE.format(pidfile=pidfile)).run())
            await asyncio.sleep(delay)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        asyncio.run(main())
        time.sleep(0.05)  # a shell that started late would have written by now
        _assert_dead(written_pids(pidfile))


def test_a_tiny_timeout_leaves_no_group(tmp_path: Path) -> None:
    for attempt in range(10):
        pidfile = tmp_path / f"pids-{attempt}"
        with contextlib.suppress(TimeoutExpired):
            shell(TREE.format(pidfile=pidfile)).run_sync(timeout=1e-6)
        time.sleep(0.05)
        _assert_dead(written_pids(pidfile))


def test_a_timeout_takes_down_a_group_whose_leader_has_exited(tmp_path: Path) -> None:
    for timeout in patient(0.5):
        pidfile = tmp_path / f"pids-{timeout}"
        script = f"sleep 100 & echo $! > '{pidfile}'; echo hi; : > '{pidfile}.done'"
        with pytest.raises(TimeoutExpired) as caught:
            shell(script).run_sync(timeout=timeout)
        if Path(f"{pidfile}.done").exists():  # the leader had done its part when the timeout fired
            break
    assert caught.value.output == "hi\n"
    _assert_dead(written_pids(pidfile))


def test_a_timeout_takes_down_a_pipeline_stage_whose_leader_has_exited(tmp_path: Path) -> None:
    for timeout in patient(0.5):
        pidfile = tmp_path / f"pids-{timeout}"
        producer = shell(f"sleep 100 & echo $! > '{pidfile}'; echo hi; : > '{pidfile}.done'")
        with pytest.raises(TimeoutExpired):
            (producer | sh.make(CAT)()).run_sync(timeout=timeout)
        if Path(f"{pidfile}.done").exists():  # the leader had done its part when the timeout fired
            break
    _assert_dead(written_pids(pidfile))


def test_a_cancel_takes_down_a_group_whose_leader_has_exited(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"

    async def main() -> None:
        task = asyncio.ensure_future(shell(f"sleep 100 & echo $! > '{pidfile}'; echo hi").run())
        assert await asyncio.to_thread(wait_until, lambda: written_pids(pidfile))
        await asyncio.sleep(0.1)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())
    _assert_dead(written_pids(pidfile))


# --- 9. the event loop stays healthy ------------------------------------------------


def test_a_cancelled_run_with_stdin_pending_leaves_the_loop_healthy() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        for _ in range(5):
            task = asyncio.ensure_future(
                shell("sleep 30").run(stdin=StdinInput(data=b"x" * (4 * 1024 * 1024)))
            )
            await asyncio.sleep(0.05)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        selector = getattr(loop, "_selector", None)
        if selector is not None:
            for key in list(selector.get_map().values()):
                os.fstat(key.fd)  # every registered descriptor is still open
        result = await sh.make(ECHO)("after").run()
        assert result.stdout == "after\n"

    with no_fd_leak():
        asyncio.run(main())


# --- 10. linear line splitting -------------------------------------------------------


def test_one_huge_line_with_an_observer_is_split_in_linear_time() -> None:
    size = 40 * 1024 * 1024
    seen: list[int] = []

    def measure(event: ExecEvent) -> None:
        if event.phase is ExecPhase.STDOUT and event.line is not None:
            seen.append(len(event.line))

    started = time.monotonic()
    with observe(measure):
        result = py(f"import sys; sys.stdout.write('x' * {size})").run_sync(
            output=cuprum.RunOutputOptions(capture=False)
        )
    elapsed = time.monotonic() - started
    assert result.ok
    assert seen == [size]
    assert elapsed < 6.0, f"splitting one {size}-byte line took {elapsed:.1f} s"  # quadratic took minutes


# --- 11. a broken stdin is one event, nothing logged -----------------------------------


def test_a_broken_stdin_is_one_event_and_no_log(caplog: pytest.LogCaptureFixture) -> None:
    events, handle = record()
    with caplog.at_level(logging.DEBUG, logger="asyncio"), handle:
        result = sh.make(TRUE)().run_sync(stdin=StdinInput(data=b"x" * (4 * 1024 * 1024)))
    assert result.ok
    assert [record.message for record in caplog.records if record.name == "asyncio"] == []
    stdin_events = [event for event in events if event.phase in (ExecPhase.STDIN, ExecPhase.STDIN_ERROR)]
    assert len(stdin_events) == 1


# --- 12. a slow observer cannot defeat the timeout -------------------------------------


def test_a_slow_observer_does_not_defeat_the_timeout(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"

    async def slow(event: ExecEvent) -> None:
        if event.phase not in {ExecPhase.PLAN, ExecPhase.START}:
            await asyncio.sleep(1.0)

    started = time.monotonic()
    with observe(slow), pytest.raises(TimeoutExpired):
        shell(f"echo $$ > '{pidfile}'; sleep 30").run_sync(timeout=0.3)
    elapsed = time.monotonic() - started
    # After the deadline the observers share a bounded budget (1.5 s): about 2 s in all.
    assert elapsed < 20.0, f"the timeout was reported after {elapsed:.1f} s"
    _assert_dead(written_pids(pidfile))


async def _never_returns() -> None:
    await asyncio.Event().wait()


async def _never_returns_nor_cancels(release: asyncio.Event | None = None) -> None:
    """Ignore every cancel until ``release`` is set (a test must not leave a task that never ends)."""
    release = release or asyncio.Event()
    while not release.is_set():
        with contextlib.suppress(asyncio.CancelledError):
            await release.wait()


@pytest.mark.parametrize("swallow", [False, True], ids=["hangs", "swallows-cancel"])
@pytest.mark.parametrize("phase", [ExecPhase.PLAN, ExecPhase.START, ExecPhase.STDOUT])
def test_an_observer_that_never_returns_cannot_hold_a_run_past_its_timeout(
    tmp_path: Path, phase: ExecPhase, *, swallow: bool
) -> None:
    pidfile = tmp_path / "pid"
    hung: list[ExecPhase] = []

    async def hang(event: ExecEvent) -> None:
        if event.phase is phase:
            hung.append(phase)
            await (_never_returns_nor_cancels() if swallow else _never_returns())

    started = time.monotonic()
    with observe(hang), pytest.raises(TimeoutExpired) as caught:
        shell(f"echo $$ > '{pidfile}'; sleep 600 & echo $! >> '{pidfile}'; echo up; wait").run_sync(
            timeout=0.5
        )
    elapsed = time.monotonic() - started
    # The deadline (0.5 s), then the observers' allowance (1.5 s): ~2 s, not forever.
    assert hung == [phase]
    assert elapsed < 20.0, f"the timeout was reported after {elapsed:.1f} s"
    assert caught.value.timeout == 0.5
    if phase is ExecPhase.PLAN:
        assert not pidfile.exists(), "a run whose deadline passed before the spawn must not start"
    else:
        _assert_dead(written_pids(pidfile))


def test_a_before_hook_that_never_returns_cannot_hold_a_run_past_its_timeout(tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    async def hang(_cmd: SafeCmd) -> None:
        await _never_returns()

    events, observing = record()
    started = time.monotonic()
    with before(hang), observing, pytest.raises(TimeoutExpired, match="timed out"):
        shell(f"touch '{marker}'").run_sync(timeout=0.3)
    assert time.monotonic() - started < 20.0
    assert not marker.exists()
    assert [event.phase for event in events] == [ExecPhase.PLAN, ExecPhase.TIMEOUT, ExecPhase.EXIT]
    assert events[-1].outcome is ExecOutcome.TIMED_OUT


def test_an_observer_cannot_swallow_the_callers_cancel(tmp_path: Path) -> None:
    """No timeout at all: cancelling the caller must still end the run and its processes."""
    pidfile = tmp_path / "pid"

    release = asyncio.Event()

    async def hang(event: ExecEvent) -> None:
        if event.phase is ExecPhase.START:
            await _never_returns_nor_cancels(release)

    async def main() -> None:
        try:
            with observe(hang):
                await asyncio.wait_for(
                    shell(f"echo $$ > '{pidfile}'; sleep 600 & echo $! >> '{pidfile}'; wait").run(), 0.5
                )
        finally:
            assert all(pid > 0 for pid in written_pids(pidfile))
            release.set()  # asyncio.run waits for every task it cancelled, so the observer must end

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        asyncio.run(main())
    assert time.monotonic() - started < 20.0
    _assert_dead(written_pids(pidfile))


def test_a_context_variable_a_before_hook_sets_reaches_the_after_hook() -> None:
    """Hooks are control flow, run in line: a span opened before is there to close after."""
    span: contextvars.ContextVar[str | None] = contextvars.ContextVar("span", default=None)
    seen: list[str | None] = []

    async def open_span(_cmd: SafeCmd) -> None:
        span.set("opened")

    with before(open_span), after(lambda _cmd, _result: seen.append(span.get())):
        sh.make(ECHO)("x").run_sync(timeout=30)
        sh.make(ECHO)("x").run_sync()
    assert seen == ["opened", "opened"]


def test_an_observer_returning_another_loops_future_is_reported_not_awaited_forever(
    caplog: pytest.LogCaptureFixture,
) -> None:
    elsewhere = asyncio.new_event_loop()
    try:
        foreign = elsewhere.create_future()
        with observe(lambda event: foreign if event.phase is ExecPhase.START else None):
            result = sh.make(ECHO)("x").run_sync()
        assert result.stdout == "x\n"
        assert not foreign.cancelled()
        assert any("raised on start event" in record.getMessage() for record in caplog.records)
    finally:
        elsewhere.close()


def test_a_before_hooks_own_timeout_error_is_not_the_runs_timeout() -> None:
    async def refuse(_cmd: SafeCmd) -> None:
        message = "the licence server did not answer"
        raise TimeoutError(message)

    with before(refuse), pytest.raises(TimeoutError, match="licence server") as caught:
        sh.make(ECHO)("x").run_sync(timeout=30)
    assert not isinstance(caught.value, TimeoutExpired)


def test_a_slow_plain_function_before_hook_counts_against_the_timeout(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with before(lambda _cmd: time.sleep(0.5)), pytest.raises(TimeoutExpired):
        shell(f"touch '{marker}'").run_sync(timeout=0.05)
    assert not marker.exists()


# --- 13. the smaller holes ---------------------------------------------------------------


def test_stdin_text_uses_the_contexts_error_handler() -> None:
    text = "bad \udcff surrogate"
    result = sh.make(CAT)().run_sync(stdin=StdinInput(text=text), context=ExecutionContext(errors="replace"))
    assert result.stdout == "bad ? surrogate"


def test_bad_contexts_fail_when_made() -> None:
    with pytest.raises(LookupError, match="bogus"):
        ExecutionContext(errors="bogus")
    with pytest.raises(ValueError, match="cwd"):
        ExecutionContext(cwd="/srv/\0x")
    with pytest.raises(ValueError, match="timeout"):
        ConcurrentConfig(timeout=math.nan)


def test_bad_run_options_are_type_errors() -> None:
    cmd = sh.make(ECHO)("x")
    with pytest.raises(TypeError, match="output"):
        cmd.run_sync(output="yes")  # pyright: ignore[reportArgumentType, reportCallIssue]
    with pytest.raises(TypeError, match="context"):
        cmd.run_sync(context={})  # pyright: ignore[reportArgumentType]
    with pytest.raises(TypeError, match="unexpected keyword"):
        cmd.run_sync(tiemout=1)  # pyright: ignore[reportCallIssue]


def test_an_internal_error_is_reported_as_a_failure() -> None:
    events, handle = record()
    with handle, pytest.raises(UnicodeDecodeError):
        py("import sys; sys.stdout.buffer.write(b'\\xff\\n')").run_sync(
            context=ExecutionContext(errors="strict")
        )
    exits = [event for event in events if event.phase is ExecPhase.EXIT]
    assert [event.outcome for event in exits] == [ExecOutcome.FAILED]
    assert exits[0].error is not None
    assert exits[0].error.startswith("UnicodeDecodeError")


def test_a_second_cancel_during_teardown_keeps_the_events() -> None:
    events: list[ExecEvent] = []
    stubborn = "trap '' TERM; echo ready; sleep 30"

    async def main() -> None:
        with observe(events.append):
            task = asyncio.ensure_future(shell(stubborn).run(context=ExecutionContext(cancel_grace=0.5)))
            for _ in range(1000):  # until the trap is set (a generous 10 s)
                if any(event.line == "ready" for event in events):
                    break
                await asyncio.sleep(0.01)
            task.cancel()
            await asyncio.sleep(0.1)
            task.cancel()  # again, while the teardown waits out the grace
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(main())
    phases = [event.phase for event in events]
    assert phases[-2:] == [ExecPhase.CANCEL, ExecPhase.EXIT]
    assert events[-1].outcome is ExecOutcome.CANCELLED


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_exec_ids_differ_in_a_forked_child() -> None:
    read_end, write_end = os.pipe()
    parent_before = new_exec_id()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_end)
        os.write(write_end, new_exec_id().encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        child_id = pipe.read().decode()
    os.waitpid(pid, 0)
    assert child_id.split("-")[0] != parent_before.split("-")[0]
    assert child_id != new_exec_id()


def test_cwd_is_checked_before_hooks_and_start_events(tmp_path: Path) -> None:
    calls: list[object] = []
    events, handle = record()
    with handle, before(calls.append), pytest.raises(FileNotFoundError):
        sh.make(ECHO)("x").run_sync(context=ExecutionContext(cwd=tmp_path / "missing"))
    assert calls == []
    assert ExecPhase.START not in [event.phase for event in events]


# --- the chaos test ------------------------------------------------------------------------

GRANDCHILD = "sleep 30 & echo $!; "


def _threads() -> int:
    return len(list(Path("/proc/self/task").iterdir()))


def _zombies() -> list[int]:
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
            if fields[0] == "Z" and int(fields[1]) == os.getpid():
                found.append(int(entry.name))
    return found


def _chaos_runnable(kind: int) -> SafeCmd | Pipeline:
    """One of six shapes: lone or piped, ending, endless, early-closing, with grandchildren."""
    shapes: tuple[SafeCmd | Pipeline, ...] = (
        shell(GRANDCHILD + "echo done"),
        shell(GRANDCHILD + "wait"),
        sh.make(cuprum.YES)() | sh.make(cuprum.HEAD)("-n", "3"),
        shell(GRANDCHILD + "yes") | sh.make(cuprum.HEAD)("-c", "100"),
        sh.make(TRUE)(),
        shell(GRANDCHILD + "cat") | shell("sleep 30 & head -c 10"),
    )
    return shapes[kind % len(shapes)]


async def _chaos_run(index: int, rng: random.Random) -> None:
    """Run one, with a timeout, maybe a big stdin, maybe cancelled at a random moment."""
    stdin = StdinInput(data=b"z" * (256 * 1024)) if index % 4 == 0 else None
    timeout = rng.choice([0.3, 0.05, 0.2, 1e-6])
    task = asyncio.ensure_future(_chaos_runnable(index).run(timeout=timeout, stdin=stdin))
    if index % 3 == 0:
        await asyncio.sleep(rng.choice([0, 0.0001, 0.001, 0.01, 0.05]))
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError, TimeoutExpired):
        await task


def test_chaos_leaves_nothing_behind() -> None:
    """500 runs: success, timeout, cancel at random points, early close, broken stdin; lone and piped."""
    rng = random.Random(20261202)  # noqa: S311 (a reproducible schedule, not a secret)
    pgids: set[int] = set()

    def remember(event: ExecEvent) -> None:
        if event.phase is ExecPhase.START and event.pid is not None:
            pgids.add(event.pid)

    async def main() -> None:
        for start in range(0, 500, 25):
            await asyncio.gather(*(_chaos_run(index, rng) for index in range(start, start + 25)))
        result = await sh.make(ECHO)("still fine").run()
        assert result.stdout == "still fine\n"

    threads = _threads()
    try:
        with observe(remember), no_fd_leak():
            asyncio.run(main())
        assert wait_until(lambda: not any(group_alive(pgid) for pgid in pgids), timeout=20)
        assert _zombies() == []
        assert wait_until(lambda: _threads() <= threads, timeout=10)
    finally:
        for pgid in pgids:
            kill_group_quietly(pgid)
