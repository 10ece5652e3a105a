r"""Safe builders for GNU ``tar``: create, extract and list archives.

The rules that keep a value from becoming an option or a command:

- the archive is always ``--file=<path>`` with ``--force-local`` (GNU tar
  would otherwise read ``host:file`` as a remote archive reached through a
  remote shell), and a relative ``-`` is rendered ``./-``, never stdin;
- directories are ``--directory=<path>``; members follow ``--`` and are
  taken literally (``--no-unquote``, ``--no-wildcards``: GNU tar would
  otherwise turn ``a\nb`` into a newline);
- compression is one fixed flag (``--gzip``, ``--bzip2``, ``--xz`` or
  ``--zstd``); nothing that names a program (``--use-compress-program``,
  ``-I``, ``--to-command``, ``--checkpoint-action``, ``--info-script``,
  ``--rsh-command``) is ever exposed;
- extraction never keeps the archive's owners (``--no-same-owner``) and, as
  GNU tar does by default, strips a leading ``/`` from member names and
  refuses members with ``..``.

GNU tar also reads options from the ``TAR_OPTIONS`` environment variable;
do not let untrusted input set it (Cuprum passes the environment you give).

>>> from cuprum.builders import SafePath, tar
>>> tar.create(SafePath("/tmp/site.tar.gz"), [SafePath("-index.html", allow_relative=True)],
...            compression="gzip", directory=SafePath("/srv/www")).argv  # doctest: +NORMALIZE_WHITESPACE
('tar', '--create', '--force-local', '--file=/tmp/site.tar.gz', '--gzip', '--directory=/srv/www',
 '--no-unquote', '--no-wildcards', '--', './-index.html')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal

from cuprum import sh
from cuprum.builders.validators import SafePath
from cuprum.catalogue import DEFAULT_CATALOGUE, TAR, ProgramCatalogue

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cuprum.command import SafeCmd

type Compression = Literal["gzip", "bzip2", "xz", "zstd"]
"""The compressions a builder may ask for; at most one per archive."""

COMPRESSION_FLAGS: Final[dict[str, str]] = {
    "gzip": "--gzip",
    "bzip2": "--bzip2",
    "xz": "--xz",
    "zstd": "--zstd",
}
"""Each compression's GNU tar flag."""


def create(
    archive: SafePath,
    members: Sequence[SafePath],
    *,
    compression: Compression | None = None,
    directory: SafePath | None = None,
    catalogue: ProgramCatalogue = DEFAULT_CATALOGUE,
) -> SafeCmd:
    """``tar --create``: write ``members`` into ``archive``.

    Parameters
    ----------
    archive
        The archive file to write.
    members
        The files and directories to store (directories recursively),
        relative to ``directory`` when they are relative; at least one.
    compression
        At most one compression; none when ``None``.
    directory
        Change to this directory before reading ``members``
        (``--directory``), so the archive holds relative names.
    catalogue
        The catalogue that must list ``tar``.

    Raises
    ------
    ValueError
        When ``members`` is empty (GNU tar refuses to write an empty
        archive) or ``compression`` is not one of the four.
    TypeError
        When a path is not a ``SafePath`` or ``members`` is a string.
    """
    if isinstance(members, str | bytes | SafePath):
        msg = "members must be a sequence of SafePath, not a single path"
        raise TypeError(msg)
    if not members:
        msg = "tar create needs at least one member (GNU tar refuses an empty archive)"
        raise ValueError(msg)
    names = [_path(member, f"members[{index}]") for index, member in enumerate(members)]
    argv = ["--create", *_archive(archive, compression)]
    if directory is not None:
        argv.append(f"--directory={_path(directory, 'directory')}")
    argv.extend(("--no-unquote", "--no-wildcards", "--", *names))
    return sh.make(TAR, catalogue=catalogue)(*argv)


def extract(
    archive: SafePath,
    destination: SafePath,
    *,
    compression: Compression | None = None,
    catalogue: ProgramCatalogue = DEFAULT_CATALOGUE,
) -> SafeCmd:
    """``tar --extract``: unpack all of ``archive`` into ``destination``.

    Parameters
    ----------
    archive
        The archive to read.
    destination
        An existing directory to extract into (``--directory``).
    compression
        The archive's compression; GNU tar recognises it by itself when
        reading a file, so ``None`` usually suffices.
    catalogue
        The catalogue that must list ``tar``.

    Raises
    ------
    ValueError
        When ``compression`` is not one of the four.
    TypeError
        When a path is not a ``SafePath``.
    """
    argv = [
        "--extract",
        *_archive(archive, compression),
        f"--directory={_path(destination, 'destination')}",
        "--no-same-owner",
    ]
    return sh.make(TAR, catalogue=catalogue)(*argv)


def list_contents(
    archive: SafePath,
    *,
    compression: Compression | None = None,
    catalogue: ProgramCatalogue = DEFAULT_CATALOGUE,
) -> SafeCmd:
    """``tar --list``: print the archive's member names, one a line.

    Unusual characters (a newline, a backslash) are shown escaped, as GNU
    tar does by default, so every name stays on one line.

    Raises
    ------
    ValueError
        When ``compression`` is not one of the four.
    TypeError
        When ``archive`` is not a ``SafePath``.
    """
    argv = ["--list", *_archive(archive, compression)]
    return sh.make(TAR, catalogue=catalogue)(*argv)


def _archive(archive: SafePath, compression: object) -> list[str]:
    argv = ["--force-local", f"--file={_path(archive, 'archive')}"]
    if compression is not None:
        if not isinstance(compression, str) or compression not in COMPRESSION_FLAGS:
            allowed = ", ".join(COMPRESSION_FLAGS)
            msg = f"compression must be one of {allowed} (or None); got {compression!r}"
            raise ValueError(msg)
        argv.append(COMPRESSION_FLAGS[compression])
    return argv


def _path(path: SafePath, what: str) -> str:
    if not isinstance(path, SafePath):
        msg = f"{what} must be a SafePath, not {type(path).__name__}; wrap it: SafePath(...)"
        raise TypeError(msg)
    return str(path)
