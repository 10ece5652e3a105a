"""Build commands from the catalogue: ``sh.make(program)(*args, **options)``.

Arguments become argv strings and nothing else: no shell ever parses them.

>>> from cuprum import sh, GIT
>>> git = sh.make(GIT)
>>> git("log", max_count=3, oneline=True, reverse=False).argv
('git', 'log', '--max-count=3', '--oneline')
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, final

from cuprum.catalogue import DEFAULT_CATALOGUE, Program, ProgramCatalogue
from cuprum.command import SafeCmd

if TYPE_CHECKING:
    from cuprum.catalogue import ProjectSettings

type Argument = str | int | float | os.PathLike[str]
"""What a positional argument may be."""

type OptionValue = str | int | float | bool | os.PathLike[str]
"""What a keyword option may be (``True`` is a bare flag, ``False`` omits it)."""


def make(program: Program | str, *, catalogue: ProgramCatalogue = DEFAULT_CATALOGUE) -> CommandBuilder:
    """Return a builder for ``program``.

    Parameters
    ----------
    program
        A program in ``catalogue``.
    catalogue
        The catalogue to look it up in.

    Raises
    ------
    UnknownProgramError
        When ``catalogue`` does not list ``program``.
    """
    project = catalogue.lookup(program)
    return CommandBuilder(Program(program), project)


@final
class CommandBuilder:
    """Turns Python values into the argv of one catalogued program.

    Positional arguments (``str``, ``int``, ``float``, ``os.PathLike``) come
    first, in order, then the keyword options in the order given, as a call
    reads. Keyword options become ``--key-name=value``
    (underscores turn into dashes); ``True`` gives a bare ``--key-name`` and
    ``False`` leaves the option out. ``None`` is a ``TypeError`` (say what
    you mean), and a NUL byte anywhere is a ``ValueError``.
    """

    __slots__ = ("_program", "_project")

    def __init__(self, program: Program, project: ProjectSettings) -> None:
        self._program = program
        self._project = project

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
            For a NUL byte in any argument or option, or an empty option name.
        """
        argv: list[str] = [self._program]
        argv.extend(_argument(value, f"argument {index}") for index, value in enumerate(args))
        for name, value in options.items():
            if (flag := _option(name, value)) is not None:
                argv.append(flag)
        return SafeCmd(program=self._program, argv=tuple(argv), project=self._project)

    def __repr__(self) -> str:
        """Name the program."""
        return f"CommandBuilder({self._program!r})"


def _option(name: str, value: OptionValue) -> str | None:
    if not name.strip("_") or "\0" in name:
        msg = f"invalid option name {name!r}"
        raise ValueError(msg)
    flag = "--" + name.replace("_", "-")
    if value is True:
        return flag
    if value is False:
        return None
    return f"{flag}={_argument(value, f'option {name!r}')}"


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
        text = os.fsdecode(os.fspath(value))  # pyright: ignore[reportUnknownArgumentType]
    else:
        msg = f"{what} has unsupported type {type(value).__name__}; pass a string, a number or a path"
        raise TypeError(msg)
    if "\0" in text:
        msg = f"{what} contains a NUL byte, which no program can receive: {text!r}"
        raise ValueError(msg)
    return text
