"""Resolve a catalogued program to the absolute executable that will run.

A bare name is looked up on **this process's** ``PATH`` (``os.environ``,
read at each run), never on the child's: a ``PATH`` in
``ExecutionContext.env`` or a scope's overlay reaches the child as a
variable but cannot choose which binary an allowed name runs. An absolute
program name is used as it is. Relative names with a slash never get here
(the catalogue refuses them).
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from cuprum.errors import ProgramNotFoundError

_cache: dict[tuple[str, str], str] = {}


def _usable(path: str) -> bool:
    return Path(path).is_file() and os.access(path, os.X_OK)


def forget(executable: str) -> None:
    """Drop cached resolutions to ``executable`` (it could not be executed)."""
    for key, value in list(_cache.items()):
        if value == executable:
            del _cache[key]


def _not_found(message: str, program: str) -> ProgramNotFoundError:
    error = ProgramNotFoundError(errno.ENOENT, message)
    error.filename = program
    return error


def resolve_executable(program: str) -> str:
    """The absolute path ``program`` runs as.

    Raises
    ------
    ProgramNotFoundError
        When no executable file of that name is on this process's ``PATH``
        (or no file is at the absolute path).
    PermissionError
        When the file at an absolute path is not executable.
    """
    if program.startswith("/"):
        if _usable(program):
            return program
        if Path(program).is_file():
            msg = f"program {program!r} is not executable"
            raise PermissionError(errno.EACCES, msg, program)
        msg = f"program {program!r} does not exist"
        raise _not_found(msg, program)
    search = os.environ.get("PATH", os.defpath)
    key = (program, search)
    cached = _cache.get(key)
    if cached is not None:
        return cached  # a stale entry fails at exec and is forgotten (forget())
    found = shutil.which(program, path=search)
    if found is None:
        msg = f"program {program!r} was not found on this process's PATH"
        raise _not_found(msg, program)
    executable = str(Path(found).absolute())
    # A relative PATH entry depends on the working directory: never cache it.
    if all(entry.startswith("/") for entry in search.split(os.pathsep)):
        if len(_cache) > 256:  # noqa: PLR2004
            _cache.clear()
        _cache[key] = executable
    return executable
