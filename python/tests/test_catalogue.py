"""Tests for the program catalogue: projects, the allowlist and look-ups.

The catalogue is the first line of defence: a program it does not list can
never be built into a command, so its validation and its default contents
are checked here in detail.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

import cuprum
from cuprum import (
    CAT,
    DEFAULT_CATALOGUE,
    ECHO,
    GIT,
    LS,
    RSYNC,
    TAR,
    CuprumError,
    DuplicateProgramError,
    DuplicateProjectError,
    Program,
    ProgramCatalogue,
    ProjectSettings,
    UnknownProgramError,
)

ALPHA = Program("alpha")
BETA = Program("beta")
GAMMA = Program("gamma")


def two_projects() -> ProgramCatalogue:
    return ProgramCatalogue(
        projects=(
            ProjectSettings(name="first", programs=(ALPHA, BETA), documentation_locations=("https://a",)),
            ProjectSettings(name="second", programs=(GAMMA,), noise_rules=(r"^note: ",)),
        ),
    )


# --- Program ---------------------------------------------------------------


def test_program_is_a_plain_string_at_run_time() -> None:
    program = Program("echo")
    assert type(program) is str
    assert program == "echo"
    assert ECHO == "echo"


# --- ProjectSettings -------------------------------------------------------


def test_project_settings_keeps_its_fields() -> None:
    project = ProjectSettings(
        name="tools",
        programs=(ALPHA, BETA),
        documentation_locations=("https://example.org/docs",),
        noise_rules=(r"^warning: ",),
    )
    assert project.name == "tools"
    assert project.programs == (ALPHA, BETA)
    assert project.documentation_locations == ("https://example.org/docs",)
    assert project.noise_rules == (r"^warning: ",)


def test_project_settings_defaults_are_empty() -> None:
    project = ProjectSettings(name="tools", programs=(ALPHA,))
    assert project.documentation_locations == ()
    assert project.noise_rules == ()


def test_project_settings_normalises_sequences_to_tuples() -> None:
    programs = [ALPHA, BETA]
    docs = ["a", "b"]
    rules = ["x"]
    project = ProjectSettings(
        name="tools",
        programs=programs,  # pyright: ignore[reportArgumentType]
        documentation_locations=docs,  # pyright: ignore[reportArgumentType]
        noise_rules=rules,  # pyright: ignore[reportArgumentType]
    )
    assert project.programs == (ALPHA, BETA)
    assert project.documentation_locations == ("a", "b")
    assert project.noise_rules == ("x",)
    # The settings hold their own copies: changing the inputs changes nothing.
    programs.append(GAMMA)
    docs.clear()
    rules.append("y")
    assert project.programs == (ALPHA, BETA)
    assert project.documentation_locations == ("a", "b")
    assert project.noise_rules == ("x",)


def test_project_settings_accepts_any_iterable() -> None:
    project = ProjectSettings(name="tools", programs=iter((ALPHA, BETA)))  # pyright: ignore[reportArgumentType]
    assert project.programs == (ALPHA, BETA)


def test_project_settings_needs_a_name() -> None:
    with pytest.raises(ValueError, match="non-empty name"):
        ProjectSettings(name="", programs=(ALPHA,))


@pytest.mark.parametrize("field", ["programs", "documentation_locations", "noise_rules"])
def test_project_settings_rejects_a_bare_string(field: str) -> None:
    # A string is iterable, but ("e", "c", "h", "o") is never what was meant.
    kwargs: dict[str, object] = {"name": "tools", "programs": (ALPHA,), field: "echo"}
    with pytest.raises(TypeError, match=f"ProjectSettings.{field} must be a sequence of strings"):
        ProjectSettings(**kwargs)  # pyright: ignore[reportArgumentType]


@pytest.mark.parametrize("bad", ["", "\0", "ec\0ho", "echo\0"])
def test_project_settings_rejects_invalid_program_names(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid program name") as caught:
        ProjectSettings(name="tools", programs=(ALPHA, Program(bad)))
    assert "'tools'" in str(caught.value)


def test_project_settings_is_immutable_and_hashable() -> None:
    project = ProjectSettings(name="tools", programs=(ALPHA,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        project.name = "other"  # pyright: ignore[reportAttributeAccessIssue]
    assert hash(project) == hash(ProjectSettings(name="tools", programs=[ALPHA]))  # pyright: ignore[reportArgumentType]
    assert project == ProjectSettings(name="tools", programs=[ALPHA])  # pyright: ignore[reportArgumentType]


# --- ProgramCatalogue ------------------------------------------------------


def test_catalogue_allowlist_is_every_program() -> None:
    catalogue = two_projects()
    assert catalogue.allowlist == frozenset({ALPHA, BETA, GAMMA})
    assert isinstance(catalogue.allowlist, frozenset)


def test_catalogue_keeps_project_order() -> None:
    catalogue = two_projects()
    assert [project.name for project in catalogue.projects] == ["first", "second"]
    assert isinstance(catalogue.projects, tuple)


def test_catalogue_is_allowed_and_contains_agree() -> None:
    catalogue = two_projects()
    for program in (ALPHA, BETA, GAMMA):
        assert catalogue.is_allowed(program)
        assert program in catalogue
    for program in ("delta", "", "ALPHA", "alpha ", "/usr/bin/alpha"):
        assert not catalogue.is_allowed(program)
        assert program not in catalogue


def test_catalogue_contains_tolerates_non_strings() -> None:
    catalogue = two_projects()
    assert 42 not in catalogue
    assert None not in catalogue


def test_catalogue_lookup_returns_the_owning_project() -> None:
    catalogue = two_projects()
    first, second = catalogue.projects
    assert catalogue.lookup(ALPHA) is first
    assert catalogue.lookup("beta") is first
    assert catalogue.lookup(GAMMA) is second


def test_catalogue_lookup_unknown_raises_unknown_program_error() -> None:
    catalogue = two_projects()
    with pytest.raises(UnknownProgramError) as caught:
        catalogue.lookup("delta")
    error = caught.value
    assert error.program == "delta"
    assert isinstance(error, LookupError)
    assert isinstance(error, CuprumError)
    assert "'delta'" in str(error)
    # The message names what is known, to help spot a typo.
    assert "alpha, beta, gamma" in str(error)


def test_unknown_program_error_is_caught_by_a_lookup_error_handler() -> None:
    catalogue = two_projects()
    with pytest.raises(LookupError) as caught:
        catalogue.lookup("delta")
    assert type(caught.value) is UnknownProgramError


def test_unknown_program_error_abbreviates_a_long_allowlist() -> None:
    programs = tuple(Program(f"tool{index:02d}") for index in range(20))
    catalogue = ProgramCatalogue(projects=(ProjectSettings(name="many", programs=programs),))
    with pytest.raises(UnknownProgramError) as caught:
        catalogue.lookup("missing")
    message = str(caught.value)
    assert "tool00" in message
    assert "tool11" in message
    assert "tool12" not in message
    assert message.endswith(", ...)")


def test_empty_catalogue_allows_nothing() -> None:
    catalogue = ProgramCatalogue(projects=())
    assert catalogue.allowlist == frozenset()
    assert catalogue.projects == ()
    assert not catalogue.is_allowed("echo")
    with pytest.raises(UnknownProgramError, match="known: none"):
        catalogue.lookup("echo")


def test_catalogue_accepts_a_generator_of_projects() -> None:
    projects = (ProjectSettings(name=f"p{index}", programs=(Program(f"tool{index}"),)) for index in range(3))
    catalogue = ProgramCatalogue(projects)
    assert [project.name for project in catalogue.projects] == ["p0", "p1", "p2"]
    assert catalogue.allowlist == {"tool0", "tool1", "tool2"}


def test_catalogue_does_not_follow_changes_to_its_input() -> None:
    projects = [ProjectSettings(name="first", programs=(ALPHA,))]
    catalogue = ProgramCatalogue(projects)
    projects.append(ProjectSettings(name="second", programs=(BETA,)))
    assert catalogue.allowlist == {ALPHA}
    assert not catalogue.is_allowed(BETA)


def test_catalogue_cannot_grow_attributes() -> None:
    catalogue = two_projects()
    with pytest.raises(AttributeError):
        catalogue.extra = 1  # pyright: ignore[reportAttributeAccessIssue]


def test_duplicate_project_name_is_rejected() -> None:
    with pytest.raises(DuplicateProjectError, match="duplicate project 'tools'") as caught:
        ProgramCatalogue(
            projects=(
                ProjectSettings(name="tools", programs=(ALPHA,)),
                ProjectSettings(name="tools", programs=(BETA,)),
            ),
        )
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, CuprumError)


def test_program_claimed_by_two_projects_is_rejected() -> None:
    with pytest.raises(DuplicateProgramError) as caught:
        ProgramCatalogue(
            projects=(
                ProjectSettings(name="first", programs=(ALPHA, BETA)),
                ProjectSettings(name="second", programs=(GAMMA, BETA)),
            ),
        )
    message = str(caught.value)
    assert "'beta'" in message
    assert "'first'" in message
    assert "'second'" in message
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, CuprumError)


def test_program_listed_twice_by_one_project_is_rejected() -> None:
    with pytest.raises(DuplicateProgramError, match="'alpha'"):
        ProgramCatalogue(projects=(ProjectSettings(name="first", programs=(ALPHA, BETA, ALPHA)),))


def test_duplicate_errors_are_distinct_types() -> None:
    assert not issubclass(DuplicateProgramError, DuplicateProjectError)
    assert not issubclass(DuplicateProjectError, DuplicateProgramError)


def test_catalogue_repr_names_the_projects() -> None:
    assert repr(two_projects()) == "ProgramCatalogue(projects=['first', 'second'])"


# --- DEFAULT_CATALOGUE -----------------------------------------------------


@pytest.mark.parametrize(
    ("program", "name"),
    [(ECHO, "echo"), (CAT, "cat"), (LS, "ls"), (GIT, "git"), (RSYNC, "rsync"), (TAR, "tar")],
)
def test_default_catalogue_lists_common_tools(program: Program, name: str) -> None:
    assert program == name
    assert DEFAULT_CATALOGUE.is_allowed(program)
    assert program in DEFAULT_CATALOGUE.allowlist
    assert program in DEFAULT_CATALOGUE.lookup(program).programs


@pytest.mark.parametrize(
    "program",
    [
        # Shells and programs that run arbitrary commands would defeat the allowlist.
        "sh",
        "bash",
        "dash",
        "zsh",
        "ksh",
        "csh",
        "fish",
        "env",
        "xargs",
        "awk",
        "gawk",
        "mawk",
        "nawk",
        "find",
        "/bin/sh",
        "/usr/bin/env",
    ],
)
def test_default_catalogue_leaves_out_command_runners(program: str) -> None:
    assert not DEFAULT_CATALOGUE.is_allowed(program)
    assert program not in DEFAULT_CATALOGUE
    with pytest.raises(UnknownProgramError):
        DEFAULT_CATALOGUE.lookup(program)


def test_default_catalogue_owners() -> None:
    assert DEFAULT_CATALOGUE.lookup(ECHO).name == "coreutils"
    assert DEFAULT_CATALOGUE.lookup(CAT).name == "coreutils"
    assert DEFAULT_CATALOGUE.lookup(GIT).name == "git"
    assert DEFAULT_CATALOGUE.lookup(RSYNC).name == "rsync"
    assert DEFAULT_CATALOGUE.lookup(TAR).name == "tar"


def test_default_catalogue_projects_are_documented_and_rules_compile() -> None:
    for project in DEFAULT_CATALOGUE.projects:
        assert project.documentation_locations, project.name
        for rule in project.noise_rules:
            re.compile(rule)


def test_git_noise_rule_matches_hints_only() -> None:
    rules = [re.compile(rule) for rule in DEFAULT_CATALOGUE.lookup(GIT).noise_rules]
    assert any(rule.search("hint: use --force") for rule in rules)
    assert not any(rule.search("error: failed to push") for rule in rules)


def test_exported_constants_match_the_default_catalogue() -> None:
    exported = {
        name: getattr(cuprum, name)
        for name in cuprum.__all__
        if name.isupper()
        and name != "DEFAULT_CATALOGUE"
        and not isinstance(getattr(cuprum, name), cuprum.Stream)
    }
    assert exported
    for name, program in exported.items():
        assert program == name.lower(), name
        assert DEFAULT_CATALOGUE.is_allowed(program), name
    # ... and every catalogued program has its constant.
    assert DEFAULT_CATALOGUE.allowlist == frozenset(exported.values())
