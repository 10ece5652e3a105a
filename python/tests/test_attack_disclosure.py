"""Attacks on what Cuprum shows: secrets in error excerpts, reprs and events, and text that lies.

Each test reproduces a hole found in a third review round: a decoding error
cut its excerpt before redacting it, ``Redactor.env_names`` missed a run's
``ExecutionContext.env`` (and a result forgot its scope's overlays once the
scope was left), a ``str`` subclass argument showed one text and ran
another, a substituted pipeline could be altered after the command was
built, and reprs of contexts, scopes and redactors printed secrets.

A fourth round found an excerpt rebuilt around a secret that its bad byte
split, a quoted secret inside a substitution, option names and ok codes
still entering as subclasses, the default redactor's shortcut forgetting a
URL password from the command line, unredacted cwd and NUL-byte messages,
and results of observed runs that could not be pickled.
"""

from __future__ import annotations

import pickle
from typing import SupportsIndex

import pytest
from support import TEST_CATALOGUE, shell

from cuprum import (
    CAT,
    ECHO,
    FALSE,
    PRINTF,
    TR,
    CommandFailed,
    ExecEvent,
    ExecPhase,
    ExecutionContext,
    Pipeline,
    Redactor,
    RunOutputOptions,
    ScopeConfig,
    StdinInput,
    current_scope,
    env,
    observe,
    scoped,
    sh,
)

SECRET = "sk-live-0123456789abcdefghijklmnopqrstuv"  # noqa: S105 (a test secret)
"""Longer than the 32 characters an excerpt keeps on either side of a bad byte."""

TOKEN = "tok-9f8e7d6c5b4a"  # noqa: S105


def _fragments(secret: str, size: int = 6) -> list[str]:
    """Every piece of ``secret`` of ``size`` characters: none may be shown."""
    return [secret[start : start + size] for start in range(len(secret) - size + 1)]


def _shows_part_of(text: str, secret: str) -> bool:
    return any(fragment in text for fragment in _fragments(secret))


@pytest.mark.parametrize("pipeline", [False, True])
def test_a_decoding_error_shows_no_part_of_a_secret_beside_the_bad_byte(pipeline: bool) -> None:
    printf = sh.make(PRINTF)("%s\\377%s\\n", SECRET, SECRET)
    cmd = printf | sh.make(CAT)() if pipeline else printf
    with scoped(ScopeConfig(redactor=Redactor(values={SECRET}))), pytest.raises(UnicodeDecodeError) as caught:
        cmd.run_sync(output=RunOutputOptions(errors="strict"))
    error = caught.value
    assert error.object[error.start : error.end] == b"\xff"  # the bad byte is still shown
    assert b"***" in error.object
    assert not _shows_part_of(repr(error), SECRET)
    assert not _shows_part_of(str(error), SECRET)


def test_an_encoding_error_in_stdin_shows_no_part_of_a_secret() -> None:
    stdin = StdinInput(text=f"{SECRET}\udcff{SECRET}")
    with scoped(ScopeConfig(redactor=Redactor(values={SECRET}))), pytest.raises(UnicodeEncodeError) as caught:
        sh.make(CAT)().run_sync(stdin=stdin, context=ExecutionContext(errors="strict"))
    error = caught.value
    assert error.object[error.start : error.end] == "\udcff"
    assert not _shows_part_of(repr(error), SECRET)


def test_env_names_hide_a_value_given_only_in_the_context() -> None:
    events: list[ExecEvent] = []
    script = 'echo "token=$API_TOKEN"; echo "err $API_TOKEN" >&2; exit 3'
    scope = ScopeConfig(redactor=Redactor(env_names=["API_TOKEN"]), catalogue=TEST_CATALOGUE)
    with scoped(scope), observe(events.append), pytest.raises(CommandFailed) as caught:
        shell(script).run_sync(check=True, context=ExecutionContext(env={"API_TOKEN": TOKEN}))
    lines = [event.line for event in events if event.line is not None]
    assert lines == ["token=***", "err ***"]
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value.result)
    assert caught.value.result.stdout == f"token={TOKEN}\n"  # the data itself is kept


def test_a_result_keeps_hiding_its_runs_overlay_after_the_scope_is_left() -> None:
    with scoped(ScopeConfig(redactor=Redactor(env_names=["API_TOKEN"]), catalogue=TEST_CATALOGUE)):
        with env(API_TOKEN=TOKEN):
            result = shell('echo "token=$API_TOKEN"').run_sync()
        assert TOKEN not in repr(result)
    assert TOKEN not in repr(result)
    assert TOKEN not in repr(pickle.loads(pickle.dumps(result)))  # noqa: S301 (our own data)


class _Liar(str):
    """Shows one text to anything that asks through its methods, while being another."""

    __slots__ = ()

    def replace(self, *args: object, **kwargs: object) -> str:  # noqa: ARG002
        return "harmless"

    def partition(self, sep: str) -> tuple[str, str, str]:  # noqa: ARG002
        return ("x", "", "")

    def __str__(self) -> str:
        return "harmless"


def test_a_str_subclass_argument_cannot_show_one_text_and_run_another() -> None:
    events: list[ExecEvent] = []
    cmd = sh.make(PRINTF)("%s\n", _Liar("--password=hunter2 rm -rf /"))
    assert type(cmd.argv[2]) is str
    assert "rm -rf" in repr(cmd)  # what is shown is what runs
    with scoped(ScopeConfig(redactor=Redactor(options=["--password"]))), observe(events.append):
        result = cmd.run_sync()
    plan = next(event for event in events if event.phase is ExecPhase.PLAN)
    assert plan.argv[2] == "--password=***"
    assert "hunter2" not in repr(result)


def test_environment_tags_and_cwd_are_copied_to_plain_strings() -> None:
    context = ExecutionContext(
        env={_Liar("NAME"): _Liar("value")}, tags={_Liar("k"): _Liar("v")}, cwd=_Liar("/")
    )
    assert context.env is not None
    assert all(type(key) is str and type(value) is str for key, value in context.env.items())
    assert all(type(key) is str and type(value) is str for key, value in context.tags.items())
    events: list[ExecEvent] = []
    with observe(events.append):
        sh.make(ECHO)("x").run_sync(context=context)
    assert {type(event.cwd) for event in events} == {str}


def test_a_substituted_pipeline_cannot_be_altered_after_the_command_is_built() -> None:
    inner = sh.make(ECHO)("harmless") | sh.make(CAT)()
    cmd = sh.make(CAT)(inner)
    shown = cmd.shell_quoted
    object.__setattr__(inner, "stages", (sh.make(ECHO)("something else"), sh.make(CAT)()))
    assert cmd.shell_quoted == shown
    assert cmd.run_sync().stdout == "harmless\n"


def test_reprs_of_contexts_scopes_and_redactors_show_no_secret() -> None:
    shown = [
        repr(ExecutionContext(env={"API_TOKEN": TOKEN})),
        repr(ScopeConfig(env_overlay={"API_TOKEN": TOKEN})),
        repr(Redactor(values={TOKEN})),
    ]
    assert not any(TOKEN in text for text in shown), shown
    with env(API_TOKEN=TOKEN):
        assert TOKEN not in repr(current_scope())


# -- fourth round ------------------------------------------------------------


@pytest.mark.parametrize(
    ("redactor", "output"),
    [
        (Redactor(patterns=[r"token=(\S+)"]), r"token=AbCd\377SECRET-TAIL-1234\n"),
        (Redactor(values={"AbCd\udcffSECRET"}), r"token=AbCd\377SECRET-TAIL-1234\n"),
    ],
)
def test_a_decoding_error_never_shows_a_secret_its_bad_byte_splits(redactor: Redactor, output: str) -> None:
    with scoped(ScopeConfig(redactor=redactor)), pytest.raises(UnicodeDecodeError) as caught:
        sh.make(PRINTF)(output).run_sync(output=RunOutputOptions(errors="strict"))
    shown = repr(caught.value) + str(caught.value)
    assert "SECRET" not in shown
    assert "TAIL" not in shown
    assert caught.value.object == b"***"


def test_an_encoding_error_never_shows_a_secret_with_the_character_that_failed() -> None:
    secret = "pässwörd"  # noqa: S105
    with (
        scoped(ScopeConfig(redactor=Redactor(values={secret}))),
        pytest.raises(UnicodeEncodeError) as caught,
    ):
        sh.make(CAT)().run_sync(
            stdin=StdinInput(text=f"login admin {secret}\n"),
            context=ExecutionContext(encoding="ascii", errors="strict"),
        )
    assert "ssw" not in caught.value.object
    assert "ssw" not in repr(caught.value)


def test_a_secret_with_a_quote_is_hidden_inside_a_substitution() -> None:
    secret = "it's-a-secret"  # noqa: S105
    events: list[ExecEvent] = []
    with scoped(ScopeConfig(redactor=Redactor(options=["--password"]))), observe(events.append):
        inner = sh.make(ECHO)("--password", secret)
        outer = sh.make(CAT)(sh.make(CAT)(inner), "/nonexistent")  # nested, still quoted once
        with pytest.raises(CommandFailed) as caught:
            outer.run_sync(check=True)
    shown = [str(caught.value), repr(caught.value.result)] + [repr(event.argv) for event in events]
    assert not any("secret" in text for text in shown), shown


class _Flag(str):
    __slots__ = ()

    def removesuffix(self, _suffix: str, /) -> str:
        return self

    def replace(self, _old: str, _new: str, _count: SupportsIndex = -1, /) -> str:
        return self

    def __radd__(self, other: str) -> str:
        return "--password=hunter2"


def test_a_keyword_option_name_is_copied_to_a_plain_string() -> None:
    cmd = sh.make(ECHO)(**{_Flag("xy"): True})
    assert cmd.argv == ("echo", "--xy")
    assert all(type(part) is str for part in cmd.argv)


def test_the_default_redactor_hides_a_url_password_from_the_command_line_everywhere() -> None:
    password = "s3cret-pw"  # noqa: S105
    events: list[ExecEvent] = []
    for config in (ScopeConfig(), ScopeConfig(redactor=Redactor())):
        with scoped(config), observe(events.append):
            url = f"https://deploy:{password}@example.org/repo.git"
            result = (sh.make(ECHO)(url) | sh.make(TR)(":/@", "   ")).run_sync()
        assert password in str(result.stdout)  # the data itself is never altered
        assert password not in repr(result)
    lines = [event.line for event in events if event.line is not None]
    assert lines
    assert not any(password in line for line in lines)


class _Zero(int):
    __slots__ = ()

    def __hash__(self) -> int:
        return hash(1)

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False


def test_ok_codes_are_plain_numbers() -> None:
    cmd = sh.make(FALSE)().with_ok_codes(_Zero(0))
    assert all(type(code) is int for code in cmd.ok_codes)
    with pytest.raises(CommandFailed):
        cmd.run_sync(check=True)


def test_a_missing_working_directory_and_a_nul_byte_show_no_secret() -> None:
    with scoped(ScopeConfig(redactor=Redactor(values={TOKEN}))):
        with pytest.raises(FileNotFoundError) as missing:
            sh.make(ECHO)("x").run_sync(context=ExecutionContext(cwd=f"/nonexistent/{TOKEN}"))
        with pytest.raises(ValueError, match="NUL") as nul:
            sh.make(ECHO)(f"x\0{TOKEN}")
    assert TOKEN not in str(missing.value)
    assert TOKEN not in str(nul.value)


def test_a_result_of_an_observed_run_survives_pickle() -> None:
    with scoped(ScopeConfig(redactor=Redactor(values={TOKEN}))), observe(lambda _event: None):
        result = sh.make(PRINTF)("%s\\n", TOKEN).run_sync()
    copy = pickle.loads(pickle.dumps(result))  # noqa: S301 (our own data)
    assert copy.stdout == result.stdout
    assert TOKEN not in repr(copy)


def test_a_pipeline_cannot_be_subclassed() -> None:
    with pytest.raises(TypeError, match="subclassed"):
        type("Lying", (Pipeline,), {})


@pytest.mark.parametrize(("encoding", "spelling"), [("utf-8", "latin-1"), ("ascii", "utf-8")])
def test_a_secret_spelt_in_another_encoding_is_hidden_in_a_decoding_error(
    encoding: str, spelling: str
) -> None:
    secret = "pässwörd-42"  # noqa: S105
    raw = secret.encode(spelling)
    output = "login " + "".join(f"\\{byte:03o}" for byte in raw) + "\\n"
    with scoped(ScopeConfig(redactor=Redactor(values={secret}))), pytest.raises(UnicodeDecodeError) as caught:
        sh.make(PRINTF)(output).run_sync(output=RunOutputOptions(encoding=encoding, errors="strict"))
    assert b"ssw" not in caught.value.object
    assert "ssw" not in repr(caught.value)


def test_a_secret_spelt_in_latin_1_is_hidden_in_a_bytes_results_repr() -> None:
    secret = "pässwörd-42"  # noqa: S105
    output = "pw " + "".join(f"\\{byte:03o}" for byte in secret.encode("latin-1")) + "\\n"
    with scoped(ScopeConfig(redactor=Redactor(values={secret}))):
        result = sh.make(PRINTF)(output).run_sync(output=RunOutputOptions(text=False))
    assert secret.encode("latin-1") in bytes(result.stdout or b"")  # the data itself is never altered
    assert "ssw" not in repr(result)


def test_a_secret_longer_than_four_kib_is_hidden_in_excerpts_and_reprs() -> None:
    secret = "tok-" + "0123456789abcdef" * 500  # 8004 characters on one line
    with scoped(ScopeConfig(redactor=Redactor(values={secret}))):
        with pytest.raises(UnicodeDecodeError) as caught:
            sh.make(PRINTF)("%s\\377\\n", secret).run_sync(output=RunOutputOptions(errors="strict"))
        result = sh.make(PRINTF)("%s", secret).run_sync()
    assert not _shows_part_of(repr(caught.value), secret[4:])
    assert not _shows_part_of(repr(result), secret[4:])
