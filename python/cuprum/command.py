"""``SafeCmd``: an immutable, catalogued command line that only a builder can make.

A ``SafeCmd`` holds no data of its own. What it runs lives in a private,
immutable record (``CommandSpec``) that only the builders issue, keyed by
the command's identity. So a command cannot be constructed by hand,
subclassed, altered (``dataclasses.replace``, ``setattr``, even
``object.__setattr__``), copied into a different command or unpickled: the
engine asks ``spec_of(cmd)`` for the record it issued, and refuses
(``ForgedCommandError``) anything it did not issue. The executable is
resolved from the record's catalogued program, never from ``argv``.
"""

from __future__ import annotations

import shlex
import weakref
from typing import TYPE_CHECKING, Final, NamedTuple, NoReturn, final

from cuprum.errors import ForgedCommandError
from cuprum.runnable import Runnable

if TYPE_CHECKING:
    from cuprum.catalogue import Program, ProgramCatalogue, ProjectSettings
    from cuprum.pipeline import Pipeline

MAX_EXIT_STATUS: Final = 255


class Substitution(NamedTuple):
    """A command or pipeline passed as an argument (``<(cmd)`` in a shell).

    Attributes
    ----------
    position
        Its index in ``argv``; the engine puts ``/dev/fd/N`` there.
    source
        What runs; the program reads its stdout through ``/dev/fd/N``.
    """

    position: int
    source: SafeCmd | Pipeline


class CommandSpec(NamedTuple):
    """What a builder issued: everything the engine trusts about a command."""

    program: Program
    argv: tuple[str, ...]
    project: ProjectSettings
    catalogue: ProgramCatalogue
    ok_codes: frozenset[int]
    substitutions: tuple[Substitution, ...] = ()


_ISSUED: Final[dict[int, CommandSpec]] = {}


def _issue(spec: CommandSpec) -> SafeCmd:
    """Make the ``SafeCmd`` for ``spec`` (for builders only)."""
    cmd = object.__new__(SafeCmd)
    key = id(cmd)
    _ISSUED[key] = spec
    weakref.finalize(cmd, _ISSUED.pop, key, None)
    return cmd


def spec_of(cmd: object) -> CommandSpec:
    """The record a builder issued for ``cmd``.

    Raises
    ------
    ForgedCommandError
        When ``cmd`` is not a ``SafeCmd`` that a builder made.
    """
    spec = _ISSUED.get(id(cmd)) if type(cmd) is SafeCmd else None
    if spec is None:
        msg = (
            f"{type(cmd).__name__} object was not made by a builder; "
            "build commands with sh.make(program)(...) or a safe builder"
        )
        raise ForgedCommandError(msg)
    return spec


def check_ok_codes(codes: tuple[object, ...]) -> frozenset[int]:
    """Validate exit statuses that count as success.

    Raises
    ------
    TypeError
        For a code that is not an ``int`` (``bool`` included).
    ValueError
        For a code outside 0-255, or no code at all.
    """
    if not codes:
        msg = "with_ok_codes() needs at least one exit status"
        raise ValueError(msg)
    plain: list[int] = []
    for code in codes:
        if isinstance(code, bool) or not isinstance(code, int):
            msg = f"an ok code must be an int in 0-{MAX_EXIT_STATUS}, not {type(code).__name__}"
            raise TypeError(msg)
        value = int.__index__(code)  # the number itself: a subclass's __eq__/__hash__ never count
        if not 0 <= value <= MAX_EXIT_STATUS:
            msg = f"an ok code must be an int in 0-{MAX_EXIT_STATUS}, not {value}"
            raise ValueError(msg)
        plain.append(value)
    return frozenset(plain)


@final
class SafeCmd(Runnable):
    """A program from the catalogue and its arguments; never a shell string.

    Build one with ``sh.make(program)(*args, **options)`` (or a safe
    builder); compose with ``|`` into a ``Pipeline``; run it with ``run``,
    ``run_sync`` or ``start``. Two commands are equal when they run the same
    program with the same arguments and accept the same exit codes.
    """

    __slots__ = ("__weakref__",)

    def __new__(cls, *args: object, **kwargs: object) -> NoReturn:
        """Refuse direct construction."""
        del args, kwargs
        msg = "SafeCmd cannot be constructed directly; build commands with sh.make(program)(...)"
        raise ForgedCommandError(msg)

    def __init_subclass__(cls) -> NoReturn:
        """Refuse subclasses (a subclass could lie about what it runs)."""
        msg = "SafeCmd cannot be subclassed"
        raise TypeError(msg)

    @property
    def program(self) -> Program:
        """The catalogued program (``argv[0]``)."""
        return spec_of(self).program

    @property
    def argv(self) -> tuple[str, ...]:
        """The argument vector, program first (``<(...)`` marks a substitution)."""
        return spec_of(self).argv

    @property
    def project(self) -> ProjectSettings:
        """The catalogue project that owns the program."""
        return spec_of(self).project

    @property
    def ok_codes(self) -> frozenset[int]:
        """Exit statuses that count as success (``{0}`` unless changed)."""
        return spec_of(self).ok_codes

    def with_ok_codes(self, *codes: int) -> SafeCmd:
        """A new command that counts exactly ``codes`` as success.

        ``result.ok``, ``check=True`` and a pipeline's failure policy all
        honour it.

        >>> from cuprum import GREP, sh
        >>> grep = sh.make(GREP)("-q", "needle").with_ok_codes(0, 1)
        >>> sorted(grep.ok_codes)
        [0, 1]

        Raises
        ------
        TypeError, ValueError
            For a code that is not an ``int`` in 0-255, or no code.
        """
        return _issue(spec_of(self)._replace(ok_codes=check_ok_codes(codes)))

    @property
    def shell_quoted(self) -> str:
        """The command line quoted as a POSIX shell would need it, for logs.

        A process substitution is shown as a shell writes it: ``<(cmd)``.
        """
        spec = spec_of(self)
        if not spec.substitutions:
            return shlex.join(spec.argv)
        shown = {sub.position: f"<({sub.source.shell_quoted})" for sub in spec.substitutions}
        return " ".join(shown.get(index, shlex.quote(part)) for index, part in enumerate(spec.argv))

    def __str__(self) -> str:
        """The shell-quoted rendering."""
        return self.shell_quoted

    def __repr__(self) -> str:
        """The program and arguments."""
        return f"SafeCmd({self.shell_quoted!r})"

    def __eq__(self, other: object) -> bool:
        """Equal when program, arguments, project and ok codes are equal."""
        if type(other) is not SafeCmd:
            return NotImplemented
        mine, theirs = spec_of(self), spec_of(other)
        return (mine.program, mine.argv, mine.project, mine.ok_codes, mine.substitutions) == (
            theirs.program,
            theirs.argv,
            theirs.project,
            theirs.ok_codes,
            theirs.substitutions,
        )

    def __hash__(self) -> int:
        """Hash of what equality compares."""
        spec = spec_of(self)
        return hash((spec.program, spec.argv, spec.ok_codes))

    def __setattr__(self, name: str, value: object) -> NoReturn:
        """Refuse: a command is immutable."""
        msg = f"SafeCmd is immutable; cannot set {name!r} (build a new command instead)"
        raise AttributeError(msg)

    def __delattr__(self, name: str) -> NoReturn:
        """Refuse: a command is immutable."""
        msg = f"SafeCmd is immutable; cannot delete {name!r}"
        raise AttributeError(msg)

    def __copy__(self) -> SafeCmd:
        """The command itself (it is immutable)."""
        return self

    def __deepcopy__(self, memo: object) -> SafeCmd:
        """The command itself (it is immutable)."""
        return self

    def __reduce__(self) -> NoReturn:
        """Refuse pickling: a command can only come from a builder in this process."""
        msg = "SafeCmd cannot be pickled; send the program and arguments and rebuild it with sh.make"
        raise TypeError(msg)

    def __or__(self, other: SafeCmd | Pipeline) -> Pipeline:
        """Compose ``self | other`` into a pipeline (flattened)."""
        from cuprum.pipeline import Pipeline  # noqa: PLC0415 (pipeline imports this module)

        return Pipeline.of(self, other)
