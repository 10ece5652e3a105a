"""The catalogue: which programs Cuprum may run, grouped by project.

A program outside the catalogue cannot even be built into a command. The
default catalogue lists common tools and leaves out the ones that execute
arbitrary commands themselves (shells, ``env``, ``xargs``, ``awk``,
``find``), which would let a caller step around the allowlist.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from typing import TYPE_CHECKING, NewType

from cuprum.errors import DuplicateProgramError, DuplicateProjectError, UnknownProgramError
from cuprum.plain import plain_str

if TYPE_CHECKING:
    from collections.abc import Iterable

Program = NewType("Program", str)
"""A program: a bare name (found on this process's ``PATH`` when it runs) or
an absolute path (pinned). It is also the child's ``argv[0]``."""


def exact_name(program: object) -> str:
    """``program``'s text as a plain ``str``.

    A ``str`` subclass could lie in ``__eq__`` or ``__hash__`` (and so be
    found in a catalogue or an allowlist under another name): every program
    name is copied to a plain ``str`` where it enters Cuprum.

    Raises
    ------
    TypeError
        When ``program`` is not a string.
    """
    if isinstance(program, str):
        return plain_str(program)
    msg = f"a program name must be a string, not {type(program).__name__}"
    raise TypeError(msg)


def check_program_name(program: str) -> None:
    """Refuse a program name that could not be resolved safely.

    A bare name (``git``) is looked up on the *parent's* ``PATH`` when the
    command runs; an absolute path (``/usr/bin/git``) is used as it is. A
    relative path with a slash (``bin/git``, ``./git``) would depend on the
    working directory, so it is refused.

    Raises
    ------
    TypeError
        When ``program`` is not a string.
    ValueError
        When it is empty, contains NUL, is ``.`` or ``..``, or is a relative
        path with a slash.
    """
    if not isinstance(program, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        msg = f"a program name must be a string, not {type(program).__name__}"
        raise TypeError(msg)
    if not program or "\0" in program or program in {".", ".."}:
        msg = f"invalid program name {program!r}"
        raise ValueError(msg)
    if "/" in program and not program.startswith("/"):
        msg = (
            f"program {program!r} is a relative path: use a bare name (looked up on PATH) or an absolute path"
        )
        raise ValueError(msg)


@dataclasses.dataclass(frozen=True, slots=True)
class ProjectSettings:
    """A named group of programs with shared documentation and noise rules.

    Parameters
    ----------
    name
        The project's name, unique within a catalogue.
    programs
        The programs the project owns.
    documentation_locations
        Where to read about the programs (URLs or paths), for error messages
        and tooling.
    noise_rules
        Regular expressions for output lines that observers may ignore.
    """

    name: str
    programs: tuple[Program, ...]
    documentation_locations: tuple[str, ...] = ()
    noise_rules: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Normalise sequences to tuples and reject malformed entries."""
        if not self.name:
            msg = "a project needs a non-empty name"
            raise ValueError(msg)
        for field in ("programs", "documentation_locations", "noise_rules"):
            value: Iterable[str] = getattr(self, field)
            if isinstance(value, str):
                msg = f"ProjectSettings.{field} must be a sequence of strings, not a string"
                raise TypeError(msg)
            object.__setattr__(self, field, tuple(value))
        object.__setattr__(self, "programs", tuple(Program(exact_name(program)) for program in self.programs))
        for rule in self.noise_rules:
            try:
                re.compile(rule)
            except re.error as error:
                msg = f"project {self.name!r}: noise rule {rule!r} is not a regular expression: {error}"
                raise ValueError(msg) from None
        for program in self.programs:
            try:
                check_program_name(program)
            except (TypeError, ValueError) as error:
                msg = f"project {self.name!r}: {error}"
                raise type(error)(msg) from None


class ProgramCatalogue:
    """An immutable allowlist of programs, each owned by one project.

    Parameters
    ----------
    projects
        The projects; names and programs must be unique across them.

    Raises
    ------
    DuplicateProjectError
        When two projects share a name.
    DuplicateProgramError
        When two projects (or one project twice) list the same program.
    """

    __slots__ = ("_owners", "_projects")

    def __init__(self, projects: Iterable[ProjectSettings]) -> None:
        self._projects: dict[str, ProjectSettings] = {}
        self._owners: dict[Program, ProjectSettings] = {}
        for project in projects:
            if project.name in self._projects:
                msg = f"duplicate project {project.name!r} in the catalogue"
                raise DuplicateProjectError(msg)
            self._projects[project.name] = project
            for program in project.programs:
                if owner := self._owners.get(program):
                    msg = f"program {program!r} is claimed by both {owner.name!r} and {project.name!r}"
                    raise DuplicateProgramError(msg)
                self._owners[program] = project

    @property
    def projects(self) -> tuple[ProjectSettings, ...]:
        """The projects, in the order given."""
        return tuple(self._projects.values())

    @property
    def allowlist(self) -> frozenset[Program]:
        """Every program in the catalogue."""
        return frozenset(self._owners)

    def extended(self, *projects: ProjectSettings) -> ProgramCatalogue:
        """A new catalogue with this one's projects and ``projects`` after them.

        >>> from cuprum import DEFAULT_CATALOGUE, Program, ProjectSettings
        >>> mine = DEFAULT_CATALOGUE.extended(ProjectSettings("tools", (Program("make"),)))
        >>> "make" in mine and "echo" in mine
        True

        Raises
        ------
        DuplicateProjectError, DuplicateProgramError
            When a new project's name or program is already taken.
        """
        return ProgramCatalogue((*self.projects, *projects))

    def is_allowed(self, program: str) -> bool:
        """Tell whether ``program`` is in the catalogue."""
        return isinstance(program, str) and str.__str__(program) in self._owners

    def lookup(self, program: str) -> ProjectSettings:
        """Return the project that owns ``program``.

        Raises
        ------
        UnknownProgramError
            When no project lists it.
        """
        try:
            return self._owners[Program(exact_name(program))]
        except (KeyError, TypeError):
            pass
        text = str.__str__(program) if isinstance(program, str) else repr(program)
        close = difflib.get_close_matches(text, list(self._owners), n=1)
        suggestion = None
        if close:
            suggestion = (close[0], self._owners[Program(close[0])].documentation_locations)
        raise UnknownProgramError(text, self.allowlist, suggestion)

    def __contains__(self, program: object) -> bool:
        """Support ``program in catalogue``."""
        return isinstance(program, str) and str.__str__(program) in self._owners

    def __repr__(self) -> str:
        """Name the projects, for debugging."""
        return f"ProgramCatalogue(projects={[p.name for p in self._projects.values()]!r})"


ECHO = Program("echo")
CAT = Program("cat")
LS = Program("ls")
HEAD = Program("head")
TAIL = Program("tail")
WC = Program("wc")
SORT = Program("sort")
UNIQ = Program("uniq")
TR = Program("tr")
CUT = Program("cut")
TEE = Program("tee")
GREP = Program("grep")
PRINTF = Program("printf")
SEQ = Program("seq")
YES = Program("yes")
TRUE = Program("true")
FALSE = Program("false")
SLEEP = Program("sleep")
DATE = Program("date")
MKDIR = Program("mkdir")
CP = Program("cp")
MV = Program("mv")
RM = Program("rm")
GIT = Program("git")
RSYNC = Program("rsync")
TAR = Program("tar")

DEFAULT_CATALOGUE = ProgramCatalogue(
    projects=(
        ProjectSettings(
            name="coreutils",
            programs=(ECHO, CAT, LS, HEAD, TAIL, WC, SORT, UNIQ, TR, CUT, TEE, PRINTF, SEQ, YES, TRUE, FALSE),
            documentation_locations=("https://www.gnu.org/software/coreutils/manual/",),
        ),
        ProjectSettings(
            name="coreutils-files",
            programs=(SLEEP, DATE, MKDIR, CP, MV, RM),
            documentation_locations=("https://www.gnu.org/software/coreutils/manual/",),
        ),
        ProjectSettings(
            name="grep",
            programs=(GREP,),
            documentation_locations=("https://www.gnu.org/software/grep/manual/",),
        ),
        ProjectSettings(
            name="git",
            programs=(GIT,),
            documentation_locations=("https://git-scm.com/docs",),
            noise_rules=(r"^hint: ",),
        ),
        ProjectSettings(
            name="rsync",
            programs=(RSYNC,),
            documentation_locations=("https://download.samba.org/pub/rsync/rsync.1",),
        ),
        ProjectSettings(
            name="tar",
            programs=(TAR,),
            documentation_locations=("https://www.gnu.org/software/tar/manual/",),
        ),
    ),
)
"""Common tools; programs that run other commands are deliberately absent."""
