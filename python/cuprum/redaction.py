r"""Redaction: keep secrets out of everything Cuprum shows.

A ``Redactor`` says what must never be shown. Put one in a scope
(``ScopeConfig(redactor=...)``) and Cuprum applies it at the source: every
event observers receive, every exception message and ``repr``, and every
result ``repr`` made inside the scope. Adapters also take one for their own
output. It hides

* literal ``values`` (a password, a token) wherever they appear;
* whatever the regular expressions in ``patterns`` match; a pattern with
  groups hides only its groups (``r"--password=(.*)"`` turns
  ``--password=hunter2`` into ``--password=***``);
* the value of each of the ``options``: the element after ``--password``,
  the part after ``=`` in ``--password=hunter2``, and, for a one-letter
  option such as ``-p``, the attached value in ``-phunter2``;
* the password of credentials in URLs (``https://user:pass@host``), unless
  ``url_credentials=False``;
* what the command lines of the run hid through ``options`` and
  ``patterns``, wherever else it appears (a program may print its own
  arguments; in a pipeline, any stage's secret is hidden in every stage's
  lines);
* the values of the environment variables named in ``env_names``, looked
  up in ``os.environ`` and the scope's overlays when redacting.

Everything to hide is found first, on the original text, and then masked in
one pass, so a pattern can never leave part of a literal value showing, and
the mask is inserted literally (it is never a replacement template).

>>> redactor = Redactor(values={"hunter2"}, patterns=[r"--token=(.*)"], options=["-p"])
>>> redactor.redact_argv(("login", "-p", "hunter2", "--token=abc", "x-hunter2", "-phunter2"))
('login', '-p', '***', '--token=***', 'x-***', '-p***')
>>> redactor.redact_text("fetching https://me:s3cret@example.com/repo")
'fetching https://me:***@example.com/repo'
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import re
from collections.abc import Iterable
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from cuprum.events import AsyncObserveHook, ExecEvent, ObserveHook, SyncObserveHook

DEFAULT_MASK: Final = "***"
"""What a hidden value is replaced with."""

URL_CREDENTIALS: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/\s]*)@")
"""The credentials of ``scheme://user:password@host`` (up to the last ``@``)."""


def url_secret_spans(text: str) -> list[tuple[int, int]]:
    """Where URL credentials in ``text`` are secret: the password, or a token given as the user."""
    spans: list[tuple[int, int]] = []
    for match in URL_CREDENTIALS.finditer(text):
        start, end = match.span(1)
        colon = text.find(":", start, end)
        spans.append((colon + 1, end) if colon >= 0 and colon + 1 < end else (start, end))
    return spans


_ARGV_CACHE_SIZE: Final = 256

type Argvs = Sequence[Sequence[str]]
type Overlays = Sequence[Mapping[str, str]]
"""Environment overlays, applied in order (a scope's, then a run's ``ExecutionContext.env``)."""


def _strings(value: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        msg = f"Redactor.{what} must be a collection of strings, not {type(value).__name__}"
        raise TypeError(msg)
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            msg = f"Redactor.{what} must hold strings, not {type(item).__name__}"
            raise TypeError(msg)
        if not item:
            msg = f"Redactor.{what} cannot hold an empty string (it would match everywhere)"
            raise ValueError(msg)
    return items


def _compile(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    if isinstance(pattern, re.Pattern):
        if not isinstance(pattern.pattern, str):
            msg = "Redactor.patterns must be text patterns, not bytes patterns"
            raise TypeError(msg)
        return pattern
    if not isinstance(pattern, str) or not pattern:
        msg = f"Redactor.patterns must hold non-empty strings or compiled patterns, not {pattern!r}"
        raise TypeError(msg)
    return re.compile(pattern)


@functools.lru_cache(maxsize=64)
def _literal_regex(secrets: frozenset[str]) -> re.Pattern[str]:
    """One alternation over ``secrets``, longest first (so no secret is half-matched)."""
    ordered = sorted(secrets, key=lambda secret: (-len(secret), secret))
    return re.compile("|".join(map(re.escape, ordered)))


def _hidden_spans(match: re.Match[str]) -> list[tuple[int, int]]:
    """What a match hides: its groups (outermost, non-empty), or all of it without groups."""
    start, end = match.span()
    if start == end:
        return []
    if not match.re.groups:
        return [(start, end)]
    spans: list[tuple[int, int]] = []
    cursor = start
    for index in range(1, match.re.groups + 1):
        group_start, group_end = match.span(index)
        if group_start < cursor or group_start == group_end:
            continue
        spans.append((group_start, group_end))
        cursor = group_end
    return spans


def _mask_spans(text: str, spans: list[tuple[int, int]], mask: str) -> str:
    """``text`` with the union of ``spans`` replaced by ``mask`` (literally)."""
    if not spans:
        return text
    spans.sort()
    pieces: list[str] = []
    cursor = 0
    current_start, current_end = spans[0]
    for start, end in spans[1:]:
        if start < current_end:
            current_end = max(current_end, end)
            continue
        pieces.extend((text[cursor:current_start], mask))
        cursor = current_end
        current_start, current_end = start, end
    pieces.extend((text[cursor:current_start], mask, text[current_end:]))
    return "".join(pieces)


@dataclasses.dataclass(frozen=True, slots=True)
class Redactor:
    """What must never be shown, and what to show instead.

    Parameters
    ----------
    values
        Literal secrets, hidden wherever they appear.
    patterns
        Regular expressions (strings or compiled); a pattern's groups, or
        its whole match when it has none, are hidden.
    options
        Options whose value is secret (``--password``, ``-p``).
    env_names
        Environment variables whose values are hidden wherever they appear:
        in ``os.environ``, the scope's overlays and a run's
        ``ExecutionContext.env`` (a run's redaction keeps the values its
        environment had).
    url_credentials
        Hide the password of ``scheme://user:password@host`` (default on).
    mask
        The replacement text.

    Raises
    ------
    TypeError
        When a field holds something other than strings.
    ValueError
        When a value, option or name is empty, or ``mask`` contains a secret.
    re.error
        When a pattern does not compile.
    """

    # Not in the repr: these are the secrets.
    values: Iterable[str] = dataclasses.field(default=(), repr=False)
    patterns: Iterable[str | re.Pattern[str]] = ()
    options: Iterable[str] = ()
    env_names: Iterable[str] = ()
    url_credentials: bool = True
    mask: str = DEFAULT_MASK
    _literals: frozenset[str] = dataclasses.field(init=False, repr=False, compare=False)
    _patterns: tuple[re.Pattern[str], ...] = dataclasses.field(init=False, repr=False, compare=False)
    _options: frozenset[str] = dataclasses.field(init=False, repr=False, compare=False)
    _short_options: frozenset[str] = dataclasses.field(init=False, repr=False, compare=False)
    _env_names: tuple[str, ...] = dataclasses.field(init=False, repr=False, compare=False)
    _learnt: dict[tuple[str, ...], frozenset[str]] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Validate the configuration, freeze it and compile the patterns."""
        literals = _strings(self.values, "values")
        if isinstance(self.patterns, str | re.Pattern) or not isinstance(self.patterns, Iterable):
            msg = "Redactor.patterns must be a collection of patterns, not a single one"
            raise TypeError(msg)
        patterns = tuple(_compile(pattern) for pattern in self.patterns)
        options = _strings(self.options, "options")
        env_names = _strings(self.env_names, "env_names")
        if not isinstance(self.url_credentials, bool):
            msg = "Redactor.url_credentials must be a bool"
            raise TypeError(msg)
        if not isinstance(self.mask, str):
            msg = f"Redactor.mask must be a string, not {type(self.mask).__name__}"
            raise TypeError(msg)
        if any(literal in self.mask for literal in literals):
            msg = "Redactor.mask must not contain a secret value"
            raise ValueError(msg)
        short = frozenset(option for option in options if len(option) == 2 and option[0] == "-" != option[1])  # noqa: PLR2004
        for name, value in (
            ("values", literals),
            ("patterns", patterns),
            ("options", options),
            ("env_names", env_names),
            ("_literals", frozenset(literals)),
            ("_patterns", patterns),
            ("_options", frozenset(options)),
            ("_short_options", short),
            ("_env_names", env_names),
            ("_learnt", dict[tuple[str, ...], frozenset[str]]()),
        ):
            object.__setattr__(self, name, value)

    # -- what to hide -------------------------------------------------------

    def _secrets(self, argvs: Argvs, overlays: Overlays | None = None) -> frozenset[str]:
        """The literal values in effect: configured, from the variables, learnt from ``argvs``.

        A secret that spans lines (a key, a certificate) is also hidden line
        by line, since line events see one line at a time.
        """
        found = set(self._literals)
        for argv in argvs:
            found.update(self._argv_secrets(argv))
        if self._env_names:
            if overlays is None:
                from cuprum.scope import current_scope  # noqa: PLC0415 (the scope imports this module)

                overlays = current_scope().env_overlays
            for name in self._env_names:
                if value := os.environ.get(name):
                    found.add(value)
                found.update(value for overlay in overlays if (value := overlay.get(name)))
        for secret in [secret for secret in found if "\n" in secret]:
            found.update(piece for line in secret.split("\n") if (piece := line.strip()))
        # A substitution's argv element shell-quotes its command line once
        # (nested substitutions show as ``<(...)``, unquoted), which spells '
        # as '"'"': hide that spelling too.
        found.update([secret.replace("'", "'\"'\"'") for secret in found if "'" in secret])
        return frozenset(found)

    def _argv_secrets(self, argv: Sequence[str]) -> frozenset[str]:
        """What ``argv`` hides through options and patterns."""
        if not argv or not (self._options or self._patterns or self.url_credentials):
            return frozenset()
        key = tuple(argv)
        if (learnt := self._learnt.get(key)) is not None:
            return learnt
        found: list[str] = []
        hide_next = False
        for element in key:
            if hide_next:
                found.append(element)
                hide_next = False
                continue
            value, hide_next = self._option_value(element)
            if value is not None:
                found.append(value)
                continue
            for pattern in self._patterns:
                for match in pattern.finditer(element):
                    found.extend(element[start:end] for start, end in _hidden_spans(match))
            if self.url_credentials and "://" in element:
                found.extend(element[start:end] for start, end in url_secret_spans(element))
        learnt = frozenset(secret for secret in found if secret)
        if len(self._learnt) >= _ARGV_CACHE_SIZE:
            self._learnt.clear()
        self._learnt[key] = learnt
        return learnt

    def _option_value(self, element: str) -> tuple[str | None, bool]:
        """A secret option's value inside ``element``, and whether the next element is one."""
        name, equals, value = element.partition("=")
        if name in self._options:
            return (value, False) if equals else (None, True)
        if element[:2] in self._short_options and len(element) > 2:  # noqa: PLR2004
            return element[2:], False
        return None, False

    def _redact(self, text: str, secrets: frozenset[str]) -> str:
        spans: list[tuple[int, int]] = []
        for pattern in self._patterns:
            for match in pattern.finditer(text):
                spans.extend(_hidden_spans(match))
        if self.url_credentials and "://" in text:
            spans.extend(url_secret_spans(text))
        if secrets:
            spans.extend(match.span() for match in _literal_regex(secrets).finditer(text))
        return _mask_spans(text, spans, self.mask)

    # -- the public operations ----------------------------------------------

    def redact_text(
        self, text: str, *, argv: Sequence[str] = (), argvs: Argvs = (), env: Overlays | None = None
    ) -> str:
        """``text`` (an output line, a message) with every secret hidden.

        Parameters
        ----------
        text
            What to redact.
        argv, argvs
            The command line(s) the text comes from (every stage of a
            pipeline): what they hide through ``options`` and ``patterns``
            is hidden in ``text`` too.
        env
            The environment overlays of the run the text comes from, for
            ``env_names``; by default the current scope's.
        """
        return self._redact(text, self._secrets((argv, *argvs), env))

    def redact_argv(
        self, argv: Sequence[str], *, argvs: Argvs = (), env: Overlays | None = None
    ) -> tuple[str, ...]:
        """``argv`` with option values, secret values and pattern matches hidden.

        ``argvs`` are the run's other command lines (a pipeline's stages):
        what they hide is hidden here too; ``env`` as for ``redact_text``.
        """
        secrets = self._secrets((argv, *argvs), env)
        redacted: list[str] = []
        hide_next = False
        for element in argv:
            if hide_next:
                redacted.append(self.mask)
                hide_next = False
                continue
            name, equals, _ = element.partition("=")
            if name in self._options:
                if equals:
                    redacted.append(f"{name}={self.mask}")
                    continue
                hide_next = element == name
            elif element[:2] in self._short_options and len(element) > 2:  # noqa: PLR2004
                redacted.append(element[:2] + self.mask)
                continue
            redacted.append(self._redact(element, secrets))
        return tuple(redacted)

    def redact_event(self, event: ExecEvent, *, argvs: Argvs = (), env: Overlays | None = None) -> ExecEvent:
        """A copy of ``event`` with its ``argv``, ``line``, ``error`` and tag values redacted."""
        secrets = self._secrets((event.argv, *argvs), env)
        tags = event.tags
        if tags:
            tags = MappingProxyType({key: self._redact(value, secrets) for key, value in tags.items()})
        return event._replace(
            argv=self.redact_argv(event.argv, argvs=argvs, env=env),
            line=None if event.line is None else self._redact(event.line, secrets),
            error=None if event.error is None else self._redact(event.error, secrets),
            cwd=None if event.cwd is None else self._redact(event.cwd, secrets),
            tags=tags,
        )


DEFAULT_REDACTOR: Final = Redactor()
"""What every scope hides when it names no redactor: URL credentials."""


def hides_only_urls_in_text(redactors: tuple[Redactor, ...], argvs: Argvs) -> bool:
    """Whether ``redactors`` can only hide URL credentials written in the text itself.

    True for the default redactor alone when no command line holds a URL:
    otherwise a password learnt from a command line must be hidden wherever
    it appears (a shortcut for the common case, one rule for every caller).
    """
    return redactors == (DEFAULT_REDACTOR,) and not any("://" in part for argv in argvs for part in argv)


def redact_argv(redactor: Redactor | None, argv: tuple[str, ...]) -> tuple[str, ...]:
    """``argv`` through ``redactor``, or as it is without one."""
    return argv if redactor is None else redactor.redact_argv(argv)


def redact_text(redactor: Redactor | None, text: str, argv: Sequence[str] = ()) -> str:
    """``text`` (from the command ``argv``) through ``redactor``, or as it is without one."""
    return text if redactor is None else redactor.redact_text(text, argv=argv)


def redacting(hook: ObserveHook, redactor: Redactor) -> ObserveHook:
    """Wrap any observe hook so that it only ever sees redacted events.

    The wrapper is ``async`` exactly when ``hook`` is, so the scope awaits
    it (or not) as it would ``hook``.
    """
    call = getattr(hook, "__call__", None)  # noqa: B004 (instances with an async __call__)
    if inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(call):
        async_hook: AsyncObserveHook = hook  # pyright: ignore[reportAssignmentType]

        async def redacted_async(event: ExecEvent) -> None:
            await async_hook(redactor.redact_event(event))

        return redacted_async
    sync_hook: SyncObserveHook = hook  # pyright: ignore[reportAssignmentType]

    def redacted(event: ExecEvent) -> object:
        return sync_hook(redactor.redact_event(event))

    return redacted
