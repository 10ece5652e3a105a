"""A safe builder for local ``rsync`` copies; nothing runs until you run it.

Only local-to-local transfers are built. rsync reads an operand with a
colon before its first ``/`` (``host:path``, ``host::module``,
``rsync://...``) as a remote, and reaching a remote starts a remote shell,
so the builder renders every relative operand as ``./...``: it then has a
``/`` before any colon and can only be a local path. No remote-shell option
(``-e``/``--rsh``, ``--rsync-path``) is ever exposed, and the operands
follow ``--``, so neither can be read as an option.

>>> from cuprum.builders import SafePath, rsync
>>> rsync.rsync(SafePath("build/", allow_relative=True), SafePath("/srv/www/"), archive=True).argv
('rsync', '--archive', '--', './build/', '/srv/www/')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cuprum import sh
from cuprum.builders.validators import SafePath
from cuprum.catalogue import DEFAULT_CATALOGUE, RSYNC, ProgramCatalogue

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cuprum.command import SafeCmd


def rsync(  # noqa: PLR0913 (every flag is keyword-only)
    source: SafePath,
    destination: SafePath,
    *,
    archive: bool = False,
    delete: bool = False,
    dry_run: bool = False,
    verbose: bool = False,
    compress: bool = False,
    exclude: Sequence[str] = (),
    catalogue: ProgramCatalogue = DEFAULT_CATALOGUE,
) -> SafeCmd:
    """``rsync [options] -- source destination``, both local.

    A trailing ``/`` on ``source`` copies the directory's contents rather
    than the directory itself, as rsync always does; ``SafePath`` keeps it.

    Parameters
    ----------
    source, destination
        Local paths; relative ones are rendered ``./...``.
    archive
        ``--archive``: recurse and keep permissions, times, links, ...
    delete
        ``--delete``: remove files in ``destination`` that ``source`` lacks.
    dry_run
        ``--dry-run``: report what would change, change nothing.
    verbose
        ``--verbose``.
    compress
        ``--compress``.
    exclude
        Patterns to leave out, each passed as ``--exclude=PATTERN``.
    catalogue
        The catalogue that must list ``rsync``.

    Raises
    ------
    TypeError
        When an operand is not a ``SafePath``, or ``exclude`` is a string or
        holds a non-string.
    ValueError
        For an empty exclude pattern or one containing NUL.
    """
    flags = {
        "--archive": archive,
        "--delete": delete,
        "--dry-run": dry_run,
        "--verbose": verbose,
        "--compress": compress,
    }
    argv = [flag for flag, wanted in flags.items() if wanted]
    if isinstance(exclude, str | bytes):
        msg = "exclude must be a sequence of patterns, not a single string"
        raise TypeError(msg)
    for pattern in exclude:
        if not isinstance(pattern, str):
            msg = f"an exclude pattern must be a str, not {type(pattern).__name__}"
            raise TypeError(msg)
        if not pattern:
            msg = "an exclude pattern must not be empty"
            raise ValueError(msg)
        argv.append(f"--exclude={pattern}")
    argv.extend(("--", _local(source, "source"), _local(destination, "destination")))
    return sh.make(RSYNC, catalogue=catalogue)(*argv)


def _local(path: SafePath, what: str) -> str:
    if not isinstance(path, SafePath):
        msg = f"{what} must be a SafePath, not {type(path).__name__}; wrap it: SafePath(...)"
        raise TypeError(msg)
    text = str(path)
    if path.is_absolute or text.startswith("./"):
        return text
    return "./" + text
