"""How to run a command: output handling and the execution context.

Where the standard streams come from and go (``DEVNULL``, ``Append``,
``StdinInput``...) is ``cuprum.redirects``.

Every option is checked when it is made, so a bad value fails with a typed
error at the line that wrote it, long before any process starts.
"""

from __future__ import annotations

import codecs
import dataclasses
import math
import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Generic, Literal, TextIO, overload

from cuprum._typing import OutT
from cuprum.environment import validate_overlay
from cuprum.plain import plain_str
from cuprum.redirects import ErrorTarget, OutputTarget, check_path_text, check_target

if TYPE_CHECKING:
    from cuprum.events import Tags


def check_encoding(encoding: object, errors: object, what: str) -> None:
    """Reject a bad codec or error handler now, not mid-run (``LookupError``).

    A codec must be known and a text encoding (not ``base64``, ``zlib``...).
    """
    if not isinstance(encoding, str) or not isinstance(errors, str):
        msg = f"{what}: encoding and errors must be strings"
        raise TypeError(msg)
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        msg = f"{what}: unknown encoding {encoding!r}"
        raise LookupError(msg) from None
    if not getattr(info, "_is_text_encoding", True):  # base64, hex, rot13, zlib: not bytes <-> str
        msg = f"{what}: {encoding!r} is not a text encoding (use text=False and codecs.decode yourself)"
        raise LookupError(msg)
    try:
        codecs.lookup_error(errors)
    except LookupError:
        msg = f"{what}: unknown error handler {errors!r}"
        raise LookupError(msg) from None


def _check_flag(value: object, what: str) -> None:
    if not isinstance(value, bool):
        msg = f"{what} must be a bool, not {type(value).__name__}"
        raise TypeError(msg)


@dataclasses.dataclass(frozen=True, slots=True, init=False)
class RunOutputOptions(Generic[OutT]):  # noqa: UP046 (PEP 696 default on 3.12, see cuprum._typing)
    """What to do with a command's stdout and stderr.

    Parameters
    ----------
    capture
        Keep the output in the result (``result.stdout`` / ``.stderr``).
    echo
        Also write the output, as it arrives, to the context's sinks
        (``sys.stdout`` / ``sys.stderr`` by default); ``None`` takes the
        scope's default (off unless a scope says otherwise).
    text
        ``True``: decode output to ``str``. ``False``: keep ``bytes``,
        exactly as written (``result.stdout`` is ``bytes``).
    encoding, errors
        How to decode (``text=True`` only); ``None`` takes the context's.
    stdout
        Send stdout somewhere instead of capturing it: a ``pathlib.Path``
        (truncated), ``Append(path)``, a descriptor, a binary file object,
        ``DEVNULL`` or ``INHERIT`` (this process's own stdout, no copying).
        For a pipeline, the last stage's stdout.
    stderr
        The same for stderr (every stage's), plus ``STDOUT`` (``2>&1``).

    Raises
    ------
    TypeError, ValueError
        For a bad target, a text-mode file object, ``text=False`` with an
        encoding, or an unknown codec.
    """

    capture: bool
    echo: bool | None
    text: bool
    encoding: str | None
    errors: str | None
    stdout: OutputTarget | None
    stderr: ErrorTarget | None

    @overload
    def __init__(
        self: RunOutputOptions[str],
        *,
        capture: bool = True,
        echo: bool | None = None,
        text: Literal[True] = True,
        encoding: str | None = None,
        errors: str | None = None,
        stdout: OutputTarget | None = None,
        stderr: ErrorTarget | None = None,
    ) -> None: ...

    @overload
    def __init__(
        self: RunOutputOptions[bytes],
        *,
        capture: bool = True,
        echo: bool | None = None,
        text: Literal[False],
        encoding: None = None,
        errors: None = None,
        stdout: OutputTarget | None = None,
        stderr: ErrorTarget | None = None,
    ) -> None: ...

    def __init__(
        self,
        *,
        capture: bool = True,
        echo: bool | None = None,
        text: bool = True,
        encoding: str | None = None,
        errors: str | None = None,
        stdout: OutputTarget | None = None,
        stderr: ErrorTarget | None = None,
    ) -> None:
        """Validate and store the options."""
        _check_flag(capture, "RunOutputOptions.capture")
        _check_flag(text, "RunOutputOptions.text")
        if echo is not None:
            _check_flag(echo, "RunOutputOptions.echo")
        if not text and (encoding is not None or errors is not None):
            msg = "RunOutputOptions: text=False keeps bytes; encoding and errors apply to text only"
            raise ValueError(msg)
        if encoding is not None or errors is not None:
            check_encoding(encoding or "utf-8", errors or "strict", "RunOutputOptions")
        values = {
            "capture": capture,
            "echo": echo,
            "text": text,
            "encoding": encoding,
            "errors": errors,
            "stdout": None if stdout is None else check_target(stdout, "RunOutputOptions.stdout"),
            "stderr": None
            if stderr is None
            else check_target(stderr, "RunOutputOptions.stderr", allow_stdout=True),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)


def _check_seconds(value: object, what: str, *, allow_zero: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{what} must be a number of seconds, not {type(value).__name__}"
        raise TypeError(msg)
    if math.isnan(value) or value < 0 or (value == 0 and not allow_zero):
        msg = f"{what} must be a number of seconds >= 0, not {value!r}"
        raise ValueError(msg)


def _string_mapping(value: object, what: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        msg = f"{what} must be a mapping of str to str"
        raise TypeError(msg)
    mapping: dict[object, object] = dict(value)  # pyright: ignore[reportUnknownArgumentType]
    if not all(isinstance(key, str) and isinstance(item, str) for key, item in mapping.items()):
        msg = f"{what} must be a mapping of str to str"
        raise TypeError(msg)
    return {plain_str(key): plain_str(item) for key, item in mapping.items()}  # pyright: ignore[reportArgumentType]


def _check_directory(cwd: object, what: str) -> None:
    if not isinstance(cwd, str | os.PathLike):
        msg = f"{what} must be a path, not {type(cwd).__name__}"
        raise TypeError(msg)
    check_path_text(cwd, what, "directory")  # pyright: ignore[reportUnknownArgumentType]


@dataclasses.dataclass(frozen=True, slots=True)
class ExecutionContext:
    """Where and how a command runs.

    Parameters
    ----------
    env
        Variables layered over the live ``os.environ`` and the scope's
        overlays (innermost wins); keys and values must be ``str``. The
        child's ``PATH`` never decides which program runs: programs are
        resolved on this process's ``PATH``.
    cwd
        The working directory (default: the caller's).
    encoding, errors
        How output is decoded and stdin text encoded (output options may
        override the decoding).
    cancel_grace
        Seconds between SIGTERM and SIGKILL when a run is cut short.
    timeout
        Seconds before the run is terminated; ``None`` defers to the scope,
        ``math.inf`` means no limit, ``0`` or less means already expired
        (as in ``subprocess``).
    stdout_sink, stderr_sink
        Where echoed output goes (default ``sys.stdout`` / ``sys.stderr``).
    tags
        Labels copied into every event of the run (for logs and metrics).
    pass_fds
        Extra descriptors the child keeps, at the same numbers (like
        ``subprocess``'s ``pass_fds``).
    """

    # Not in the repr: its values may be secret.
    env: Mapping[str, str] | None = dataclasses.field(default=None, hash=False, repr=False)
    cwd: str | os.PathLike[str] | None = None
    encoding: str = "utf-8"
    errors: str = "replace"
    cancel_grace: float = 0.5
    timeout: float | None = None
    stdout_sink: TextIO | None = None
    stderr_sink: TextIO | None = None
    tags: Tags = dataclasses.field(default_factory=lambda: MappingProxyType({}), hash=False)
    pass_fds: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        """Validate the values and freeze the mappings."""
        validate_timeout(self.timeout, "ExecutionContext.timeout")
        _check_seconds(self.cancel_grace, "ExecutionContext.cancel_grace", allow_zero=True)
        if not math.isfinite(self.cancel_grace):
            msg = f"ExecutionContext.cancel_grace must be finite, not {self.cancel_grace!r}"
            raise ValueError(msg)
        object.__setattr__(
            self, "tags", MappingProxyType(_string_mapping(self.tags, "ExecutionContext.tags"))
        )
        if self.env is not None:
            if not isinstance(self.env, Mapping):
                msg = "ExecutionContext.env must be a mapping of str to str"
                raise TypeError(msg)
            env = validate_overlay(self.env, "ExecutionContext.env")
            object.__setattr__(self, "env", MappingProxyType(env))
        if self.cwd is not None:
            _check_directory(self.cwd, "ExecutionContext.cwd")
        check_encoding(self.encoding, self.errors, "ExecutionContext")
        for sink in (self.stdout_sink, self.stderr_sink):
            if sink is not None and not callable(getattr(sink, "write", None)):
                msg = "ExecutionContext sinks must be text streams with write()"
                raise TypeError(msg)
        if isinstance(self.pass_fds, int) or not all(
            isinstance(fd, int) and not isinstance(fd, bool) and fd > 2  # noqa: PLR2004
            for fd in self.pass_fds
        ):
            msg = "ExecutionContext.pass_fds must be a sequence of descriptors above 2"
            raise ValueError(msg)
        object.__setattr__(self, "pass_fds", tuple(self.pass_fds))


def validate_timeout(timeout: object, what: str) -> None:
    """Reject a timeout that is not ``None`` or a number of seconds (NaN included).

    Non-positive values are valid: they mean already expired.
    """
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        msg = f"{what} must be a number of seconds or None, not {type(timeout).__name__}"
        raise TypeError(msg)
    if math.isnan(timeout):
        msg = f"{what} must be a number of seconds, not NaN"
        raise ValueError(msg)


def resolve_timeout(explicit: float | None, context: ExecutionContext, scoped: float | None) -> float | None:
    """Apply the precedence: explicit argument > context > scope; ``inf`` means none."""
    validate_timeout(explicit, "timeout")
    for timeout in (explicit, context.timeout, scoped):
        if timeout is not None:
            return None if math.isinf(timeout) and timeout > 0 else float(timeout)
    return None
