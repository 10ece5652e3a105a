r"""Redaction: keep secrets out of everything an adapter emits.

A ``Redactor`` is configured once and handed to any adapter, which applies
it to ``argv``, output lines and error messages before it logs, traces or
counts anything. It hides

* literal ``values`` (a password, a token) wherever they appear, whether as
  a whole ``argv`` element or inside one (``--token=VALUE``) or in a line;
* whatever the regular expressions in ``patterns`` match, in every ``argv``
  element and line; a pattern with groups hides only its groups, so
  ``r"--password=(.*)"`` turns ``--password=hunter2`` into
  ``--password=***`` (without groups, the whole match is hidden);
* the value of each of the ``options``: the element after ``--password``
  and the part after ``=`` in ``--password=hunter2``;
* what ``argv`` hid through ``options`` and ``patterns``, wherever else it
  appears in that command's ``argv``, lines and messages (a program may
  print its own arguments);
* the values of the environment variables named in ``env_names``, looked up
  when an event is redacted, in ``os.environ`` and in the current scope's
  environment overlays. (Variables passed only through
  ``ExecutionContext(env=...)`` are invisible to observers: list such
  values in ``values``.)

>>> redactor = Redactor(values={"hunter2"}, patterns=[r"--token=(.*)"], options=["-p"])
>>> redactor.redact_argv(("login", "-p", "hunter2", "--token=abc", "x-hunter2"))
('login', '-p', '***', '--token=***', 'x-***')
>>> redactor.redact_text("password hunter2 accepted")
'password *** accepted'
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

from cuprum.scope import current_scope

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cuprum.events import AsyncObserveHook, ExecEvent, ObserveHook, SyncObserveHook

DEFAULT_MASK: Final = "***"
"""What a hidden value is replaced with."""


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
def _literal_regex(secrets: tuple[str, ...]) -> re.Pattern[str]:
    """One alternation over ``secrets``, longest first (so no secret is half-hidden)."""
    ordered = sorted(set(secrets), key=lambda secret: (-len(secret), secret))
    return re.compile("|".join(map(re.escape, ordered)))


def _hidden_spans(match: re.Match[str]) -> list[tuple[int, int]]:
    """What a match hides: its groups (outermost, non-empty), or all of it without groups."""
    start, end = match.span()
    if start == end:
        return []  # an empty match hides nothing
    if not match.re.groups:
        return [(start, end)]
    spans: list[tuple[int, int]] = []
    cursor = start
    for index in range(1, match.re.groups + 1):
        group_start, group_end = match.span(index)
        if group_start < cursor or group_start == group_end:
            continue  # did not take part, is empty, or lies inside a group already hidden
        spans.append((group_start, group_end))
        cursor = group_end
    return spans


def _mask_match(match: re.Match[str], mask: str) -> str:
    """The match with what it hides replaced by ``mask``."""
    text = match.string
    pieces: list[str] = []
    cursor, end = match.span()
    for start, stop in _hidden_spans(match):
        pieces.extend((text[cursor:start], mask))
        cursor = stop
    pieces.append(text[cursor:end])
    return "".join(pieces)


_ARGV_CACHE_SIZE: Final = 256


@dataclasses.dataclass(frozen=True, slots=True)
class Redactor:
    """What adapters must never emit, and what to emit instead.

    Parameters
    ----------
    values
        Literal secrets, hidden wherever they appear.
    patterns
        Regular expressions (strings or compiled), searched in every
        ``argv`` element and line; a pattern's groups, or its whole match
        when it has none, are hidden.
    options
        Options whose value is secret: the ``argv`` element after one of
        them, and the part after ``=`` in ``option=value``, are hidden
        (and, once seen in a command's ``argv``, in its lines too).
    env_names
        Environment variables whose values are hidden wherever they appear
        (looked up in ``os.environ`` and the current scope's overlays each
        time an event is redacted; empty values are ignored).
    mask
        The replacement text.

    Raises
    ------
    TypeError
        When a field holds something other than strings (a bare string
        instead of a collection included).
    ValueError
        When a value, option or name is empty, or ``mask`` contains a secret.
    re.error
        When a pattern does not compile.
    """

    values: Iterable[str] = ()
    patterns: Iterable[str | re.Pattern[str]] = ()
    options: Iterable[str] = ()
    env_names: Iterable[str] = ()
    mask: str = DEFAULT_MASK
    _literals: tuple[str, ...] = dataclasses.field(init=False, repr=False, compare=False)
    _patterns: tuple[re.Pattern[str], ...] = dataclasses.field(init=False, repr=False, compare=False)
    _options: frozenset[str] = dataclasses.field(init=False, repr=False, compare=False)
    _env_names: tuple[str, ...] = dataclasses.field(init=False, repr=False, compare=False)
    _argv_secrets_cache: dict[tuple[str, ...], tuple[str, ...]] = dataclasses.field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        """Validate the configuration, freeze it and compile the patterns."""
        literals = _strings(self.values, "values")
        if isinstance(self.patterns, str | re.Pattern) or not isinstance(self.patterns, Iterable):
            msg = "Redactor.patterns must be a collection of patterns, not a single one"
            raise TypeError(msg)
        patterns = tuple(_compile(pattern) for pattern in self.patterns)
        options = _strings(self.options, "options")
        env_names = _strings(self.env_names, "env_names")
        if not isinstance(self.mask, str):
            msg = f"Redactor.mask must be a string, not {type(self.mask).__name__}"
            raise TypeError(msg)
        if any(literal in self.mask for literal in literals):
            msg = "Redactor.mask must not contain a secret value"
            raise ValueError(msg)
        for name, value in (
            ("values", literals),
            ("patterns", patterns),
            ("options", options),
            ("env_names", env_names),
            ("_literals", literals),
            ("_patterns", patterns),
            ("_options", frozenset(options)),
            ("_env_names", env_names),
        ):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_argv_secrets_cache", dict[tuple[str, ...], tuple[str, ...]]())

    def _secrets(self, argv: Sequence[str]) -> tuple[str, ...]:
        """The literal values in effect now: configured, from the variables, and learnt from ``argv``."""
        learnt = self._argv_secrets(argv)
        if not self._env_names:
            return self._literals + learnt if learnt else self._literals
        found = [*self._literals, *learnt]
        overlays = current_scope().env_overlays
        for name in self._env_names:
            if value := os.environ.get(name):
                found.append(value)
            found.extend(value for overlay in overlays if (value := overlay.get(name)))
        return tuple(found)

    def _argv_secrets(self, argv: Sequence[str]) -> tuple[str, ...]:
        """What ``argv`` hides through options and patterns: secrets wherever else they appear."""
        if not argv or not (self._options or self._patterns):
            return ()
        key = tuple(argv)
        cache = self._argv_secrets_cache
        if (learnt := cache.get(key)) is not None:
            return learnt
        found: list[str] = []
        hide_next = False
        for element in key:
            if hide_next:
                found.append(element)
                hide_next = False
                continue
            name, equals, value = element.partition("=")
            if name in self._options:
                if equals:
                    found.append(value)
                    continue
                hide_next = True
            for pattern in self._patterns:
                for match in pattern.finditer(element):
                    found.extend(element[start:end] for start, end in _hidden_spans(match))
        learnt = tuple(secret for secret in found if secret)
        if len(cache) >= _ARGV_CACHE_SIZE:
            cache.clear()
        cache[key] = learnt
        return learnt

    def _redact(self, text: str, secrets: tuple[str, ...]) -> str:
        for pattern in self._patterns:
            text = pattern.sub(lambda match: _mask_match(match, self.mask), text)
        if secrets:
            text = _literal_regex(secrets).sub(self.mask, text)
        return text

    def redact_text(self, text: str, *, argv: Sequence[str] = ()) -> str:
        """``text`` (an output line, a message) with every secret hidden.

        Parameters
        ----------
        text
            What to redact.
        argv
            The command the text comes from: what its ``argv`` hides through
            ``options`` and ``patterns`` is hidden in ``text`` too (a
            program may print its own arguments).
        """
        return self._redact(text, self._secrets(argv))

    def redact_argv(self, argv: Sequence[str]) -> tuple[str, ...]:
        """``argv`` with option values, secret values and pattern matches hidden."""
        secrets = self._secrets(argv)
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
            redacted.append(self._redact(element, secrets))
        return tuple(redacted)

    def redact_event(self, event: ExecEvent) -> ExecEvent:
        """A copy of ``event`` with its ``argv``, ``line``, ``error`` and tag values redacted."""
        secrets = self._secrets(event.argv)
        tags = event.tags
        if tags:
            tags = MappingProxyType({key: self._redact(value, secrets) for key, value in tags.items()})
        return event._replace(
            argv=self.redact_argv(event.argv),
            line=None if event.line is None else self._redact(event.line, secrets),
            error=None if event.error is None else self._redact(event.error, secrets),
            tags=tags,
        )


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
