"""Steps for scopes_and_events.feature."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from behave import given, then, when
from support import py

from cuprum import (
    ECHO,
    ExecEvent,
    ExecPhase,
    ExecutionContext,
    ScopeConfig,
    ScopeHandle,
    observe,
    scoped,
    sh,
)

if TYPE_CHECKING:
    from behave.runner import Context

PRINT_DEMO = "import os; print(os.environ.get('CUPRUM_DEMO', '<unset>'))"


def _enter(context: Context, handle: ScopeHandle) -> None:
    """Keep a scope layer for the scenario; environment.py detaches it after."""
    context.cleanups.append(handle.detach)


@given('the live environment sets CUPRUM_DEMO to "{value}"')
def step_live_environment(context: Context, value: str) -> None:
    del context
    os.environ["CUPRUM_DEMO"] = value


@given('an outer scope overlays CUPRUM_DEMO with "{value}"')
@given('an inner scope overlays CUPRUM_DEMO with "{value}"')
def step_scope_overlay(context: Context, value: str) -> None:
    _enter(context, scoped(ScopeConfig(env_overlay={"CUPRUM_DEMO": value})))


@when("a child prints CUPRUM_DEMO")
def step_child_prints(context: Context) -> None:
    context.printed = (py(PRINT_DEMO).run_sync(timeout=30).stdout or "").strip()


@then('it prints "{value}"')
def step_it_prints(context: Context, value: str) -> None:
    assert context.printed == value, context.printed


@then('with the context overlaying CUPRUM_DEMO with "{value}" it prints "{value2}"')
def step_context_overlay(context: Context, value: str, value2: str) -> None:
    del context
    result = py(PRINT_DEMO).run_sync(timeout=30, context=ExecutionContext(env={"CUPRUM_DEMO": value}))
    assert (result.stdout or "").strip() == value2, result.stdout


@when('a command runs with the environment variable "{name}" set to "{value}"')
def step_invalid_env(context: Context, name: str, value: str) -> None:
    context.started = []

    def remember(event: ExecEvent) -> None:
        if event.phase is ExecPhase.START:
            context.started.append(event.pid)

    context.error = None
    with observe(remember):
        try:
            sh.make(ECHO)("x").run_sync(context=ExecutionContext(env={name: value}))
        except ValueError as error:
            context.error = error
    context.bad_name = name


@then("a ValueError names the variable")
def step_value_error_names(context: Context) -> None:
    assert isinstance(context.error, ValueError), context.error
    assert repr(context.bad_name) in str(context.error), str(context.error)


@then("no process was started")
def step_no_process(context: Context) -> None:
    assert context.started == [], context.started


@given("hooks registered in an outer and an inner scope")
def step_hooks(context: Context) -> None:
    order: list[str] = []
    context.order = order
    context.outer = ScopeConfig(
        before_hooks=(lambda _cmd: order.append("before outer"),),
        after_hooks=(lambda _cmd, _result: order.append("after outer"),),
    )
    context.inner = ScopeConfig(
        before_hooks=(lambda _cmd: order.append("before inner"),),
        after_hooks=(lambda _cmd, _result: order.append("after inner"),),
    )


@when("a command runs inside both scopes")
def step_run_in_both(context: Context) -> None:
    with scoped(context.outer), scoped(context.inner):
        assert sh.make(ECHO)("x").run_sync(timeout=30).ok


@then('the hooks ran in the order "{order}"')
def step_hook_order(context: Context, order: str) -> None:
    assert context.order == order.split(", "), context.order


@when('a command printing "{first}" and "{second}" runs under an observer')
def step_observed_run(context: Context, first: str, second: str) -> None:
    events: list[ExecEvent] = []
    context.events = events
    with observe(events.append):
        sh.make(ECHO)(f"{first}\n{second}").run_sync(timeout=30)


@then('the observer saw the phases "{phases}"')
def step_phases(context: Context, phases: str) -> None:
    seen = [event.phase.value for event in context.events]
    assert seen == phases.split(", "), seen


@then('the stdout events carry the lines "{first}" and "{second}"')
def step_lines(context: Context, first: str, second: str) -> None:
    lines = [event.line for event in context.events if event.phase is ExecPhase.STDOUT]
    assert lines == [first, second], lines


@then('the exit event reports the outcome "{outcome}"')
def step_outcome(context: Context, outcome: str) -> None:
    (exit_event,) = [event for event in context.events if event.phase is ExecPhase.EXIT]
    assert exit_event.outcome is not None
    assert exit_event.outcome.value == outcome, exit_event.outcome


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@when("a command runs under an observer that raises")
def step_raising_observer(context: Context) -> None:
    capture = _Capture()
    hooks_logger = logging.getLogger("cuprum.hooks")
    hooks_logger.addHandler(capture)
    context.cleanups.append(lambda: hooks_logger.removeHandler(capture))
    context.log = capture

    def broken(event: ExecEvent) -> None:
        if event.phase is ExecPhase.START:
            msg = "observer bug"
            raise RuntimeError(msg)

    with observe(broken):
        context.result = sh.make(ECHO)("still fine").run_sync(timeout=30)


@then("the command still succeeds")
def step_still_succeeds(context: Context) -> None:
    assert context.result.ok
    assert context.result.stdout == "still fine\n"


@then('the error was logged on "{name}"')
def step_error_logged(context: Context, name: str) -> None:
    (record,) = context.log.records
    assert record.name == name
    assert record.exc_info is not None
    assert "observer bug" in str(record.exc_info[1])
