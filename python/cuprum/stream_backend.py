"""Choose the stream backend that moves bytes between pipeline stages.

Cuprum has two interchangeable backends: ``python`` (asyncio) and ``rust``
(the ``cuprum._rust`` extension). ``CUPRUM_STREAM_BACKEND`` selects one:
``auto`` (the default, also when the variable is empty) prefers Rust when the
extension imports; ``python`` and ``rust`` force a backend.
"""

from __future__ import annotations

import enum
import functools
import importlib
import os
from typing import TYPE_CHECKING, Final, Literal, Protocol, cast

if TYPE_CHECKING:
    from types import ModuleType

ENV_VAR: Final = "CUPRUM_STREAM_BACKEND"
_EXTENSION: Final = "cuprum._rust"


class StreamBackend(enum.StrEnum):
    """A concrete stream backend."""

    PYTHON = "python"
    RUST = "rust"


class BackendChoice(enum.StrEnum):
    """What ``CUPRUM_STREAM_BACKEND`` may ask for."""

    AUTO = "auto"
    PYTHON = "python"
    RUST = "rust"


class RustNotifier(Protocol):
    """``cuprum._rust.Notifier``: where finished hops are announced."""

    def fileno(self) -> int:
        """The descriptor that is readable while finished hops wait to be drained."""
        ...

    def drain(self) -> list[int]:
        """The tokens of the hops that finished since the last call."""
        ...

    @property
    def outstanding(self) -> int:
        """Hops started with this notifier that have not finished yet."""
        ...


class RustHopHandle(Protocol):
    """``cuprum._rust.Hop``: one hop in the runtime (dropping it cancels it)."""

    @property
    def token(self) -> int:
        """The token its notifier reports when it finishes."""
        ...

    @property
    def bytes_moved(self) -> int:
        """Bytes delivered so far."""
        ...

    def cancel(self) -> None:
        """Stop the hop within one chunk (idempotent)."""
        ...

    def result(self) -> tuple[int, Literal["eof", "downstream_closed", "cancelled"]] | None:
        """``None`` while it runs; how it ended, or its error raised."""
        ...


class RustExtension(Protocol):
    """What ``cuprum._rust`` provides (see ``cuprum/_rust.pyi``)."""

    __version__: str
    MAX_BUFFER_SIZE: int
    MAX_WORKERS: int

    def Notifier(self) -> RustNotifier:  # noqa: N802 (the extension's class)
        """A new notifier."""
        ...

    def start_hop(
        self, source_fd: int, sink_fd: int, notifier: RustNotifier, *, buffer_size: int, zero_copy: bool = ...
    ) -> RustHopHandle:
        """Start a hop that owns both descriptors from now on."""
        ...

    def worker_threads(self) -> int:
        """Worker threads the runtime runs now."""
        ...

    def start_runtime(self) -> int:
        """Start the runtime's threads now (else on the first hop); their count."""
        ...

    def _panic_for_tests(self) -> None:
        """Panic inside the binding (it must arrive as ``RuntimeError``)."""
        ...


@functools.cache
def _load_extension() -> ModuleType | ImportError:
    """Import the Rust extension once; remember the failure as well."""
    try:
        return importlib.import_module(_EXTENSION)
    except ImportError as error:
        return error


def rust_extension() -> RustExtension:
    """Return the ``cuprum._rust`` module.

    Raises
    ------
    ImportError
        When the extension is not built or cannot be loaded; the message
        says why.
    """
    loaded = _load_extension()
    if not isinstance(loaded, ImportError):
        return cast("RustExtension", loaded)
    message = (
        f"the Rust stream backend is unavailable: cannot import {_EXTENSION} "
        f"({loaded}); set {ENV_VAR}=python or auto, or install a build of "
        "cuprum that includes the extension"
    )
    raise ImportError(message, name=_EXTENSION) from loaded


def is_rust_available() -> bool:
    """Tell whether the Rust stream backend can be used in this process."""
    return not isinstance(_load_extension(), ImportError)


def parse_backend_choice(value: str | None) -> BackendChoice:
    """Parse a ``CUPRUM_STREAM_BACKEND`` value (case-insensitive).

    Parameters
    ----------
    value
        The raw value; ``None``, empty or blank mean ``auto``.

    Raises
    ------
    ValueError
        For any other value, naming the allowed ones.
    """
    normalised = (value or "").strip().lower()
    if not normalised:
        return BackendChoice.AUTO
    try:
        return BackendChoice(normalised)
    except ValueError:
        allowed = ", ".join(choice.value for choice in BackendChoice)
        message = (
            f"{ENV_VAR}={value!r} is not a stream backend; expected one of: {allowed} (or empty for auto)"
        )
        raise ValueError(message) from None


def resolve_stream_backend(value: str | None = None) -> StreamBackend:
    """Resolve the stream backend to use now.

    Parameters
    ----------
    value
        A backend choice; by default the current ``CUPRUM_STREAM_BACKEND``
        (read on every call, so a change between runs takes effect).

    Returns
    -------
    StreamBackend
        ``rust`` when asked for, or for ``auto`` when the extension imports;
        ``python`` otherwise.

    Raises
    ------
    ValueError
        When the value is not ``auto``, ``python``, ``rust`` or empty.
    ImportError
        When ``rust`` is asked for but the extension cannot be imported.
    """
    choice = parse_backend_choice(os.environ.get(ENV_VAR) if value is None else value)
    match choice:
        case BackendChoice.PYTHON:
            return StreamBackend.PYTHON
        case BackendChoice.RUST:
            rust_extension()
            return StreamBackend.RUST
        case BackendChoice.AUTO:
            return StreamBackend.RUST if is_rust_available() else StreamBackend.PYTHON
