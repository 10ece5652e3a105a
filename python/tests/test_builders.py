"""Tests for building commands: ``sh.make``, argument conversion and ``SafeCmd``.

Nothing here starts a process: a command is only data until it is run, and
every mistake the builder can see must be reported when the command is
built, not when it is spawned.
"""

from __future__ import annotations

import os
import pathlib
import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import SH, TEST_CATALOGUE

from cuprum import CAT, DEFAULT_CATALOGUE, ECHO, GIT, LS, Pipeline, Program, SafeCmd, UnknownProgramError, sh

NO_NUL_TEXT = st.text(alphabet=st.characters(exclude_characters="\0"))


class BytesPath:
    """An ``os.PathLike`` that speaks bytes, as some file APIs do."""

    def __init__(self, path: bytes) -> None:
        self._path = path

    def __fspath__(self) -> bytes:
        return self._path


class TextPath:
    """A minimal ``os.PathLike[str]`` that is not a ``pathlib`` path."""

    def __init__(self, path: str) -> None:
        self._path = path

    def __fspath__(self) -> str:
        return self._path


# --- sh.make -----------------------------------------------------------------


def test_make_unknown_program_fails_at_build_time() -> None:
    with pytest.raises(UnknownProgramError) as caught:
        sh.make(Program("definitely-not-catalogued"))
    assert caught.value.program == "definitely-not-catalogued"


def test_make_refuses_a_shell_from_the_default_catalogue() -> None:
    with pytest.raises(UnknownProgramError):
        sh.make(SH)
    with pytest.raises(LookupError):
        sh.make("bash")


def test_make_uses_the_given_catalogue() -> None:
    builder = sh.make(SH, catalogue=TEST_CATALOGUE)
    cmd = builder("-c", "true")
    assert builder.program == SH
    assert cmd.program == SH
    assert cmd.project is TEST_CATALOGUE.lookup(SH)
    assert cmd.project.name == "test-tools"


def test_make_accepts_a_plain_string() -> None:
    cmd = sh.make("echo")("hi")
    assert cmd.argv == ("echo", "hi")
    assert cmd.program == ECHO
    assert cmd.project is DEFAULT_CATALOGUE.lookup(ECHO)


def test_builder_without_arguments_is_just_the_program() -> None:
    assert sh.make(LS)().argv == ("ls",)


def test_builder_repr_names_the_program() -> None:
    assert repr(sh.make(ECHO)) == "CommandBuilder('echo')"


def test_builder_is_reusable_and_commands_are_independent() -> None:
    echo = sh.make(ECHO)
    first = echo("one")
    second = echo("two", "three")
    assert first.argv == ("echo", "one")
    assert second.argv == ("echo", "two", "three")


# --- positional arguments --------------------------------------------------


def test_positional_arguments_become_strings_in_order() -> None:
    cmd = sh.make(ECHO)("text", 3, -7, 1.5, pathlib.Path("/srv/some dir/file"), TextPath("rel/path"))
    assert cmd.argv == ("echo", "text", "3", "-7", "1.5", "/srv/some dir/file", "rel/path")
    assert all(type(arg) is str for arg in cmd.argv)


def test_large_and_special_numbers_use_str() -> None:
    cmd = sh.make(ECHO)(2**70, 1e-300, 0, 0.0)
    assert cmd.argv[1:] == (str(2**70), str(1e-300), "0", "0.0")


def test_bytes_path_is_decoded_with_the_filesystem_encoding() -> None:
    raw = os.fsencode("caf\u00e9/na\u00efve")
    cmd = sh.make(CAT)(BytesPath(raw))  # pyright: ignore[reportArgumentType]
    assert cmd.argv == ("cat", os.fsdecode(raw))


def test_arguments_are_not_split_or_interpreted() -> None:
    tricky = ["a b", "$(rm -rf /)", "*", "'", '"', ";", "|", "&&", "", "\n", "--flag"]
    cmd = sh.make(ECHO)(*tricky)
    assert cmd.argv[1:] == tuple(tricky)


@pytest.mark.parametrize("value", [True, False])
def test_bool_positional_is_a_type_error(value: bool) -> None:
    with pytest.raises(TypeError, match="argument 1 is a bool"):
        sh.make(ECHO)("ok", value)  # pyright: ignore[reportArgumentType]


def test_none_positional_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="argument 0 is None"):
        sh.make(ECHO)(None)  # pyright: ignore[reportArgumentType]


@pytest.mark.parametrize("value", [b"bytes", ["list"], ("tuple",), {"a": 1}, object(), 1j])
def test_unsupported_positional_types_are_type_errors(value: object) -> None:
    with pytest.raises(TypeError, match="unsupported type"):
        sh.make(ECHO)(value)  # pyright: ignore[reportArgumentType]


@pytest.mark.parametrize("value", ["\0", "a\0", "\0a", "a\0b"])
def test_nul_in_positional_is_a_value_error(value: str) -> None:
    with pytest.raises(ValueError, match="NUL"):
        sh.make(ECHO)(value)


def test_nul_in_path_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="NUL"):
        sh.make(CAT)(pathlib.PurePosixPath("a\0b"))  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match="NUL"):
        sh.make(CAT)(BytesPath(b"a\0b"))  # pyright: ignore[reportArgumentType]


# --- keyword options -------------------------------------------------------


def test_keyword_options_become_long_options() -> None:
    cmd = sh.make(GIT)("log", max_count=3, format="%H", since=1.5, git_dir=pathlib.Path("/repo/.git"))
    assert cmd.argv == ("git", "log", "--max-count=3", "--format=%H", "--since=1.5", "--git-dir=/repo/.git")


def test_true_is_a_bare_flag_and_false_is_omitted() -> None:
    cmd = sh.make(GIT)("log", oneline=True, reverse=False, no_color=True)
    assert cmd.argv == ("git", "log", "--oneline", "--no-color")


def test_options_follow_positionals_in_the_order_given() -> None:
    cmd = sh.make(LS)("b", "a", zeta=1, alpha=2, middle_name=True)
    assert cmd.argv == ("ls", "b", "a", "--zeta=1", "--alpha=2", "--middle-name")


def test_every_underscore_becomes_a_dash() -> None:
    assert sh.make(LS)(a_b_c_d=True).argv == ("ls", "--a-b-c-d")
    with pytest.raises(ValueError, match="invalid option name"):
        sh.make(LS)(_leading="x")


def test_option_values_are_not_split() -> None:
    cmd = sh.make(GIT)("commit", message="fix: a b; c=d")
    assert cmd.argv == ("git", "commit", "--message=fix: a b; c=d")


def test_integer_options_one_and_zero_are_values_not_flags() -> None:
    cmd = sh.make(GIT)("log", max_count=1, skip=0)
    assert cmd.argv == ("git", "log", "--max-count=1", "--skip=0")


def test_none_option_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="option 'max_count' is None"):
        sh.make(GIT)("log", max_count=None)  # pyright: ignore[reportArgumentType]


@pytest.mark.parametrize("value", [b"x", ["x"], object()])
def test_unsupported_option_types_are_type_errors(value: object) -> None:
    with pytest.raises(TypeError, match="option 'opt' has unsupported type"):
        sh.make(LS)(opt=value)  # pyright: ignore[reportArgumentType]


@pytest.mark.parametrize("value", ["\0", "a\0b", "end\0"])
def test_nul_in_option_value_is_a_value_error(value: str) -> None:
    with pytest.raises(ValueError, match="NUL"):
        sh.make(GIT)("log", format=value)


@pytest.mark.parametrize("name", ["", "_", "___"])
def test_empty_option_name_is_a_value_error(name: str) -> None:
    with pytest.raises(ValueError, match="invalid option name"):
        sh.make(LS)(**{name: True})


@pytest.mark.parametrize("value", [True, False, "x", 1])
def test_nul_in_option_name_is_a_value_error(value: str | int) -> None:
    # Even a False option, which would be left out, names an impossible flag.
    with pytest.raises(ValueError, match=r"NUL|invalid option name"):
        sh.make(LS)(**{"co\0lor": value})


# --- SafeCmd -----------------------------------------------------------------


def test_safe_cmd_is_frozen() -> None:
    cmd = sh.make(ECHO)("hi")
    with pytest.raises(AttributeError, match="immutable"):
        cmd.argv = ("echo", "bye")  # pyright: ignore[reportAttributeAccessIssue]
    with pytest.raises(AttributeError, match="immutable"):
        cmd.program = Program("cat")  # pyright: ignore[reportAttributeAccessIssue]
    with pytest.raises(AttributeError):
        cmd.extra = 1  # pyright: ignore[reportAttributeAccessIssue]
    assert cmd.argv == ("echo", "hi")
    assert isinstance(cmd.argv, tuple)


def test_safe_cmd_equality_and_hash_follow_the_argv() -> None:
    echo = sh.make(ECHO)
    assert echo("a", n=True) == echo("a", n=True)
    assert hash(echo("a", n=True)) == hash(echo("a", n=True))
    assert echo("a") != echo("b")
    assert len({echo("a"), echo("a"), echo("b")}) == 2


def test_argv_starts_with_the_program() -> None:
    cmd = sh.make(CAT)("file")
    assert cmd.argv[0] == cmd.program == CAT


def test_shell_quoted_renders_for_a_posix_shell() -> None:
    cmd = sh.make(ECHO)("hello world", "it's", "$HOME", "")
    assert cmd.shell_quoted == "echo 'hello world' 'it'\"'\"'s' '$HOME' ''"
    assert str(cmd) == cmd.shell_quoted
    assert shlex.split(cmd.shell_quoted) == list(cmd.argv)


def test_shell_quoted_leaves_safe_words_bare() -> None:
    assert sh.make(GIT)("log", max_count=3).shell_quoted == "git log --max-count=3"


# --- composition -----------------------------------------------------------


def test_pipe_of_two_commands_is_a_pipeline() -> None:
    first = sh.make(ECHO)("hi")
    second = sh.make(CAT)()
    pipeline = first | second
    assert isinstance(pipeline, Pipeline)
    assert pipeline.stages == (first, second)
    assert pipeline.shell_quoted == "echo hi | cat"
    assert str(pipeline) == pipeline.shell_quoted


def test_pipes_flatten_in_either_grouping() -> None:
    a, b, c, d = (sh.make(ECHO)(name) for name in "abcd")
    assert (a | b | c).stages == (a, b, c)
    assert (a | (b | c)).stages == (a, b, c)
    assert ((a | b) | (c | d)).stages == (a, b, c, d)
    assert all(isinstance(stage, SafeCmd) for stage in ((a | b) | (c | d)).stages)


def test_pipe_does_not_change_its_operands() -> None:
    a, b, c = (sh.make(ECHO)(name) for name in "abc")
    left = a | b
    combined = left | c
    assert left.stages == (a, b)
    assert combined.stages == (a, b, c)


def test_pipe_with_a_non_command_is_a_type_error() -> None:
    cmd = sh.make(ECHO)("hi")
    with pytest.raises(TypeError):
        _ = cmd | "cat"  # pyright: ignore[reportOperatorIssue, reportUnknownVariableType]
    with pytest.raises(TypeError):
        _ = (cmd | cmd) | 3  # pyright: ignore[reportOperatorIssue, reportUnknownVariableType]


# --- properties --------------------------------------------------------------


@given(st.lists(NO_NUL_TEXT, max_size=8))
def test_text_arguments_pass_through_unchanged(args: list[str]) -> None:
    cmd = sh.make(ECHO)(*args)
    assert cmd.argv[0] == ECHO
    assert cmd.argv[1:] == tuple(args)


@given(st.lists(NO_NUL_TEXT, max_size=8))
def test_shell_quoted_round_trips_through_shlex(args: list[str]) -> None:
    cmd = sh.make(ECHO)(*args)
    assert shlex.split(cmd.shell_quoted) == list(cmd.argv)


@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True), NO_NUL_TEXT, max_size=5))
def test_option_values_pass_through_unchanged(options: dict[str, str]) -> None:
    cmd = sh.make(LS)(**options)
    expected: list[str] = []
    for name, value in options.items():
        key = name.removesuffix("_") if len(name) > 1 else name
        if len(key) == 1:
            expected.extend((f"-{key}", value))
        else:
            expected.append(f"--{key.replace('_', '-')}={value}")
    assert cmd.argv[1:] == tuple(expected)
    assert shlex.split(cmd.shell_quoted) == list(cmd.argv)


@given(NO_NUL_TEXT, NO_NUL_TEXT, st.lists(NO_NUL_TEXT, max_size=3), st.booleans())
def test_nul_anywhere_is_always_rejected(before: str, after: str, others: list[str], as_option: bool) -> None:
    poisoned = f"{before}\0{after}"
    args = others if as_option else [*others, poisoned]
    options = {"value": poisoned} if as_option else {}
    with pytest.raises(ValueError, match="NUL"):
        sh.make(ECHO)(*args, **options)
