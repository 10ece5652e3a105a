r"""A safe builder for GNU ``sort``: the worked example of "Writing a builder for your project".

Every value a caller supplies is validated first and then placed where it
cannot be read as an option: a key or a separator is glued to its option
(``--key=2,2n``, ``--field-separator=,``), and files are operands after
``--`` (``SafePath`` renders a relative ``-x`` as ``./-x``). No option that
names a program (``--compress-program``) or reads file names from elsewhere
(``--files0-from``) is exposed.

>>> from cuprum.builders import SafePath
>>> sort([SafePath("/var/log/app.csv")], keys=[SortKey("2,2nr")], separator=",", unique=True).argv
('sort', '--unique', '--field-separator=,', '--key=2,2nr', '--', '/var/log/app.csv')
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final, final

from cuprum import DEFAULT_CATALOGUE, SORT, CuprumError, ProgramCatalogue, sh
from cuprum.builders import SafePath

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cuprum import SafeCmd

_FIELD: Final = r"[1-9][0-9]*(?:\.[0-9]+)?[bdfghiMnRrV]*"
_KEY: Final = re.compile(rf"{_FIELD}(?:,{_FIELD})?")


class InvalidSortKeyError(CuprumError, ValueError):
    """A value is not a ``sort --key`` definition (``F[.C][OPTS][,F[.C][OPTS]]``)."""


@final
class SortKey:
    """A validated ``sort --key`` definition, such as ``2,2n`` or ``3.1r``.

    Parameters
    ----------
    spec
        Fields are counted from 1; the options are GNU sort's one-letter
        ordering options.

    Raises
    ------
    InvalidSortKeyError
        When ``spec`` is not of that form.
    """

    __slots__ = ("_spec",)

    def __init__(self, spec: str) -> None:
        if not isinstance(spec, str) or not _KEY.fullmatch(spec):
            msg = f"invalid sort key {spec!r}: expected F[.C][OPTS][,F[.C][OPTS]], fields from 1"
            raise InvalidSortKeyError(msg)
        self._spec = spec

    def __str__(self) -> str:
        """The definition, as ``--key`` takes it."""
        return self._spec

    def __repr__(self) -> str:
        """``SortKey('2,2n')``."""
        return f"SortKey({self._spec!r})"


def sort(
    files: Sequence[SafePath] = (),
    *,
    keys: Sequence[SortKey] = (),
    separator: str | None = None,
    numeric: bool = False,
    reverse: bool = False,
    unique: bool = False,
    output: SafePath | None = None,
    catalogue: ProgramCatalogue = DEFAULT_CATALOGUE,
) -> SafeCmd:
    """``sort [options] -- files...`` (standard input when ``files`` is empty).

    Parameters
    ----------
    files
        The files to sort.
    keys
        Sort keys, in priority order (``--key``). A key with ordering
        options of its own (``2,2nr``) ignores the global ones, as in GNU
        sort.
    separator
        One character that separates fields (``--field-separator``);
        blanks by default.
    numeric, reverse, unique
        ``--numeric-sort``, ``--reverse``, ``--unique``.
    output
        Write the result to this file instead of stdout (``--output``); it
        may be one of ``files``.
    catalogue
        The catalogue that must list ``sort``.

    Raises
    ------
    TypeError
        For a file or output that is not a ``SafePath``, a key that is not a
        ``SortKey``, or ``files`` given as a single path.
    ValueError
        For a separator that is not exactly one character, or is NUL or a
        newline.
    """
    if isinstance(files, str | bytes | SafePath):
        msg = "files must be a sequence of SafePath, not a single path"
        raise TypeError(msg)
    flags = {"--numeric-sort": numeric, "--reverse": reverse, "--unique": unique}
    argv = [flag for flag, wanted in flags.items() if wanted]
    if separator is not None:
        argv.append(f"--field-separator={_separator(separator)}")
    for index, key in enumerate(keys):
        if not isinstance(key, SortKey):
            msg = f"keys[{index}] must be a SortKey, not {type(key).__name__}"
            raise TypeError(msg)
        argv.append(f"--key={key}")
    if output is not None:
        argv.append(f"--output={_path(output, 'output')}")
    argv.extend(("--", *(_path(path, f"files[{index}]") for index, path in enumerate(files))))
    return sh.make(SORT, catalogue=catalogue)(*argv)


def _separator(value: str) -> str:
    if not isinstance(value, str) or len(value) != 1 or value in "\0\n":
        msg = f"separator must be one character other than NUL or a newline, not {value!r}"
        raise ValueError(msg)
    return value


def _path(value: SafePath, what: str) -> str:
    if not isinstance(value, SafePath):
        msg = f"{what} must be a SafePath, not {type(value).__name__}"
        raise TypeError(msg)
    return str(value)
