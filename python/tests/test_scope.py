"""Tests for scopes: allowlists, default timeouts, environment overlays and hooks.

Scopes live in a context variable, so these tests also check that a scope
stays with the thread or asyncio task that entered it. Every child process
here is a real one, started through the test catalogue's ``sh`` and Python.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from typing import TYPE_CHECKING

import pytest
from support import PYTHON, SH, TEST_CATALOGUE, py, shell

import cuprum.engine.supervisor
from cuprum import (
    CAT,
    ECHO,
    LS,
    CommandResult,
    CuprumError,
    ExecEvent,
    ExecPhase,
    ExecutionContext,
    ForbiddenProgramError,
    Program,
    SafeCmd,
    ScopeConfig,
    ScopeHandle,
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

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping


def narrow(*programs: Program) -> ScopeHandle:
    """A layer that narrows the allowlist to ``programs`` (``allow()`` extends instead)."""
    return scoped(ScopeConfig(allowlist=programs))


ENV_DUMP = py("import json, os, sys; json.dump(dict(os.environ), sys.stdout)")
SLEEP_LONG = py("import time; time.sleep(30)")
# The precedence tests below need a child that outlives a short timeout by at
# least ten times and finishes well within a long one.
SHORT_TIMEOUT = 0.03
SHORT_SLEEP = py("import time; time.sleep(0.3)")
LONG_TIMEOUT = 30.0


@pytest.fixture(autouse=True)
def no_scope_leak() -> Iterator[None]:
    """Fail a test that leaves a scope layer registered (it would leak into the next)."""
    layers = current_scope().layers
    yield
    assert current_scope().layers == layers, "the test left a scope layer registered"


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """Record the argv of every process Cuprum starts (commands and pipelines)."""
    calls: list[tuple[str, ...]] = []
    real_spawn = cuprum.engine.supervisor.spawn

    def spy(executable: str, argv: tuple[str, ...], *args: object, **kwargs: object) -> object:
        calls.append(tuple(argv))
        return real_spawn(executable, argv, *args, **kwargs)  # pyright: ignore[reportArgumentType]

    monkeypatch.setattr(cuprum.engine.supervisor, "spawn", spy)
    return calls


def child_env(context: ExecutionContext | None = None) -> dict[str, str]:
    """The environment a child started now would see."""
    result = ENV_DUMP.run_sync(context=context)
    assert result.ok, result.stderr
    assert result.stdout is not None
    environment: dict[str, str] = json.loads(result.stdout)
    return environment


def python_cmd() -> SafeCmd:
    return py("pass")


def shell_cmd() -> SafeCmd:
    return shell("exit 0")


# --- allowlists ------------------------------------------------------------


def test_no_scope_allows_everything_in_the_catalogue() -> None:
    assert current_scope().allowlist is None
    assert current_scope().is_allowed(SH)
    assert shell_cmd().run_sync().ok


def test_allow_narrows_and_nested_allowlists_intersect() -> None:
    with narrow(ECHO, CAT, SH):
        assert current_scope().allowlist == {ECHO, CAT, SH}
        with narrow(CAT, LS, SH):
            # LS is listed by the inner scope only: the outer one excludes it.
            assert current_scope().allowlist == {CAT, SH}
            assert not current_scope().is_allowed(LS)
            assert not current_scope().is_allowed(ECHO)
            with scoped(ScopeConfig(allowlist=[SH, PYTHON])):
                assert current_scope().allowlist == {SH}
            assert current_scope().allowlist == {CAT, SH}
        assert current_scope().allowlist == {ECHO, CAT, SH}
    assert current_scope().allowlist is None


def test_inner_scope_cannot_widen_the_allowlist() -> None:
    with narrow(SH):
        with narrow(SH, PYTHON):
            assert shell_cmd().run_sync().ok
            with pytest.raises(ForbiddenProgramError):
                python_cmd().run_sync()
        with pytest.raises(ForbiddenProgramError):
            python_cmd().run_sync()
    assert python_cmd().run_sync().ok


def test_scope_without_allowlist_does_not_narrow() -> None:
    with narrow(SH), scoped(ScopeConfig(timeout=LONG_TIMEOUT)):
        assert current_scope().allowlist == {SH}
    with scoped(ScopeConfig()):
        assert current_scope().allowlist is None


def test_empty_allowlist_forbids_everything() -> None:
    with narrow():
        assert current_scope().allowlist == frozenset()
        with pytest.raises(ForbiddenProgramError, match=r"allowed: nothing"):
            shell_cmd().run_sync()


def test_forbidden_program_error_describes_the_refusal() -> None:
    with narrow(ECHO, CAT), pytest.raises(ForbiddenProgramError) as caught:
        shell_cmd().run_sync()
    error = caught.value
    assert isinstance(error, PermissionError)
    assert isinstance(error, CuprumError)
    assert error.program == SH
    assert error.allowlist == {ECHO, CAT}
    assert "'sh'" in str(error)
    assert "allowed: cat, echo" in str(error)


def test_allowlist_must_not_be_a_string() -> None:
    with pytest.raises(TypeError, match="not a string"):
        ScopeConfig(allowlist="echo")  # pyright: ignore[reportArgumentType]


def test_forbidden_is_raised_before_hooks_events_or_processes(spawned: list[tuple[str, ...]]) -> None:
    calls: list[str] = []
    events: list[ExecEvent] = []

    def before_hook(cmd: SafeCmd) -> None:
        calls.append(f"before {cmd.program}")

    def after_hook(cmd: SafeCmd, _result: CommandResult) -> None:
        calls.append(f"after {cmd.program}")

    with before(before_hook), after(after_hook), observe(events.append), narrow(ECHO):
        with pytest.raises(ForbiddenProgramError):
            shell_cmd().run_sync()

        async def main() -> None:
            with pytest.raises(ForbiddenProgramError):
                await python_cmd().run()

        asyncio.run(main())
    assert calls == []
    assert events == []
    assert spawned == []


def test_forbidden_pipeline_stage_stops_every_stage_before_anything(spawned: list[tuple[str, ...]]) -> None:
    calls: list[str] = []
    events: list[ExecEvent] = []
    pipeline = shell("echo hi") | sh.make(CAT, catalogue=TEST_CATALOGUE)() | python_cmd()
    with (
        before(lambda cmd: calls.append(cmd.program)),
        observe(events.append),
        narrow(SH, CAT),
        pytest.raises(ForbiddenProgramError) as caught,
    ):
        pipeline.run_sync()
    assert caught.value.program == PYTHON
    assert calls == []
    assert events == []
    assert spawned == []


def test_allowed_command_starts_a_process(spawned: list[tuple[str, ...]]) -> None:
    with narrow(SH):
        result = shell("echo inside").run_sync()
    assert result.stdout == "inside\n"
    assert spawned == [("sh", "-c", "echo inside")]


# --- timeouts ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("explicit", "context_timeout", "scope_timeout"),
    [
        pytest.param(0.2, LONG_TIMEOUT, LONG_TIMEOUT, id="explicit-beats-context-and-scope"),
        pytest.param(None, 0.2, LONG_TIMEOUT, id="context-beats-scope"),
        pytest.param(None, None, 0.2, id="context-none-falls-through-to-scope"),
    ],
)
def test_timeout_precedence_chooses_the_limit(
    explicit: float | None, context_timeout: float | None, scope_timeout: float
) -> None:
    context = ExecutionContext(timeout=context_timeout)
    with scoped(ScopeConfig(timeout=scope_timeout)), pytest.raises(TimeoutExpired) as caught:
        SLEEP_LONG.run_sync(timeout=explicit, context=context)
    assert caught.value.timeout == pytest.approx(0.2)
    assert isinstance(caught.value, TimeoutError)


@pytest.mark.parametrize(
    ("explicit", "context_timeout", "scope_timeout"),
    [
        pytest.param(LONG_TIMEOUT, SHORT_TIMEOUT, SHORT_TIMEOUT, id="explicit-long-overrides"),
        pytest.param(math.inf, SHORT_TIMEOUT, SHORT_TIMEOUT, id="explicit-inf-means-no-limit"),
        pytest.param(None, LONG_TIMEOUT, SHORT_TIMEOUT, id="context-long-overrides-scope"),
        pytest.param(None, math.inf, SHORT_TIMEOUT, id="context-inf-overrides-scope"),
    ],
)
def test_higher_precedence_timeout_lifts_a_shorter_one(
    explicit: float | None, context_timeout: float | None, scope_timeout: float
) -> None:
    context = ExecutionContext(timeout=context_timeout)
    with scoped(ScopeConfig(timeout=scope_timeout)):
        result = SHORT_SLEEP.run_sync(timeout=explicit, context=context)
    assert result.ok


def test_innermost_scope_timeout_applies() -> None:
    with scoped(ScopeConfig(timeout=LONG_TIMEOUT)):
        with scoped(ScopeConfig(timeout=0.2)), pytest.raises(TimeoutExpired) as caught:
            SLEEP_LONG.run_sync()
        assert caught.value.timeout == pytest.approx(0.2)
    with scoped(ScopeConfig(timeout=SHORT_TIMEOUT)), scoped(ScopeConfig(timeout=LONG_TIMEOUT)):
        assert SHORT_SLEEP.run_sync().ok


def test_scope_without_timeout_inherits_the_outer_one() -> None:
    with scoped(ScopeConfig(timeout=0.2)), scoped(ScopeConfig(allowlist=[PYTHON])):
        assert current_scope().timeout == pytest.approx(0.2)
        with pytest.raises(TimeoutExpired) as caught:
            SLEEP_LONG.run_sync()
    assert caught.value.timeout == pytest.approx(0.2)
    assert current_scope().timeout is None


@pytest.mark.parametrize(
    ("timeout", "error"),
    [(math.nan, ValueError), (True, TypeError), ("5", TypeError)],
)
def test_invalid_scope_timeout_fails_on_entry(timeout: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        scoped(ScopeConfig(timeout=timeout))  # pyright: ignore[reportArgumentType]
    assert current_scope().layers == ()


def test_invalid_explicit_timeout_fails_before_anything_runs(spawned: list[tuple[str, ...]]) -> None:
    calls: list[SafeCmd] = []
    with (
        before(calls.append),
        pytest.raises(ValueError, match="timeout must be a number of seconds, not NaN"),
    ):
        shell_cmd().run_sync(timeout=math.nan)
    assert calls == []
    assert spawned == []


# --- environment overlays ----------------------------------------------------


def test_env_layers_apply_innermost_last(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUPRUM_T_LAYER", "live")
    monkeypatch.setenv("CUPRUM_T_LIVE", "live-only")
    with scoped(ScopeConfig(env_overlay={"CUPRUM_T_LAYER": "outer", "CUPRUM_T_OUTER": "outer-only"})):
        with env(CUPRUM_T_LAYER="inner", CUPRUM_T_INNER="inner-only"):
            context = ExecutionContext(env={"CUPRUM_T_LAYER": "context", "CUPRUM_T_CTX": "ctx-only"})
            seen = child_env(context)
            assert seen["CUPRUM_T_LAYER"] == "context"
            assert seen["CUPRUM_T_LIVE"] == "live-only"
            assert seen["CUPRUM_T_OUTER"] == "outer-only"
            assert seen["CUPRUM_T_INNER"] == "inner-only"
            assert seen["CUPRUM_T_CTX"] == "ctx-only"

            seen = child_env()
            assert seen["CUPRUM_T_LAYER"] == "inner"
            assert "CUPRUM_T_CTX" not in seen
        seen = child_env()
        assert seen["CUPRUM_T_LAYER"] == "outer"
        assert "CUPRUM_T_INNER" not in seen
    seen = child_env()
    assert seen["CUPRUM_T_LAYER"] == "live"
    assert "CUPRUM_T_OUTER" not in seen


def test_live_environment_is_read_at_spawn_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUPRUM_T_GONE", "present")
    with env(CUPRUM_T_OVERLAY="1"):
        # Changed after the scope was entered, before the command is spawned.
        monkeypatch.setenv("CUPRUM_T_LATE", "late")
        monkeypatch.delenv("CUPRUM_T_GONE")
        seen = child_env()
        assert seen["CUPRUM_T_LATE"] == "late"
        assert "CUPRUM_T_GONE" not in seen
        assert seen["CUPRUM_T_OVERLAY"] == "1"
        monkeypatch.setenv("CUPRUM_T_LATE", "later")
        assert child_env()["CUPRUM_T_LATE"] == "later"


def test_context_env_layers_over_live_environment_without_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUPRUM_T_LIVE", "live")
    monkeypatch.setenv("CUPRUM_T_LAYER", "live")
    seen = child_env(ExecutionContext(env={"CUPRUM_T_LAYER": "context"}))
    assert seen["CUPRUM_T_LAYER"] == "context"
    assert seen["CUPRUM_T_LIVE"] == "live"


def test_overlay_is_copied_when_registered() -> None:
    overlay = {"CUPRUM_T_COPY": "original"}
    with scoped(ScopeConfig(env_overlay=overlay)):
        overlay["CUPRUM_T_COPY"] = "changed"
        overlay["CUPRUM_T_ADDED"] = "added"
        seen = child_env()
    assert seen["CUPRUM_T_COPY"] == "original"
    assert "CUPRUM_T_ADDED" not in seen


def test_env_helper_merges_mapping_and_keywords() -> None:
    with env({"CUPRUM_T_A": "mapping", "CUPRUM_T_B": "mapping"}, CUPRUM_T_B="keyword"):
        seen = child_env()
    assert seen["CUPRUM_T_A"] == "mapping"
    assert seen["CUPRUM_T_B"] == "keyword"


def test_env_values_may_contain_equals_and_be_empty() -> None:
    with env(CUPRUM_T_EQ="a=b=c", CUPRUM_T_EMPTY=""):
        seen = child_env()
    assert seen["CUPRUM_T_EQ"] == "a=b=c"
    assert seen["CUPRUM_T_EMPTY"] == ""


BAD_ENTRIES: list[object] = [
    pytest.param({"A=B": "x"}, id="equals-in-key"),
    pytest.param({"": "x"}, id="empty-key"),
    pytest.param({"A\0B": "x"}, id="nul-in-key"),
    pytest.param({"A": "x\0y"}, id="nul-in-value"),
    pytest.param({"A": 1}, id="int-value"),
    pytest.param({"A": None}, id="none-value"),
    pytest.param({"A": b"x"}, id="bytes-value"),
    pytest.param({1: "x"}, id="int-key"),
    pytest.param({b"A": "x"}, id="bytes-key"),
]


@pytest.mark.parametrize("overlay", BAD_ENTRIES)
def test_invalid_scope_overlay_fails_on_entry(overlay: Mapping[str, str]) -> None:
    with pytest.raises(ValueError, match=r"ScopeConfig\.env_overlay"):
        ScopeConfig(env_overlay=overlay)
    assert current_scope().layers == ()


@pytest.mark.parametrize("overlay", BAD_ENTRIES)
def test_invalid_env_helper_overlay_fails_on_entry(overlay: Mapping[str, str]) -> None:
    with pytest.raises(ValueError, match="invalid"):
        env(overlay)
    assert current_scope().layers == ()


def test_scope_overlay_must_be_a_mapping() -> None:
    with pytest.raises(ValueError, match="must be a mapping"):
        ScopeConfig(env_overlay=[("A", "B")])  # pyright: ignore[reportArgumentType]


@pytest.mark.parametrize("overlay", BAD_ENTRIES)
def test_invalid_context_env_fails_before_spawning(
    overlay: Mapping[str, str], spawned: list[tuple[str, ...]]
) -> None:
    calls: list[SafeCmd] = []
    events: list[ExecEvent] = []
    with (
        before(calls.append),
        observe(events.append),
        pytest.raises(ValueError, match=r"ExecutionContext\.env: invalid"),
    ):
        shell_cmd().run_sync(context=ExecutionContext(env=overlay))
    assert calls == []
    assert events == []
    assert spawned == []


# --- registration helpers and handles -------------------------------------------


def record_before(calls: list[str], name: str) -> Callable[[SafeCmd], None]:
    def hook(_cmd: SafeCmd) -> None:
        calls.append(name)

    return hook


def record_after(calls: list[str], name: str) -> Callable[[SafeCmd, CommandResult], None]:
    def hook(_cmd: SafeCmd, _result: CommandResult) -> None:
        calls.append(name)

    return hook


def test_every_helper_returns_a_detachable_handle() -> None:
    calls: list[str] = []
    events: list[ExecEvent] = []
    handles = [
        narrow(SH),
        allow(PYTHON),
        before(record_before(calls, "before")),
        after(record_after(calls, "after")),
        observe(events.append),
        env(CUPRUM_T_HANDLE="on"),
    ]
    try:
        assert all(isinstance(handle, ScopeHandle) for handle in handles)
        assert current_scope().allowlist == {SH, PYTHON}
        assert shell('printf %s "$CUPRUM_T_HANDLE"').run_sync().stdout == "on"
        assert calls == ["before", "after"]
        assert events
    finally:
        for handle in reversed(handles):
            handle.detach()
    assert current_scope().layers == ()
    calls.clear()
    events.clear()
    assert shell('printf %s "${CUPRUM_T_HANDLE-unset}"').run_sync().stdout == "unset"
    assert python_cmd().run_sync().ok
    assert calls == []
    assert events == []


def test_detach_is_idempotent_and_removes_only_its_own_layer() -> None:
    outer = narrow(SH, PYTHON)
    inner = narrow(SH)
    try:
        outer.detach()
        assert current_scope().allowlist == {SH}
        outer.detach()
        assert current_scope().allowlist == {SH}
        assert len(current_scope().layers) == 1
        inner.detach()
        inner.detach()
        assert current_scope().allowlist is None
        assert current_scope().layers == ()
    finally:
        inner.detach()
        outer.detach()


def test_handles_are_context_managers_that_detach_on_exit() -> None:
    calls: list[str] = []
    with before(record_before(calls, "hook")) as handle:
        assert isinstance(handle, ScopeHandle)
        assert len(current_scope().before_hooks) == 1
        shell_cmd().run_sync()
    assert current_scope().before_hooks == ()
    shell_cmd().run_sync()
    assert calls == ["hook"]
    handle.detach()  # already detached by the with statement: a no-op
    assert current_scope().layers == ()


def test_handle_detaches_when_the_block_raises() -> None:
    message = "boom"
    with pytest.raises(RuntimeError, match=message), narrow(SH):
        raise RuntimeError(message)
    assert current_scope().allowlist is None


@pytest.mark.parametrize("field", ["before_hooks", "after_hooks", "observe_hooks"])
def test_non_callable_hooks_are_rejected(field: str) -> None:
    kwargs: dict[str, object] = {field: ["not callable"]}
    with pytest.raises(TypeError, match=f"ScopeConfig.{field} must hold callables"):
        ScopeConfig(**kwargs)  # pyright: ignore[reportArgumentType]


# --- hook order and behaviour ---------------------------------------------------


def test_before_hooks_outer_first_after_hooks_inner_first() -> None:
    calls: list[str] = []

    def event_marker(event: ExecEvent) -> None:
        if event.phase in {ExecPhase.START, ExecPhase.EXIT}:
            calls.append(event.phase.value)

    outer = ScopeConfig(
        before_hooks=(record_before(calls, "before-1"), record_before(calls, "before-2")),
        after_hooks=(record_after(calls, "after-1"), record_after(calls, "after-2")),
        observe_hooks=(event_marker,),
    )
    with scoped(outer), before(record_before(calls, "before-3")), after(record_after(calls, "after-3")):
        assert shell_cmd().run_sync().ok
    assert calls == ["before-1", "before-2", "before-3", "start", "exit", "after-3", "after-2", "after-1"]


def test_hooks_receive_the_command_and_its_result() -> None:
    seen_before: list[SafeCmd] = []
    seen_after: list[tuple[SafeCmd, CommandResult]] = []

    def after_hook(cmd: SafeCmd, result: CommandResult) -> None:
        seen_after.append((cmd, result))

    cmd = shell("echo out; exit 3")
    with before(seen_before.append), after(after_hook):
        result = cmd.run_sync()
    assert seen_before == [cmd]
    assert len(seen_after) == 1
    assert seen_after[0][0] == cmd
    assert seen_after[0][1] is result
    assert result.exit_code == 3
    assert result.stdout == "out\n"


def test_async_before_and_after_hooks_are_awaited() -> None:
    calls: list[str] = []

    async def before_hook(cmd: SafeCmd) -> None:
        await asyncio.sleep(0)
        calls.append(f"before {cmd.program}")

    async def after_hook(cmd: SafeCmd, result: CommandResult) -> None:
        await asyncio.sleep(0)
        calls.append(f"after {cmd.program} {result.exit_code}")

    with before(before_hook), after(after_hook), before(record_before(calls, "sync-before")):
        assert shell("exit 4").run_sync().exit_code == 4
    assert calls == ["before sh", "sync-before", "after sh 4"]


def test_raising_before_hook_stops_the_run_before_spawning(spawned: list[tuple[str, ...]]) -> None:
    calls: list[str] = []
    events: list[ExecPhase] = []

    def veto(_cmd: SafeCmd) -> None:
        message = "vetoed"
        raise PermissionError(message)

    with (
        before(veto),
        before(record_before(calls, "later")),
        after(record_after(calls, "after")),
        observe(lambda event: events.append(event.phase)),
        pytest.raises(PermissionError, match="vetoed"),
    ):
        shell_cmd().run_sync()
    assert calls == []
    assert spawned == []
    assert ExecPhase.START not in events


# --- isolation across threads and tasks -----------------------------------------


def test_scopes_are_isolated_between_threads() -> None:
    barrier = threading.Barrier(2, timeout=10)
    outcomes: dict[str, object] = {}

    def worker(name: str, program: Program, allowed: SafeCmd, forbidden: SafeCmd) -> None:
        try:
            with narrow(program):
                barrier.wait()  # both threads are inside their own scope now
                outcomes[f"{name}-allowlist"] = current_scope().allowlist
                outcomes[f"{name}-allowed"] = allowed.run_sync().ok
                try:
                    forbidden.run_sync()
                except ForbiddenProgramError as error:
                    outcomes[f"{name}-forbidden"] = error.program
                barrier.wait()
            outcomes[f"{name}-after"] = current_scope().allowlist
        except BaseException as error:  # noqa: BLE001 (reported to the main thread)
            outcomes[f"{name}-error"] = error
            barrier.abort()

    threads = [
        threading.Thread(target=worker, args=("shell", SH, shell_cmd(), python_cmd())),
        threading.Thread(target=worker, args=("python", PYTHON, python_cmd(), shell_cmd())),
    ]
    with narrow(ECHO):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert current_scope().allowlist == {ECHO}
    assert not any(thread.is_alive() for thread in threads)
    assert outcomes == {
        "shell-allowlist": {SH},
        "shell-allowed": True,
        "shell-forbidden": PYTHON,
        "shell-after": None,
        "python-allowlist": {PYTHON},
        "python-allowed": True,
        "python-forbidden": SH,
        "python-after": None,
    }


def test_scopes_are_isolated_between_tasks() -> None:
    async def worker(
        program: Program, allowed: SafeCmd, forbidden: SafeCmd, barrier: asyncio.Barrier
    ) -> tuple[frozenset[Program] | None, bool, str | None]:
        with narrow(program):
            await barrier.wait()  # both tasks are inside their own scope now
            allowlist = current_scope().allowlist
            ok = (await allowed.run()).ok
            refused: str | None = None
            try:
                await forbidden.run()
            except ForbiddenProgramError as error:
                refused = error.program
            await barrier.wait()
        return allowlist, ok, refused

    async def main() -> None:
        barrier = asyncio.Barrier(2)
        results = await asyncio.wait_for(
            asyncio.gather(
                worker(SH, shell_cmd(), python_cmd(), barrier),
                worker(PYTHON, python_cmd(), shell_cmd(), barrier),
            ),
            timeout=30,
        )
        assert results == [({SH}, True, PYTHON), ({PYTHON}, True, SH)]
        assert current_scope().allowlist is None

    asyncio.run(main())


def test_task_keeps_the_scope_it_started_with() -> None:
    async def child(gate: asyncio.Event) -> tuple[frozenset[Program] | None, int]:
        await gate.wait()
        result = await shell_cmd().run()
        return current_scope().allowlist, result.exit_code

    async def main() -> None:
        gate = asyncio.Event()
        with narrow(SH):
            task = asyncio.create_task(child(gate))
        assert current_scope().allowlist is None
        with narrow(PYTHON):  # a later scope in the parent does not reach the task
            gate.set()
            allowlist, code = await asyncio.wait_for(task, timeout=30)
        assert allowlist == {SH}
        assert code == 0

    asyncio.run(main())


def test_scope_entered_in_a_task_does_not_leak_to_its_parent() -> None:
    async def child() -> None:
        narrow(ECHO)  # never detached: it must die with the task's context

    async def main() -> None:
        await asyncio.create_task(child())
        assert current_scope().allowlist is None
        assert (await python_cmd().run()).ok

    asyncio.run(main())


# --- observers -----------------------------------------------------------------


def test_sync_and_async_observers_both_receive_every_event() -> None:
    sync_events: list[ExecEvent] = []
    async_events: list[ExecEvent] = []
    callable_events: list[ExecEvent] = []

    async def async_hook(event: ExecEvent) -> None:
        await asyncio.sleep(0)
        async_events.append(event)

    class AsyncCallable:
        async def __call__(self, event: ExecEvent) -> None:
            callable_events.append(event)

    with observe(sync_events.append), observe(async_hook), observe(AsyncCallable()):
        result = shell("echo one; echo two >&2").run_sync()
    assert result.ok
    phases = [event.phase for event in sync_events]
    assert phases[0] == ExecPhase.PLAN
    assert phases[-1] == ExecPhase.EXIT
    assert sorted(phases) == sorted(
        [ExecPhase.PLAN, ExecPhase.START, ExecPhase.STDOUT, ExecPhase.STDERR, ExecPhase.EXIT]
    )
    assert async_events == sync_events
    assert callable_events == sync_events


def test_observers_in_nested_scopes_all_receive_events() -> None:
    outer: list[ExecPhase] = []
    inner: list[ExecPhase] = []
    with observe(lambda event: outer.append(event.phase)):
        with observe(lambda event: inner.append(event.phase)):
            shell_cmd().run_sync()
        shell_cmd().run_sync()
    assert inner == [ExecPhase.PLAN, ExecPhase.START, ExecPhase.EXIT]
    assert outer == inner * 2


def test_observer_in_scope_config_receives_events() -> None:
    phases: list[ExecPhase] = []

    async def hook(event: ExecEvent) -> None:
        phases.append(event.phase)

    with scoped(ScopeConfig(observe_hooks=[hook])):
        assert current_scope().observed
        shell_cmd().run_sync()
    assert not current_scope().observed
    assert phases == [ExecPhase.PLAN, ExecPhase.START, ExecPhase.EXIT]
