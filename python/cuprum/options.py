"""How to run a command: output handling, execution context and stdin."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import os

    from cuprum.events import Tags


@dataclasses.dataclass(frozen=True, slots=True)
class RunOutputOptions:
    """What to do with a command's stdout and stderr.

    Parameters
    ----------
    capture
        Keep the decoded output in the result.
    echo
        Also write the output, as it arrives, to the context's sinks
        (``sys.stdout`` and ``sys.stderr`` by default).
    """

    capture: bool = True
    echo: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class ExecutionContext:
    """Where and how a command runs.

    Parameters
    ----------
    env
        Variables layered over the live ``os.environ`` and the scope's
        overlays (innermost wins); keys and values must be ``str``.
    cwd
        The working directory (default: the caller's).
    encoding, errors
        How output is decoded (incrementally, so a character split across
        reads is never damaged) and stdin text is encoded.
    cancel_grace
        Seconds between SIGTERM and SIGKILL when a command is cancelled or
        times out.
    timeout
        Seconds before the command is terminated; ``None`` defers to the
        scope's default, ``math.inf`` means no limit.
    stdout_sink, stderr_sink
        Where echoed output goes (default ``sys.stdout`` / ``sys.stderr``).
    tags
        Labels copied into every event of the run (for logs and metrics).
    """

    env: Mapping[str, str] | None = dataclasses.field(default=None, hash=False)
    cwd: str | os.PathLike[str] | None = None
    encoding: str = "utf-8"
    errors: str = "replace"
    cancel_grace: float = 0.5
    timeout: float | None = None
    stdout_sink: TextIO | None = None
    stderr_sink: TextIO | None = None
    tags: Tags = dataclasses.field(default_factory=lambda: MappingProxyType({}), hash=False)

    def __post_init__(self) -> None:
        """Validate the numbers and freeze the mappings."""
        validate_timeout(self.timeout, "ExecutionContext.timeout")
        if isinstance(self.cancel_grace, bool) or not isinstance(self.cancel_grace, int | float):
            msg = "ExecutionContext.cancel_grace must be a number of seconds"
            raise TypeError(msg)
        if not (self.cancel_grace >= 0 and math.isfinite(self.cancel_grace)):
            msg = f"ExecutionContext.cancel_grace must be >= 0 and finite, not {self.cancel_grace!r}"
            raise ValueError(msg)
        if not isinstance(self.tags, Mapping):
            msg = "ExecutionContext.tags must be a mapping"
            raise TypeError(msg)
        object.__setattr__(self, "tags", MappingProxyType(dict(self.tags)))
        if self.env is not None:
            if not isinstance(self.env, Mapping):
                msg = "ExecutionContext.env must be a mapping of str to str"
                raise TypeError(msg)
            object.__setattr__(self, "env", MappingProxyType(dict(self.env)))
        "".encode(self.encoding, self.errors)  # an unknown codec fails here, not mid-run


@dataclasses.dataclass(frozen=True, slots=True)
class StdinInput:
    """Data for a command's stdin: ``text`` or ``data``, not both.

    ``text`` is encoded with the context's encoding; ``data`` is written as
    it is. Neither means an empty stdin that is closed at once.
    """

    text: str | None = None
    data: bytes | None = None

    def __post_init__(self) -> None:
        """Refuse both at once, and values of the wrong type."""
        if self.text is not None and self.data is not None:
            msg = "StdinInput takes text or data, not both"
            raise ValueError(msg)
        if self.text is not None and not isinstance(self.text, str):
            msg = "StdinInput.text must be str (use data= for bytes)"
            raise TypeError(msg)
        if self.data is not None and not isinstance(self.data, bytes | bytearray | memoryview):
            msg = "StdinInput.data must be bytes (use text= for str)"
            raise TypeError(msg)

    def encode(self, encoding: str) -> bytes:
        """The bytes to write to the child's stdin."""
        if self.text is not None:
            return self.text.encode(encoding)
        return bytes(self.data or b"")


def validate_timeout(timeout: float | None, what: str) -> None:
    """Reject a timeout that is not ``None`` or a positive number of seconds."""
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        msg = f"{what} must be a number of seconds or None, not {type(timeout).__name__}"
        raise TypeError(msg)
    if not timeout > 0:
        msg = f"{what} must be > 0 (use math.inf for no limit), not {timeout!r}"
        raise ValueError(msg)


def resolve_timeout(explicit: float | None, context: ExecutionContext, scoped: float | None) -> float | None:
    """Apply the precedence: explicit argument > context > scope; ``inf`` → none."""
    validate_timeout(explicit, "timeout")
    for timeout in (explicit, context.timeout, scoped):
        if timeout is not None:
            return None if math.isinf(timeout) else float(timeout)
    return None
