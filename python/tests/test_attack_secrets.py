"""Adversarial review, round 2: secrets the scope's redactor knows, shown anyway.

Promise (design.md, "Secrets stay hidden"): a secret the scope's redactor
knows never appears in any event, exception message, exception ``repr`` or
result ``repr``. Each test is a minimal reproducer expected to FAIL on the
engine as reviewed. Run under both backends (``CUPRUM_STREAM_BACKEND``).
"""

from __future__ import annotations

import pytest
from support import py

from cuprum import (
    CAT,
    ECHO,
    PRINTF,
    CommandFailed,
    ExecEvent,
    ExecutionContext,
    Redactor,
    RunOutputOptions,
    ScopeConfig,
    StdinInput,
    TimeoutExpired,
    env,
    scoped,
    sh,
)

SECRET = "hunter2-s3cr3t"  # noqa: S105 (a fake secret)


def _texts(events: list[ExecEvent]) -> list[str]:
    return [" ".join(map(str, (event.argv, event.line, event.error))) for event in events]


def test_a_substituted_commands_option_secret_stays_hidden_in_the_consumer() -> None:
    """``cat <(echo --password SECRET)`` with ``Redactor(options=["--password"])``.

    The consumer's argv holds the substitution as ``<(echo --password
    SECRET)``; nothing learns the secret from it, so the consumer's events
    (argv and lines), its result ``repr``, and its ``TimeoutExpired`` and
    ``CommandFailed`` messages all show the password.
    """
    seen: list[ExecEvent] = []
    config = ScopeConfig(redactor=Redactor(options=["--password"]), observe_hooks=[seen.append])
    inner = sh.make(ECHO)("--password", SECRET)
    shown: list[str] = []
    with scoped(config):
        result = sh.make(CAT)(inner).run_sync()
        shown.append(repr(result))
        with pytest.raises(TimeoutExpired) as expired:
            sh.make(CAT)(inner).run_sync(timeout=0)
        shown.append(str(expired.value))
        with pytest.raises(CommandFailed) as failed:
            sh.make(CAT)(inner, "/nonexistent-cuprum-attack").run_sync(check=True)
        shown.append(str(failed.value))
    leaks = [text for text in (*_texts(seen), *shown) if SECRET in text]
    assert not leaks, f"{len(leaks)} leaks, e.g. {leaks[0]!r}"


@pytest.mark.parametrize(
    "secret",
    ["pa\\ss-word", "it's\"quoted", "tab\there", "two\nlines"],
    ids=["backslash", "both-quotes", "tab", "newline"],
)
def test_result_repr_hides_a_secret_that_repr_escapes(secret: str) -> None:
    r"""``CommandResult.__repr__`` redacts ``repr(stdout)``, where ``\``, quotes, tabs
    and newlines are escaped, so the literal secret no longer matches and is shown."""
    with scoped(ScopeConfig(redactor=Redactor(values=[secret]))):
        result = sh.make(PRINTF)("%s\\n", secret).run_sync()
    shown = repr(result)
    assert repr(secret)[1:-1] not in shown, shown
    assert secret not in shown, shown


def test_bytes_result_repr_hides_a_non_ascii_secret() -> None:
    """With ``text=False`` the repr shows ``b'p\\xc3\\xa4ss...'``: the secret, escaped."""
    secret = "pässwörd-geheim"  # noqa: S105
    with scoped(ScopeConfig(redactor=Redactor(values=[secret]))):
        result = sh.make(PRINTF)("%s\\n", secret).run_sync(output=RunOutputOptions(text=False))
    assert repr(secret.encode())[2:-1] not in repr(result), repr(result)


@pytest.mark.parametrize("padding", [140, 150, 155])
def test_result_repr_does_not_show_part_of_a_secret_cut_by_abbreviation(padding: int) -> None:
    """The repr cuts the output at 160 characters *before* redacting: a secret
    straddling the cut no longer matches, and most of it is shown."""
    secret = "SECRETVALUE0123456789"  # noqa: S105
    with scoped(ScopeConfig(redactor=Redactor(values=[secret]))):
        result = sh.make(PRINTF)("%s", "x" * padding + secret + "y" * 100).run_sync()
    shown = repr(result)
    pieces = {secret[start : start + 5] for start in range(len(secret) - 4)}
    assert not [piece for piece in pieces if piece in shown], shown


def test_command_failed_does_not_show_part_of_a_secret_cut_by_the_stderr_tail() -> None:
    """``CommandFailed`` quotes the last 400 characters of stderr, cut *before*
    redacting: the secret's last characters are shown."""
    secret = "SECRETVALUE0123456789"  # noqa: S105
    code = "import sys; sys.stderr.write(sys.argv[1]); sys.exit(3)"
    with scoped(ScopeConfig(redactor=Redactor(values=[secret]))), pytest.raises(CommandFailed) as failed:
        py(code, secret + "e" * 390).run_sync(check=True)
    message = str(failed.value)
    assert not any(secret[-size:] in message for size in range(5, len(secret) + 1)), message[-450:]


def test_a_multi_line_secret_is_hidden_in_line_events() -> None:
    """A PEM-like secret spans lines; each line event is redacted on its own,
    so no line matches the whole secret and the key's body is shown."""
    key = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----"
    seen: list[ExecEvent] = []
    with scoped(ScopeConfig(redactor=Redactor(values=[key]), observe_hooks=[seen.append])):
        sh.make(CAT)().run_sync(stdin=StdinInput(text=key + "\n"))
    assert not any("MIIEvQ" in text for text in _texts(seen))


def test_exception_reprs_raised_by_a_run_are_redacted() -> None:
    """A strict decoding (or stdin encoding) failure is raised as is: its ``repr``
    carries the whole output (or stdin text), secret included."""
    shown: list[str] = []
    with scoped(ScopeConfig(redactor=Redactor(values=[SECRET]))):
        with pytest.raises(UnicodeDecodeError) as decode:
            py(f"import sys; sys.stdout.buffer.write(b'token={SECRET} \\xff')").run_sync(
                output=RunOutputOptions(errors="strict")
            )
        shown.append(repr(decode.value))
        with pytest.raises(UnicodeEncodeError) as encode:
            sh.make(CAT)().run_sync(
                stdin=StdinInput(text=f"pw={SECRET} \udcff"), context=ExecutionContext(errors="strict")
            )
        shown.append(repr(encode.value))
    assert not [text for text in shown if SECRET in text], shown


def test_an_invalid_secret_environment_value_is_not_quoted_in_the_error() -> None:
    """``env(TOKEN=...)`` with a bad value quotes the value in the ``ValueError``,
    even in a scope whose redactor names ``TOKEN`` (and knows the value)."""
    secret = SECRET + "\0"
    with (
        scoped(ScopeConfig(redactor=Redactor(values=[SECRET], env_names=["TOKEN"]))),
        pytest.raises(ValueError, match="TOKEN") as invalid,
    ):
        env(TOKEN=secret)
    assert SECRET not in str(invalid.value), str(invalid.value)


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        (
            "https://ghp_16C7e42F292c6912E7710c838347Ae178B4a@github.com/org/repo.git",
            "ghp_16C7e42F292c6912E7710c",
        ),
        ("https://deploy:p@ssw0rd@example.com/repo.git", "ssw0rd"),
    ],
    ids=["token-as-user", "raw-at-in-password"],
)
def test_url_credentials_are_hidden_by_default(url: str, secret: str) -> None:
    """The default redactor only knows ``scheme://user:password@host``: a token
    in the user part (GitHub's documented ``https://<token>@github.com``)
    is shown whole, and a password with a raw ``@`` is cut at the first
    ``@`` and its rest shown."""
    seen: list[ExecEvent] = []
    with scoped(ScopeConfig(observe_hooks=[seen.append])):
        sh.make(ECHO)(url).run_sync()
    assert not [text for text in _texts(seen) if secret in text], _texts(seen)[0]
