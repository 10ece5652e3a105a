"""Validated values for the safe builders: paths and git refs.

A builder only takes values that have already passed one of these
validators, so by the time an argument reaches an argv it is known never to
be read as an option, never to climb out of a directory with ``..`` and
never to carry a byte no program can receive.

>>> from cuprum.builders import GitRef, SafePath
>>> str(SafePath("/srv/releases/1.0"))
'/srv/releases/1.0'
>>> str(SafePath("-rf", allow_relative=True))
'./-rf'
>>> GitRef("a..b")
Traceback (most recent call last):
...
cuprum.builders.validators.InvalidRefError: invalid git ref 'a..b': must not contain '..' (found at index 1)
"""

from __future__ import annotations

import enum
import os
import posixpath
from typing import Final, final

from cuprum.errors import CuprumError

PATH_MAX: Final = 4096
"""Linux's ``PATH_MAX``, which counts the terminating NUL."""


class PathRule(enum.StrEnum):
    """The rules a ``SafePath`` enforces; each value says what the rule requires."""

    EMPTY = "must not be empty"
    NUL = "must not contain a NUL byte"
    PARENT = "must not contain a '..' segment"
    RELATIVE = "must be absolute (pass allow_relative=True to accept a relative path)"
    UNENCODABLE = "must be encodable with the file-system encoding"
    TOO_LONG = f"must be shorter than PATH_MAX ({PATH_MAX} bytes)"
    ESCAPE = "a joined part must be relative and stay below its base"


class RefRule(enum.StrEnum):
    """The rules a ``GitRef`` enforces, after ``git check-ref-format``.

    Two rules are Cuprum's own: a ref may not begin with ``-`` (git's
    ``--branch`` mode agrees) nor with ``+``, which a refspec reads as a
    forced update.
    """

    EMPTY = "must not be empty"
    DOUBLE_DOT = "must not contain '..'"
    CONTROL = "must not contain ASCII control characters or spaces"
    SPECIAL = "must not contain any of ~ ^ : ? * [ \\"
    AT_BRACE = "must not contain '@{'"
    AT_ALONE = "must not be '@' alone"
    SLASH_EDGE = "must not begin or end with '/'"
    EMPTY_COMPONENT = "must not contain '//' (an empty component)"
    DOT_COMPONENT = "no component may begin with '.'"
    LOCK_COMPONENT = "no component may end with '.lock'"
    TRAILING_DOT = "must not end with '.'"
    LEADING_DASH = "must not begin with '-' (it would be read as an option)"
    LEADING_PLUS = "must not begin with '+' (a refspec would force the update)"
    UNENCODABLE = "must be encodable with the file-system encoding"


class InvalidPathError(CuprumError, ValueError):
    """A value is not a safe path.

    Attributes
    ----------
    value
        The rejected value, as text.
    rule
        The rule it breaks.
    """

    def __init__(self, value: str, rule: PathRule, detail: str = "") -> None:
        self.value = value
        self.rule = rule
        suffix = f" ({detail})" if detail else ""
        super().__init__(f"invalid path {_shorten(value)}: {rule}{suffix}")


class InvalidRefError(CuprumError, ValueError):
    """A value is not a valid git ref name.

    Attributes
    ----------
    value
        The rejected value.
    rule
        The ``git check-ref-format`` rule (or Cuprum rule) it breaks.
    """

    def __init__(self, value: str, rule: RefRule, detail: str = "") -> None:
        self.value = value
        self.rule = rule
        suffix = f" ({detail})" if detail else ""
        super().__init__(f"invalid git ref {_shorten(value)}: {rule}{suffix}")


@final
class SafePath:
    """A file-system path that is safe to hand to a program as an operand.

    A ``SafePath`` is immutable, hashable and ``os.PathLike``; ``str()`` and
    ``os.fspath()`` give its text. It is never mistaken for an option: an
    absolute path begins with ``/``, and a relative one that begins with
    ``-`` is rendered as ``./-...``. The text is otherwise kept exactly as
    given (no normalisation), so a trailing ``/``, which matters to
    ``rsync``, survives.

    Parameters
    ----------
    value
        The path, as ``str`` or any ``os.PathLike`` (bytes paths are decoded
        with the file-system encoding).
    allow_relative
        Accept a relative path (resolved by the program against its working
        directory). Absolute paths are always accepted.

    Raises
    ------
    InvalidPathError
        When the value is empty, contains NUL, has a ``..`` segment, is
        relative without ``allow_relative``, cannot be encoded, or is longer
        than ``PATH_MAX``; ``error.rule`` says which.
    TypeError
        When the value is neither a ``str`` nor ``os.PathLike``.

    Examples
    --------
    >>> import os
    >>> os.fspath(SafePath("/tmp") / "out.tar")
    '/tmp/out.tar'
    """

    __slots__ = ("_absolute", "_value")

    _value: str
    _absolute: bool

    def __init__(
        self, value: str | os.PathLike[str] | os.PathLike[bytes], *, allow_relative: bool = False
    ) -> None:
        text = _path_text(value)
        if not text:
            raise InvalidPathError(text, PathRule.EMPTY)
        if (index := text.find("\0")) >= 0:
            raise InvalidPathError(text, PathRule.NUL, f"found at index {index}")
        if ".." in text.split("/"):
            raise InvalidPathError(text, PathRule.PARENT)
        absolute = text.startswith("/")
        if not absolute and not allow_relative:
            raise InvalidPathError(text, PathRule.RELATIVE)
        if text.startswith("-"):
            text = "./" + text
        try:
            size = len(os.fsencode(text))
        except UnicodeError as error:
            raise InvalidPathError(text, PathRule.UNENCODABLE, str(error)) from None
        if size >= PATH_MAX:
            raise InvalidPathError(text, PathRule.TOO_LONG, f"{size} bytes")
        object.__setattr__(self, "_value", text)
        object.__setattr__(self, "_absolute", absolute)

    @property
    def is_absolute(self) -> bool:
        """Whether the path begins with ``/``."""
        return self._absolute

    def __truediv__(self, other: str | os.PathLike[str]) -> SafePath:
        """Join the relative path ``other`` below this one and validate the result.

        The result may be relative only if ``self`` is.

        Raises
        ------
        InvalidPathError
            When ``other`` is absolute or has a ``..`` segment: a join never
            leaves its base.
        """
        part = _path_text(other)
        if part.startswith("/"):
            raise InvalidPathError(part, PathRule.ESCAPE, f"joining {self._value!r}")
        if ".." in part.split("/"):
            raise InvalidPathError(part, PathRule.PARENT, f"joining {self._value!r}")
        return SafePath(posixpath.join(self._value, part), allow_relative=not self._absolute)

    def __fspath__(self) -> str:
        """The path's text, for ``os.fspath`` and ``open``."""
        return self._value

    def __str__(self) -> str:
        """The path's text."""
        return self._value

    def __repr__(self) -> str:
        """Show the text (and that it is relative, when it is)."""
        relative = "" if self._absolute else ", allow_relative=True"
        return f"SafePath({self._value!r}{relative})"

    def __eq__(self, other: object) -> bool:
        """Two safe paths are equal when their texts are."""
        if isinstance(other, SafePath):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        """Hash the text."""
        return hash((SafePath, self._value))

    def __setattr__(self, name: str, value: object) -> None:
        """Refuse every assignment: a safe path is immutable."""
        msg = f"SafePath is immutable; cannot set {name!r}"
        raise AttributeError(msg)

    def __delattr__(self, name: str) -> None:
        """Refuse every deletion: a safe path is immutable."""
        msg = f"SafePath is immutable; cannot delete {name!r}"
        raise AttributeError(msg)


@final
class GitRef:
    """A git ref name (branch, tag, remote or commit) that passed ``check-ref-format``.

    One-level names (``main``, ``v1.0``, ``HEAD``, a commit hash) are
    accepted, as with ``git check-ref-format --allow-onelevel``. Revision
    expressions (``HEAD~1``, ``main^{tree}``) are not ref names and are
    refused. A ``GitRef`` never begins with ``-`` or ``+``, so it is never
    read as an option nor as a forced refspec.

    Parameters
    ----------
    value
        The ref name.

    Raises
    ------
    InvalidRefError
        Naming the rule the value breaks (``error.rule``).
    TypeError
        When the value is not a ``str``.
    """

    __slots__ = ("_value",)

    _value: str

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            msg = f"a git ref must be a str, not {type(value).__name__}"
            raise TypeError(msg)
        _check_ref(value)
        object.__setattr__(self, "_value", value)

    def __str__(self) -> str:
        """The ref name."""
        return self._value

    def __repr__(self) -> str:
        """``GitRef('name')``."""
        return f"GitRef({self._value!r})"

    def __eq__(self, other: object) -> bool:
        """Two refs are equal when their names are."""
        if isinstance(other, GitRef):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        """Hash the name."""
        return hash((GitRef, self._value))

    def __setattr__(self, name: str, value: object) -> None:
        """Refuse every assignment: a ref is immutable."""
        msg = f"GitRef is immutable; cannot set {name!r}"
        raise AttributeError(msg)

    def __delattr__(self, name: str) -> None:
        """Refuse every deletion: a ref is immutable."""
        msg = f"GitRef is immutable; cannot delete {name!r}"
        raise AttributeError(msg)


_REF_SPECIAL: Final = frozenset("~^:?*[\\")
_REF_SEQUENCES: Final = (
    ("..", RefRule.DOUBLE_DOT),
    ("@{", RefRule.AT_BRACE),
    ("//", RefRule.EMPTY_COMPONENT),
)


def _check_ref(value: str) -> None:
    if not value:
        raise InvalidRefError(value, RefRule.EMPTY)
    _check_ref_characters(value)
    for needle, rule in _REF_SEQUENCES:
        if (index := value.find(needle)) >= 0:
            raise InvalidRefError(value, rule, f"found at index {index}")
    whole_name_rules = (
        (value == "@", RefRule.AT_ALONE),
        (value.startswith("-"), RefRule.LEADING_DASH),
        (value.startswith("+"), RefRule.LEADING_PLUS),
        (value.startswith("/") or value.endswith("/"), RefRule.SLASH_EDGE),
        (value.endswith("."), RefRule.TRAILING_DOT),
    )
    for broken, rule in whole_name_rules:
        if broken:
            raise InvalidRefError(value, rule)
    for component in value.split("/"):
        if component.startswith("."):
            raise InvalidRefError(value, RefRule.DOT_COMPONENT, f"component {component!r}")
        if component.endswith(".lock"):
            raise InvalidRefError(value, RefRule.LOCK_COMPONENT, f"component {component!r}")
    try:
        os.fsencode(value)
    except UnicodeError as error:
        raise InvalidRefError(value, RefRule.UNENCODABLE, str(error)) from None


def _check_ref_characters(value: str) -> None:
    for index, char in enumerate(value):
        if char <= " " or char == "\x7f":
            raise InvalidRefError(value, RefRule.CONTROL, f"found {char!r} at index {index}")
        if char in _REF_SPECIAL:
            raise InvalidRefError(value, RefRule.SPECIAL, f"found {char!r} at index {index}")


def _path_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        # fspath itself refuses a __fspath__ that returns neither str nor bytes.
        return os.fsdecode(os.fspath(value))  # pyright: ignore[reportUnknownArgumentType]
    msg = f"a path must be a str or os.PathLike, not {type(value).__name__}"
    raise TypeError(msg)


_SHOWN: Final = 80


def _shorten(value: str) -> str:
    """``repr`` of ``value``, cut short so a huge input cannot flood a message."""
    if len(value) <= _SHOWN:
        return repr(value)
    return f"{value[:_SHOWN]!r}... ({len(value)} characters)"
