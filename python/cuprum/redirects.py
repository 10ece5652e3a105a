"""Where a run's standard streams come from and go.

``DEVNULL``, ``STDOUT``, ``INHERIT`` and ``PIPE``, ``Append``, and
``StdinInput``, with the checks that refuse a bad target or source when it
is given, long before any process starts.
"""

from __future__ import annotations

import dataclasses
import enum
import io
import os
import subprocess
from collections.abc import AsyncIterable
from typing import Final, Literal


class Stream(enum.Enum):
    """Special places a stream can go (or come from)."""

    DEVNULL = "devnull"
    """``/dev/null``: discard output, or an empty stdin."""
    STDOUT = "stdout"
    """For ``stderr`` only: the same place as stdout (``2>&1``)."""
    INHERIT = "inherit"
    """This process's own stream: the child writes (or reads) it directly."""
    PIPE = "pipe"
    """For ``start(stdin=PIPE)`` only: a writable ``proc.stdin``."""

    def __repr__(self) -> str:
        """``cuprum.DEVNULL`` and so on."""
        return f"cuprum.{self.name}"


DEVNULL: Final = Stream.DEVNULL
STDOUT: Final = Stream.STDOUT
INHERIT: Final = Stream.INHERIT
PIPE: Final = Stream.PIPE


@dataclasses.dataclass(frozen=True, slots=True)
class Append:
    """Redirect to a file, appending (``>>`` in a shell); created if missing.

    Parameters
    ----------
    path
        The file.
    """

    path: os.PathLike[str]

    def __post_init__(self) -> None:
        """Accept ``os.PathLike`` only (a ``str`` might be a typo for something else)."""
        _check_path(self.path, "Append.path")


type FileTarget = os.PathLike[str] | Append | int | io.RawIOBase | io.BufferedIOBase
"""A file, an appended file, a descriptor, or a binary file object."""
type OutputTarget = FileTarget | Literal[Stream.DEVNULL, Stream.INHERIT]
"""Where stdout can go instead of being captured."""
type ErrorTarget = OutputTarget | Literal[Stream.STDOUT]
"""Where stderr can go instead of being captured."""


def _check_path(path: object, what: str) -> None:
    if isinstance(path, str | bytes):
        msg = f"{what}: pass a pathlib.Path (or cuprum.Append(path)), not a bare {type(path).__name__}"
        raise TypeError(msg)
    if not isinstance(path, os.PathLike):
        msg = f"{what} must be a path, not {type(path).__name__}"
        raise TypeError(msg)
    check_path_text(path, what, "path")  # pyright: ignore[reportUnknownArgumentType]


def check_path_text(path: str | os.PathLike[str], what: str, noun: str) -> None:
    """Refuse a path whose text is empty, not ``str`` or holds a NUL (``ValueError``)."""
    text = os.fspath(path)
    if not isinstance(text, str) or not text or "\0" in text:  # pyright: ignore[reportUnnecessaryIsInstance]
        msg = f"{what}: invalid {noun} {text!r}"
        raise ValueError(msg)


_SUBPROCESS_CONSTANTS: Final = {subprocess.DEVNULL: Stream.DEVNULL, subprocess.STDOUT: Stream.STDOUT}


def check_target(target: object, what: str, *, allow_stdout: bool = False) -> object:
    """Validate (and normalise) a redirect target.

    ``subprocess.DEVNULL`` and ``subprocess.STDOUT`` are accepted for their
    Cuprum twins.

    Raises
    ------
    TypeError
        For a text-mode file object, a bare ``str`` path, or any other type.
    ValueError
        For a negative descriptor, a closed file object, ``STDOUT`` for
        stdout, or ``PIPE``.
    """
    if isinstance(target, bool):
        msg = f"{what} must be a redirect target, not a bool"
        raise TypeError(msg)
    if isinstance(target, int):
        return _check_number(_SUBPROCESS_CONSTANTS.get(target, target), what, allow_stdout=allow_stdout)
    if isinstance(target, Stream):
        return _check_number(target, what, allow_stdout=allow_stdout)
    if isinstance(target, io.IOBase):
        return _check_file_object(target, what)
    if not isinstance(target, Append):
        _check_path(target, what)
    return target


def _check_number(target: int | Stream, what: str, *, allow_stdout: bool) -> int | Stream:
    if isinstance(target, int) and target < 0:
        msg = f"{what}: a file descriptor must be >= 0, not {target}"
        raise ValueError(msg)
    if target is Stream.STDOUT and not allow_stdout:
        msg = f"{what}: STDOUT is only meaningful for stderr"
        raise ValueError(msg)
    if target is Stream.PIPE:
        msg = f"{what}: PIPE is the default (capture); leave it unset"
        raise ValueError(msg)
    return target


def _check_file_object(target: io.IOBase, what: str) -> io.IOBase:
    if isinstance(target, io.TextIOBase):
        msg = f"{what}: a text-mode file object; open the file in binary mode ('wb') or pass its .buffer"
        raise TypeError(msg)
    if target.closed:
        msg = f"{what}: the file object is closed"
        raise ValueError(msg)
    try:
        target.fileno()
    except (OSError, ValueError):
        msg = f"{what}: {type(target).__name__} has no file descriptor; capture the output instead"
        raise TypeError(msg) from None
    return target


@dataclasses.dataclass(frozen=True, slots=True)
class StdinInput:
    """Where a command's stdin comes from: exactly one source.

    Parameters
    ----------
    text
        A ``str``, encoded with the context's encoding and error handler.
    data
        Bytes, written as they are.
    path
        A file the child reads directly (no copying through Python).
    stream
        An async iterable of ``bytes`` chunks, written with backpressure.
    fd
        A descriptor the child reads directly.

    ``StdinInput()`` is an empty stdin. (The default, with no ``stdin=``,
    is ``/dev/null``; ``INHERIT`` gives the child this process's stdin.)
    """

    text: str | None = None
    data: bytes | None = None
    path: os.PathLike[str] | None = None
    stream: AsyncIterable[bytes] | None = None
    fd: int | None = None

    def __post_init__(self) -> None:
        """Refuse more than one source, and values of the wrong type."""
        given = [name for name in ("text", "data", "path", "stream", "fd") if getattr(self, name) is not None]
        if len(given) > 1:
            msg = f"StdinInput takes one source, not {' and '.join(given)}"
            raise ValueError(msg)
        if self.text is not None and not isinstance(self.text, str):
            msg = "StdinInput.text must be str (use data= for bytes)"
            raise TypeError(msg)
        if self.data is not None and not isinstance(self.data, bytes | bytearray | memoryview):
            msg = "StdinInput.data must be bytes (use text= for str)"
            raise TypeError(msg)
        if self.path is not None:
            _check_path(self.path, "StdinInput.path")
        if self.stream is not None and not isinstance(self.stream, AsyncIterable):
            msg = "StdinInput.stream must be an async iterable of bytes"
            raise TypeError(msg)
        if self.fd is not None and (isinstance(self.fd, bool) or not isinstance(self.fd, int) or self.fd < 0):
            msg = f"StdinInput.fd must be a descriptor >= 0, not {self.fd!r}"
            raise ValueError(msg)

    def encode(self, encoding: str, errors: str = "strict") -> bytes | None:
        """The bytes to write for ``text``/``data`` (empty when no source); ``None`` otherwise."""
        if self.text is not None:
            return self.text.encode(encoding, errors)
        if self.data is not None:
            return bytes(self.data)
        if self.path is None and self.stream is None and self.fd is None:
            return b""
        return None


type StdinSource = StdinInput | Literal[Stream.DEVNULL, Stream.INHERIT, Stream.PIPE]
"""What ``stdin=`` accepts."""


def check_stdin(stdin: object, *, live: bool) -> StdinSource | None:
    """Validate the ``stdin=`` argument of ``run``/``start``.

    Raises
    ------
    TypeError
        For a value of the wrong type.
    ValueError
        For ``PIPE`` outside ``start()``, or ``STDOUT``.
    """
    if stdin is None or isinstance(stdin, StdinInput):
        return stdin
    if isinstance(stdin, int) and not isinstance(stdin, bool) and stdin == subprocess.DEVNULL:
        return Stream.DEVNULL
    if stdin is Stream.PIPE and not live:
        msg = "stdin=PIPE needs a live process: use `async with cmd.start(stdin=PIPE) as proc`"
        raise ValueError(msg)
    if stdin in (Stream.DEVNULL, Stream.INHERIT, Stream.PIPE):
        return stdin  # pyright: ignore[reportReturnType]
    msg = f"stdin must be a StdinInput, DEVNULL, INHERIT or PIPE, not {stdin!r}"
    raise TypeError(msg)
