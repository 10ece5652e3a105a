"""Parity with the reference design and its roadmap (issue 13): sugar, policy
toggles, catalogue metadata that does something, events that say enough."""

from __future__ import annotations

import io
import logging
import warnings

import pytest

import cuprum
from cuprum import (
    CAT,
    DEFAULT_CATALOGUE,
    ECHO,
    GREP,
    LS,
    ConcurrentConfig,
    ExecEvent,
    ExecPhase,
    ExecutionContext,
    ForbiddenProgramError,
    Program,
    ProjectSettings,
    RunOutputOptions,
    ScopeConfig,
    UnknownProgramError,
    env,
    observe,
    run_concurrent_sync,
    scoped,
    sh,
)
from cuprum.adapters.logging import LoggingHook
from cuprum.sh import CommandBuilder, SugarWarning

# --- attribute sugar -------------------------------------------------------------------


def test_registered_sugar_builds_the_same_command() -> None:
    with sh.register("ls", LS):
        builder = sh.ls  # pyright: ignore[reportAttributeAccessIssue]
        assert isinstance(builder, CommandBuilder)
        assert builder("-l") == sh.make(LS)("-l")
        assert sh.registered() == {"ls": LS}
    with pytest.raises(AttributeError, match="register it"):
        _ = sh.ls  # pyright: ignore[reportAttributeAccessIssue]


def test_an_unregistered_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = sh.nope  # pyright: ignore[reportAttributeAccessIssue]
    assert not hasattr(sh, "nothing_here")


def test_the_allowlist_still_decides_at_run_time() -> None:
    registration = sh.register("cat", CAT)
    try:
        with scoped(ScopeConfig(allowlist={ECHO})), pytest.raises(ForbiddenProgramError):
            sh.cat().run_sync()  # pyright: ignore[reportAttributeAccessIssue]
        assert sh.cat().run_sync().ok  # pyright: ignore[reportAttributeAccessIssue]
    finally:
        registration.detach()
        registration.detach()  # idempotent


def test_sugar_for_a_program_outside_the_catalogue_warns_or_raises() -> None:
    with pytest.warns(SugarWarning, match="not in the catalogue"):
        sh.register("make_", Program("make"))
    assert "make_" not in sh.registered()
    with pytest.raises(UnknownProgramError):
        sh.register("make_", Program("make"), strict=True)


@pytest.mark.parametrize("name", ["make", "register", "_private", "not an identifier", "1x"])
def test_reserved_or_bad_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="cannot register"):
        sh.register(name, ECHO)


def test_sugar_can_come_from_another_catalogue() -> None:
    tools = DEFAULT_CATALOGUE.extended(ProjectSettings(name="tools", programs=(Program("env"),)))
    with sh.register("printenv_via_env", Program("env"), catalogue=tools):
        cmd = sh.printenv_via_env("-u", "X")  # pyright: ignore[reportAttributeAccessIssue]
        assert cmd.argv == ("env", "-u", "X")


# --- catalogue metadata and extension ---------------------------------------------------


def test_extending_the_catalogue_is_one_call_and_a_scope_can_name_it() -> None:
    mine = DEFAULT_CATALOGUE.extended(ProjectSettings(name="mine", programs=(Program("uname"),)))
    with pytest.raises(UnknownProgramError):
        sh.make("uname")
    with scoped(ScopeConfig(catalogue=mine)):
        assert sh.make("uname")("-s").run_sync().stdout == "Linux\n"
        assert sh.make(ECHO)("still there").run_sync().ok


def test_unknown_program_errors_suggest_and_point_at_documentation() -> None:
    with pytest.raises(UnknownProgramError) as caught:
        sh.make("grpe")
    assert caught.value.suggestion is not None
    assert caught.value.suggestion[0] == GREP
    assert "did you mean 'grep'?" in str(caught.value)
    assert "https://www.gnu.org/software/grep/manual/" in str(caught.value)


def test_forbidden_program_errors_point_at_documentation() -> None:
    with scoped(ScopeConfig(allowlist={ECHO})), pytest.raises(ForbiddenProgramError) as caught:
        sh.make(GREP)("x").run_sync()
    assert "documentation: https://www.gnu.org/software/grep/manual/" in str(caught.value)
    assert caught.value.documentation_locations == ("https://www.gnu.org/software/grep/manual/",)


def test_noise_rules_flag_lines_and_the_logging_adapter_skips_them() -> None:
    noisy = cuprum.ProgramCatalogue(
        (ProjectSettings(name="noisy", programs=(Program("printf"),), noise_rules=(r"^hint: ", "^debug")),)
    )
    events: list[ExecEvent] = []
    stream = io.StringIO()
    logger = logging.getLogger("test.noise")
    logger.addHandler(logging.StreamHandler(stream))
    logger.setLevel(logging.DEBUG)
    try:
        with observe(events.append), observe(LoggingHook(logger, lines=True)):
            sh.make("printf", catalogue=noisy)("hint: try this\\nreal line\\ndebug x\\n").run_sync()
    finally:
        logger.handlers.clear()
    lines = {event.line: event.noise for event in events if event.phase is ExecPhase.STDOUT}
    assert lines == {"hint: try this": True, "real line": False, "debug x": True}
    logged_lines = [line for line in stream.getvalue().splitlines() if line.startswith("stdout ")]
    assert logged_lines == ["stdout printf: real line"]


def test_a_bad_noise_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="noise rule"):
        ProjectSettings(name="bad", programs=(Program("x"),), noise_rules=("(",))


# --- events carry what the design lists -----------------------------------------------------


def test_events_carry_project_choices_overlay_names_cwd_and_stage() -> None:
    events: list[ExecEvent] = []
    with env(CUPRUM_T_SCOPE="secret-value"), observe(events.append):
        (sh.make(ECHO)("x") | sh.make(CAT)()).run_sync(
            context=ExecutionContext(env={"CUPRUM_T_CONTEXT": "v"}, cwd="/"),
            output=RunOutputOptions(echo=True),
        )
    starts = [event for event in events if event.phase is ExecPhase.START]
    assert [event.stage for event in starts] == [0, 1]
    for event in starts:
        assert event.project == "coreutils"
        assert (event.capture, event.echo) == (True, True)
        assert event.env_names == ("CUPRUM_T_CONTEXT", "CUPRUM_T_SCOPE")
        assert event.cwd == "/"
        assert event.executable is not None
        assert event.executable.startswith("/")
    assert "secret-value" not in repr(events)


# --- policy toggles -----------------------------------------------------------------------------


def test_a_scope_sets_the_default_echo(capsys: pytest.CaptureFixture[str]) -> None:
    with scoped(ScopeConfig(echo=True)):
        sh.make(ECHO)("echoed").run_sync()
        sh.make(ECHO)("quiet").run_sync(output=RunOutputOptions(echo=False))
    assert capsys.readouterr().out == "echoed\n"


def test_toggles_combine() -> None:
    """A locked, echoing scope with its own catalogue: each toggle keeps its meaning."""
    mine = DEFAULT_CATALOGUE.extended(ProjectSettings(name="mine", programs=(Program("uname"),)))
    sink = io.StringIO()
    with scoped(ScopeConfig(allowlist={Program("uname")}, locked=True, echo=True, catalogue=mine)):
        with pytest.raises(cuprum.ScopeLockedError):
            cuprum.allow(ECHO)
        result = sh.make("uname")().run_sync(context=ExecutionContext(stdout_sink=sink))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with sh.register("un", Program("uname")):
                assert sh.un().argv == ("uname",)  # pyright: ignore[reportAttributeAccessIssue]
    assert sink.getvalue() == result.stdout


# --- batches ------------------------------------------------------------------------------------


def test_an_empty_batch_is_an_empty_successful_result() -> None:
    batch = run_concurrent_sync()
    assert batch.results == ()
    assert batch.ok
    assert run_concurrent_sync(config=ConcurrentConfig(fail_fast=True)).ok
