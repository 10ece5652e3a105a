"""A template for a project's safe builder: copy it, rename it, fill it in.

It builds commands for ``deployctl``, a stand-in for a program of your
project, which the default catalogue does not list: the module registers it
in a catalogue of its own (``CATALOGUE``). Replace the program, the
validator and the builder's options with yours; keep the rules (see the
users' guide, "Writing a builder for your project"):

1. every value is validated by a type of its own before it reaches argv;
2. no value ever becomes an option: a value is glued to its option
   (``--target=NAME``) or is an operand after ``--``;
3. no option that runs another program, or reads options from a file, is
   exposed;
4. the builder returns a ``SafeCmd`` made by ``sh.make`` with the
   ``catalogue`` it was given, and runs nothing itself.

>>> from cuprum.builders import SafePath
>>> deploy(ServiceName("billing"), [SafePath("build/", allow_relative=True)], dry_run=True).argv
('deployctl', 'push', '--dry-run', '--target=billing', '--', 'build/')
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final, final

from cuprum import DEFAULT_CATALOGUE, CuprumError, Program, ProgramCatalogue, ProjectSettings, sh
from cuprum.builders import SafePath

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cuprum import SafeCmd

# 1. The program, in a catalogue (a bare name is resolved on this process's PATH).
DEPLOYCTL: Final = Program("deployctl")
PROJECT: Final = ProjectSettings(
    name="deploy",
    programs=(DEPLOYCTL,),
    documentation_locations=("https://example.org/deployctl",),
)
CATALOGUE: Final = DEFAULT_CATALOGUE.extended(PROJECT)

# 2. A validator per kind of value, with its own error type.
_SERVICE: Final = re.compile(r"[a-z][a-z0-9-]{0,62}")


class InvalidServiceNameError(CuprumError, ValueError):
    """A value is not a service name."""


@final
class ServiceName:
    """A service name: a lower-case letter, then letters, digits or ``-``.

    Raises
    ------
    InvalidServiceNameError
        For anything else (it could not begin with ``-`` even if it tried).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not _SERVICE.fullmatch(value):
            msg = f"invalid service name {value!r}: a lower-case letter, then [a-z0-9-], 63 at most"
            raise InvalidServiceNameError(msg)
        self._value = value

    def __str__(self) -> str:
        """The name."""
        return self._value


# 3. The builder: typed values in, a SafeCmd out; flags are keyword-only.
def deploy(
    service: ServiceName,
    paths: Sequence[SafePath],
    *,
    dry_run: bool = False,
    catalogue: ProgramCatalogue = CATALOGUE,
) -> SafeCmd:
    """``deployctl push [--dry-run] --target=SERVICE -- PATH...``.

    Raises
    ------
    TypeError
        For a value that did not go through its validator.
    ValueError
        When ``paths`` is empty.
    """
    if not isinstance(service, ServiceName):
        msg = f"service must be a ServiceName, not {type(service).__name__}"
        raise TypeError(msg)
    if isinstance(paths, str | bytes | SafePath) or not all(isinstance(p, SafePath) for p in paths):
        msg = "paths must be a sequence of SafePath"
        raise TypeError(msg)
    if not paths:
        msg = "deploy needs at least one path"
        raise ValueError(msg)
    argv = ["push"]
    if dry_run:
        argv.append("--dry-run")
    argv.append(f"--target={service}")
    argv.extend(("--", *(str(path) for path in paths)))
    return sh.make(DEPLOYCTL, catalogue=catalogue)(*argv)
