"""``RunRequest``: every option of one run, checked once and carried through the engine."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final, Literal, TypedDict

from cuprum.options import ExecutionContext, RunOutputOptions, validate_timeout
from cuprum.redirects import StdinInput, StdinSource, Stream, check_stdin

if TYPE_CHECKING:
    from collections.abc import Mapping


class RunOptions(TypedDict, total=False):
    """The keyword options of ``run`` and ``run_sync`` besides ``output`` (see ``RunRequest``)."""

    timeout: float | None
    context: ExecutionContext | None
    stdin: StdinInput | Literal[Stream.DEVNULL, Stream.INHERIT] | None
    check: bool


class LiveOptions(TypedDict, total=False):
    """The keyword options of ``start`` besides ``output``: ``stdin`` may also be ``PIPE``."""

    timeout: float | None
    context: ExecutionContext | None
    stdin: StdinSource | None
    check: bool


_DEFAULT_OUTPUT: Final = RunOutputOptions()
_DEFAULT_CONTEXT: Final = ExecutionContext()
_KNOWN: Final = frozenset({"timeout", "context", "stdin", "check"})


@dataclasses.dataclass(frozen=True, slots=True)
class RunRequest:
    """The options of one run.

    Attributes
    ----------
    output
        What happens to stdout and stderr (default: capture as text).
    timeout
        Seconds before every process group is terminated; overrides the
        context's and the scope's. ``math.inf`` means no limit; ``0`` or
        less means already expired: nothing starts and ``TimeoutExpired``
        is raised at once.
    context
        Environment, working directory, decoding, grace period and more.
    stdin
        The input (default: ``/dev/null``): a ``StdinInput``, ``DEVNULL``,
        ``INHERIT``, or ``PIPE`` (``start()`` only).
    check
        Raise ``CommandFailed`` / ``PipelineFailed`` when the run did not
        succeed.
    live
        Whether this is a ``start()`` (a live handle) rather than a ``run()``.
    """

    output: RunOutputOptions[str] | RunOutputOptions[bytes]
    timeout: float | None
    context: ExecutionContext
    stdin: StdinSource | None
    check: bool
    live: bool

    @classmethod
    def make(
        cls,
        *,
        output: object = None,
        live: bool,
        **options: object,
    ) -> RunRequest:
        """Check every option's type and value, then bundle them.

        Raises
        ------
        TypeError
            For an unknown option or a value of the wrong type.
        ValueError
            For a bad value (a NaN timeout, ``stdin=PIPE`` outside ``start``).
        """
        unknown = set(options) - _KNOWN
        if unknown:
            msg = f"unexpected keyword argument(s): {', '.join(sorted(unknown))}"
            raise TypeError(msg)
        if output is None:
            output = _DEFAULT_OUTPUT
        elif not isinstance(output, RunOutputOptions):
            msg = f"output must be a RunOutputOptions, not {type(output).__name__}"
            raise TypeError(msg)
        context = options.get("context")
        if context is None:
            context = _DEFAULT_CONTEXT
        elif not isinstance(context, ExecutionContext):
            msg = f"context must be an ExecutionContext, not {type(context).__name__}"
            raise TypeError(msg)
        timeout = options.get("timeout")
        validate_timeout(timeout, "timeout")
        check = options.get("check", False)
        if not isinstance(check, bool):
            msg = f"check must be a bool, not {type(check).__name__}"
            raise TypeError(msg)
        return cls(
            output=output,  # pyright: ignore[reportUnknownArgumentType]
            timeout=timeout,  # pyright: ignore[reportArgumentType]
            context=context,
            stdin=check_stdin(options.get("stdin"), live=live),
            check=check,
            live=live,
        )

    def fields(self) -> Mapping[str, object]:
        """The options as keywords for ``run`` (for batches that forward them)."""
        return {"output": self.output, "timeout": self.timeout, "context": self.context, "check": self.check}
