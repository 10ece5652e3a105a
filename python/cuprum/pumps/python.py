"""The Python stream backend: an asyncio transport-to-transport pump.

Chunks go from the upstream pipe's read transport straight into the
downstream pipe's write transport, with no coroutine per chunk. When the
write buffer passes its high-water mark the read side pauses, so memory is
bounded by the buffer limit plus one read (``READ_CHUNK``), whatever the
payload. asyncio's write-pipe transport notices at once when the reader of
its pipe goes away; the pump then stops reading and closes the upstream
pipe, and the producer gets SIGPIPE on its next write.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import TYPE_CHECKING

from cuprum.pumps import HopOutcome

if TYPE_CHECKING:
    from cuprum.fds import OwnedFd

READ_SIZE = 256 * 1024
"""Most bytes one read takes from the upstream pipe (see docs/design.md)."""

WRITE_HIGH_WATER = 256 * 1024
"""Bytes the downstream transport may buffer before reading pauses."""


class _Hop:
    """The state of one running hop; the two protocols report into it."""

    def __init__(self, done: asyncio.Future[HopOutcome]) -> None:
        self.done = done
        self.reader: asyncio.ReadTransport | None = None
        self.writer: asyncio.WriteTransport | None = None
        self.accepted = 0
        self.source_finished = False

    def forward(self, data: bytes) -> None:
        if self.writer is None or self.writer.is_closing():
            return
        self.accepted += len(data)
        self.writer.write(data)

    def source_eof(self) -> None:
        self.source_finished = True
        if self.writer is not None and not self.writer.is_closing():
            self.writer.close()  # flushes what is buffered, then closes

    def sink_lost(self) -> None:
        downstream_closed = not self.source_finished
        undelivered = self.writer.get_write_buffer_size() if self.writer is not None else 0
        if self.reader is not None:
            self.reader.close()
        if not self.done.done():
            self.done.set_result(HopOutcome(self.accepted - undelivered, downstream_closed))


class _SourceProtocol(asyncio.Protocol):
    def __init__(self, hop: _Hop) -> None:
        self._hop = hop

    def data_received(self, data: bytes) -> None:
        self._hop.forward(data)

    def eof_received(self) -> bool:
        self._hop.source_eof()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        del exc
        if not self._hop.source_finished:
            self._hop.source_eof()


class _SinkProtocol(asyncio.BaseProtocol):
    def __init__(self, hop: _Hop) -> None:
        self._hop = hop

    def pause_writing(self) -> None:
        if self._hop.reader is not None and not self._hop.reader.is_closing():
            self._hop.reader.pause_reading()

    def resume_writing(self) -> None:
        if self._hop.reader is not None and not self._hop.reader.is_closing():
            self._hop.reader.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        del exc
        self._hop.sink_lost()


class PythonPump:
    """Runs a hop on the event loop with asyncio transports."""

    async def run(self, source: OwnedFd, sink: OwnedFd) -> HopOutcome:
        """Move bytes until EOF or early close; both descriptors end up closed."""
        loop = asyncio.get_running_loop()
        hop = _Hop(loop.create_future())
        # The file objects (and then the transports) own the descriptors now.
        source_file = os.fdopen(source.release(), "rb", buffering=0)
        sink_file = os.fdopen(sink.release(), "wb", buffering=0)
        try:
            hop.writer, _ = await loop.connect_write_pipe(lambda: _SinkProtocol(hop), sink_file)
            hop.writer.set_write_buffer_limits(high=WRITE_HIGH_WATER)
            hop.reader, _ = await loop.connect_read_pipe(lambda: _SourceProtocol(hop), source_file)
            # CPython's selector pipe transport reads up to ``max_size`` at a time.
            if hasattr(hop.reader, "max_size"):
                hop.reader.max_size = READ_SIZE  # pyright: ignore[reportAttributeAccessIssue]
            return await hop.done
        finally:
            # On cancellation the transports are still open: abort them. The
            # file objects are closed here too (idempotently), so neither
            # descriptor outlives run(), whatever the transports still have
            # scheduled.
            if hop.reader is not None and not hop.reader.is_closing():
                hop.reader.close()  # read transports have no abort()
            if hop.writer is not None and not hop.writer.is_closing():
                hop.writer.abort()
            for pipe in (source_file, sink_file):
                with contextlib.suppress(OSError):
                    pipe.close()
