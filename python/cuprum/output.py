r"""Read a child's output: decode incrementally, capture, echo, split lines.

Bytes are decoded with an incremental decoder, so a multi-byte character
split across reads is never damaged. Lines end at ``\n`` (a preceding
``\r`` is dropped), so a CRLF split across two reads is still one line end.
Reads are plain chunked reads: no line-length limit applies.
"""

from __future__ import annotations

import asyncio
import codecs
import os
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from typing import TextIO

    from cuprum.events import ExecPhase
    from cuprum.fds import OwnedFd
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

    async def read_fd(self, reader: OwnedFd) -> None:
        """Consume the pipe ``reader`` to EOF, then close it.

        Cancellation keeps what was read; the descriptor is closed either way.
        """
        loop = asyncio.get_running_loop()
        stream = asyncio.StreamReader(limit=READ_SIZE, loop=loop)
        pipe = os.fdopen(reader.release(), "rb", buffering=0)
        transport: asyncio.ReadTransport | None = None
        try:
            transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), pipe)
            while chunk := await stream.read(READ_SIZE):
                await self._take(self._decoder.decode(chunk))
            await self.finish()
        finally:
            if transport is not None:
                transport.close()
            pipe.close()

    async def finish(self, *, cut_short: bool = False) -> None:
        """Flush the decoder and the last partial line (idempotent).

        Parameters
        ----------
        cut_short
            The process was killed: an unfinished character at the end is
            not the program's fault, so it becomes U+FFFD even with
            ``errors="strict"`` instead of hiding the timeout or cancellation.
        """
        try:
            tail = self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            if not cut_short:
                raise
            self._decoder.reset()
            tail = "\ufffd"
        await self._take(tail)
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
