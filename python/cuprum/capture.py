"""Choose how an output stream is captured: asyncio or the Rust consumer.

Rust ``consume`` is used when the Rust backend is selected and nothing but
the final text is wanted: output captured, not echoed, nobody observing
line events, decoded as UTF-8 with ``errors="replace"``. Everything else
(echo, line events, other encodings or error handlers) goes through the
asyncio ``OutputCollector``, which supports all of it.
"""

from __future__ import annotations

import codecs
from typing import TYPE_CHECKING, Protocol

from cuprum.stream_backend import StreamBackend

if TYPE_CHECKING:
    from cuprum.observer import EventSource
    from cuprum.options import ExecutionContext, RunOutputOptions


class Capture(Protocol):
    """What a run needs from whatever captures a stream."""

    async def finish(self, *, cut_short: bool = False) -> None:
        """Flush anything pending (idempotent); ``cut_short`` after a kill."""
        ...

    def text(self) -> str | None:
        """The captured text, or ``None`` when not capturing."""
        ...


def rust_capture_eligible(
    backend: StreamBackend,
    output: RunOutputOptions,
    context: ExecutionContext,
    events: EventSource,
) -> bool:
    """Whether a stream can be captured by Rust ``consume`` (see the module doc)."""
    return (
        backend is StreamBackend.RUST
        and output.capture
        and not output.echo
        and not events.observed
        and context.errors == "replace"
        and codecs.lookup(context.encoding).name == "utf-8"
    )
