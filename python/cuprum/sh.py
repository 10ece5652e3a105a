r"""Build commands from the catalogue: ``sh.make(program)(*args, **options)``.

Arguments become argv strings and nothing else: no shell ever parses them.

The argv rule
-------------
* Positional arguments keep the order written.
* Keyword options follow them, in the order written, but always **before
  the first** ``"--"`` **positional** (options after ``--`` would be read as
  operands): ``grep("x", "--", "file", count=True)`` is
  ``grep x --count -- file``.
* A one-letter name is a short option, a longer one a long option:
  ``l=True`` is ``-l``, ``n=3`` is ``-n 3`` (two arguments);
  ``max_count=3`` is ``--max-count=3`` (underscores become dashes; a
  trailing underscore is dropped, for names like ``class_``).
* ``True`` gives the bare flag and ``False`` leaves the option out; ``None``
  is a ``TypeError`` (say what you mean).
* A ``SafeCmd`` or ``Pipeline`` as a positional argument is a process
  substitution: the program gets ``/dev/fd/N`` to read its output from, as
  with a shell's ``<(cmd)``.

>>> from cuprum import sh, GIT, LS, HEAD
>>> sh.make(GIT)("log", max_count=3, oneline=True, reverse=False).argv
('git', 'log', '--max-count=3', '--oneline')
>>> sh.make(LS)(l=True).argv, sh.make(HEAD)("notes.txt", n=3).argv
(('ls', '-l'), ('head', 'notes.txt', '-n', '3'))

Attribute sugar
---------------
``sh.register("ls", LS)`` makes ``sh.ls`` the builder ``sh.make(LS)``. The
registration is global to the process (it only names a builder: whether the
program may run is still decided by the scope's allowlist at run time) and
lasts until ``detach()`` (or the end of a ``with`` block).
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
import warnings
from typing import TYPE_CHECKING, Final, Self, final

from cuprum.catalogue import DEFAULT_CATALOGUE, Program, ProgramCatalogue, check_program_name, exact_name
from cuprum.command import CommandSpec, SafeCmd, Substitution, _issue, spec_of  # pyright: ignore[reportPrivateUsage]
from cuprum.errors import UnknownProgramError
from cuprum.pipeline import Pipeline
from cuprum.plain import plain_str

if TYPE_CHECKING:
    from types import TracebackType

    from cuprum.catalogue import ProjectSettings

type Argument = str | int | float | os.PathLike[str] | SafeCmd | Pipeline
"""What a positional argument may be."""

type OptionValue = str | int | float | bool | os.PathLike[str]
"""What a keyword option may be (``True`` is a bare flag, ``False`` omits it)."""

_OPTION_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*")
_NO_OK_CODES: Final = frozenset({0})


def _catalogue(catalogue: ProgramCatalogue | None) -> ProgramCatalogue:
    if catalogue is not None:
        return catalogue
    from cuprum.scope import current_scope  # noqa: PLC0415 (the scope imports the catalogue)

    return current_scope().catalogue or DEFAULT_CATALOGUE


def make(program: Program | str, *, catalogue: ProgramCatalogue | None = None) -> CommandBuilder:
    """Return a builder for ``program``.

    Parameters
    ----------
    program
        A program in ``catalogue``.
    catalogue
        The catalogue to look it up in (default: the scope's, else
        ``DEFAULT_CATALOGUE``).

    Raises
    ------
    UnknownProgramError
        When the catalogue does not list ``program``.
    TypeError
        When ``catalogue`` is not a ``ProgramCatalogue``.
    """
    if catalogue is not None and not isinstance(catalogue, ProgramCatalogue):  # pyright: ignore[reportUnnecessaryIsInstance]
        msg = f"catalogue must be a ProgramCatalogue, not {type(catalogue).__name__}"
        raise TypeError(msg)
    chosen = _catalogue(catalogue)
    project = chosen.lookup(program)
    return CommandBuilder(Program(exact_name(program)), project, chosen)


@final
class CommandBuilder:
    """Turns Python values into the argv of one catalogued program (see the module doc)."""

    __slots__ = ("_catalogue", "_program", "_project")

    def __init__(self, program: Program, project: ProjectSettings, catalogue: ProgramCatalogue) -> None:
        check_program_name(program)
        if catalogue.lookup(program) is not project:
            msg = f"{program!r} is not owned by project {project.name!r} in that catalogue"
            raise ValueError(msg)
        self._program = program
        self._project = project
        self._catalogue = catalogue

    @property
    def program(self) -> Program:
        """The program this builder makes commands for."""
        return self._program

    def __call__(self, *args: Argument, **options: OptionValue) -> SafeCmd:
        """Build a command.

        Raises
        ------
        TypeError
            For ``None`` or a value of an unsupported type.
        ValueError
            For a NUL byte in any argument or option, or an invalid option name.
        """
        positionals: list[str] = []
        substitutions: list[Substitution] = []
        for index, value in enumerate(args):
            if isinstance(value, SafeCmd):
                spec_of(value)  # only a builder's command may be substituted
                substitutions.append(Substitution(index + 1, value))
                positionals.append(f"<({value})")
            elif isinstance(value, Pipeline):
                copied = dataclasses.replace(value)  # a copy of its own: the caller's can be forced
                substitutions.append(Substitution(index + 1, copied))
                positionals.append(f"<({copied})")
            else:
                positionals.append(_argument(value, f"argument {index}"))
        flags: list[str] = []
        for name, value in options.items():
            flags.extend(_option(name, value))
        split = positionals.index("--") if "--" in positionals else len(positionals)
        if flags and split < len(positionals):
            substitutions = [
                sub._replace(position=sub.position + len(flags)) if sub.position > split else sub
                for sub in substitutions
            ]
        argv = (self._program, *positionals[:split], *flags, *positionals[split:])
        return _issue(
            CommandSpec(
                program=self._program,
                argv=argv,
                project=self._project,
                catalogue=self._catalogue,
                ok_codes=_NO_OK_CODES,
                substitutions=tuple(substitutions),
            )
        )

    def __repr__(self) -> str:
        """Name the program."""
        return f"CommandBuilder({self._program!r})"


def _option(name: str, value: OptionValue) -> list[str]:
    if not isinstance(name, str) or not _OPTION_NAME.fullmatch(name):  # pyright: ignore[reportUnnecessaryIsInstance]
        msg = f"invalid option name {name!r} (letters, digits and underscores)"
        raise ValueError(msg)
    name = plain_str(name)  # a str subclass's own removesuffix/replace/__radd__ never run
    key = name.removesuffix("_") if len(name) > 1 else name
    short = len(key) == 1
    flag = ("-" if short else "--") + key.replace("_", "-")
    if value is True:
        return [flag]
    if value is False:
        return []
    text = _argument(value, f"option {name!r}")
    return [flag, text] if short else [f"{flag}={text}"]


def _argument(value: object, what: str) -> str:
    if value is None:
        msg = f"{what} is None; pass a string, a number or a path"
        raise TypeError(msg)
    if isinstance(value, bool):
        msg = f"{what} is a bool; use a keyword option for flags"
        raise TypeError(msg)
    if isinstance(value, str):
        text = value
    elif isinstance(value, int | float):
        text = str(value)
    elif isinstance(value, os.PathLike):
        path = os.fspath(value)  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
        text = path if isinstance(path, str) else os.fsdecode(path)  # pyright: ignore[reportUnknownArgumentType]
    else:
        msg = f"{what} has unsupported type {type(value).__name__}; pass a string, a number or a path"
        raise TypeError(msg)
    text = plain_str(text)
    if "\0" in text:
        msg = f"{what} contains a NUL byte, which no program can receive"  # the value may be a secret
        raise ValueError(msg)
    return text


# -- attribute sugar -----------------------------------------------------------


class SugarWarning(UserWarning):
    """Sugar was registered for a program its catalogue does not list."""


class SugarRegistration:
    """A name registered with ``sh.register``; ``detach()`` (or leaving ``with``) removes it."""

    __slots__ = ("_builder", "_name")

    def __init__(self, name: str, builder: CommandBuilder | None) -> None:
        self._name = name
        self._builder = builder

    def detach(self) -> None:
        """Unregister the name (idempotent; a later registration of it stays)."""
        with _SUGAR_LOCK:
            if _SUGAR.get(self._name) is self._builder:
                del _SUGAR[self._name]

    def __enter__(self) -> Self:
        """Return the registration."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Unregister the name."""
        self.detach()


_SUGAR: Final[dict[str, CommandBuilder]] = {}
_SUGAR_LOCK: Final = threading.Lock()
_RESERVED: Final = frozenset({"make", "register", "registered", "CommandBuilder", "SugarWarning"})


def register(
    name: str, program: Program | str, *, catalogue: ProgramCatalogue | None = None, strict: bool = False
) -> SugarRegistration:
    """Make ``sh.<name>`` the builder of ``program``.

    Parameters
    ----------
    name
        A Python identifier, not one of this module's own names.
    program
        The program.
    catalogue
        Where to look it up (default: the scope's, else ``DEFAULT_CATALOGUE``).
    strict
        Raise ``UnknownProgramError`` when the catalogue does not list the
        program, instead of warning (``SugarWarning``) and leaving the name
        unregistered.

    Raises
    ------
    ValueError
        For a name that is not an identifier, or is reserved.
    """
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_") or name in _RESERVED:  # pyright: ignore[reportUnnecessaryIsInstance]
        msg = f"cannot register {name!r}: use a public identifier that is not one of sh's own names"
        raise ValueError(msg)
    try:
        builder = make(program, catalogue=catalogue)
    except UnknownProgramError:
        if strict:
            raise
        message = f"sh.register({name!r}, {program!r}): not in the catalogue; sh.{name} stays undefined"
        warnings.warn(message, SugarWarning, stacklevel=2)
        return SugarRegistration(name, None)
    with _SUGAR_LOCK:
        _SUGAR[name] = builder
    return SugarRegistration(name, builder)


def registered() -> dict[str, Program]:
    """The registered names and their programs."""
    with _SUGAR_LOCK:
        return {name: builder.program for name, builder in _SUGAR.items()}


def __getattr__(name: str) -> CommandBuilder:
    """``sh.<name>``: the builder registered under ``name``."""
    with _SUGAR_LOCK:
        builder = _SUGAR.get(name)
    if builder is None:
        msg = (
            f"module 'cuprum.sh' has no attribute {name!r} (register it with sh.register({name!r}, PROGRAM))"
        )
        raise AttributeError(msg)
    return builder


__all__ = ["CommandBuilder", "SugarRegistration", "SugarWarning", "make", "register", "registered"]
