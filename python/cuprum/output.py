r"""Read a child's output: decode incrementally, capture, echo, split lines.

Bytes are decoded with an incremental decoder, so a multi-byte character
split across reads is never damaged. Lines end at ``\n`` (a preceding
``\r`` is dropped), so a CRLF split across two reads is still one line end.
Reads are plain chunked reads: no line-length limit applies.
"""

from __future__ import annotations

import codecs
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import asyncio
    from typing import TextIO

    from cuprum.events import ExecPhase
    from cuprum.observer import EventSource

READ_SIZE: Final = 64 * 1024


class LineSplitter:
    """Split a stream of text into lines, at any chunk boundary."""

    __slots__ = ("_partial",)

    def __init__(self) -> None:
        self._partial = ""

    def feed(self, text: str) -> list[str]:
        """Return the lines that ``text`` completes (without line endings)."""
        if "\n" not in text:
            self._partial += text
            return []
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        return [line.removesuffix("\r") for line in lines]

    def finish(self) -> list[str]:
        """Return the last, unterminated line, if there is one."""
        partial, self._partial = self._partial, ""
        return [partial.removesuffix("\r")] if partial else []


class OutputCollector:
    """Everything that happens to one output stream of one process."""

    __slots__ = ("_decoder", "_events", "_parts", "_phase", "_sink", "_splitter", "capture")

    def __init__(
        self,
        *,
        phase: ExecPhase,
        capture: bool,
        sink: TextIO | None,
        encoding: str,
        errors: str,
        events: EventSource,
    ) -> None:
        self.capture = capture
        self._phase = phase
        self._sink = sink
        self._events = events
        self._splitter = LineSplitter() if events.observed else None
        self._decoder = codecs.getincrementaldecoder(encoding)(errors)
        self._parts: list[str] = []

    async def read_from(self, stream: asyncio.StreamReader) -> None:
        """Consume ``stream`` to EOF (cancellation keeps what was read)."""
        while chunk := await stream.read(READ_SIZE):
            await self._take(self._decoder.decode(chunk))
        await self.finish()

    async def finish(self) -> None:
        """Flush the decoder and the last partial line (idempotent)."""
        await self._take(self._decoder.decode(b"", final=True))
        if self._splitter is not None:
            await self._events.emit_lines(self._phase, self._splitter.finish())

    async def _take(self, text: str) -> None:
        if not text:
            return
        if self.capture:
            self._parts.append(text)
        if self._sink is not None:
            self._sink.write(text)
            self._sink.flush()
        if self._splitter is not None and (lines := self._splitter.feed(text)):
            await self._events.emit_lines(self._phase, lines)

    def text(self) -> str | None:
        """The captured text so far, or ``None`` when not capturing."""
        if not self.capture:
            return None
        if len(self._parts) > 1:
            self._parts[:] = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""
