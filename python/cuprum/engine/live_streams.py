r"""What a live process's caller holds: its stdout as a stream, its stdin as a writer.

``LiveStream`` is an ``OutputSink``'s consumer end: chunks arrive pre-split
into lines, memory is bounded by backpressure (the reader stops when about
a MiB waits unread) and by a line limit. ``LiveStdin`` serialises writes to
the first stage's stdin and reports the stream's end once.
"""

from __future__ import annotations

import asyncio
import collections
from typing import TYPE_CHECKING, Final, Generic

from cuprum._typing import OutT
from cuprum.engine.decoding import StreamDecoder
from cuprum.errors import LineTooLongError, LiveProcessError
from cuprum.events import ExecPhase

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable

    from cuprum.engine.streams import PipeWriter
    from cuprum.observer import EventSource

LIVE_HIGH_WATER: Final = 1024 * 1024
"""Bytes a live stream buffers before its reader stops (until the consumer catches up)."""

LINE_LIMIT: Final = 16 * 1024 * 1024
"""The longest line ``readline()`` buffers (bytes) before it raises ``LineTooLongError``."""


class LiveStream(Generic[OutT]):  # noqa: UP046 (PEP 696 default on 3.12)
    r"""A live process's stdout, read as it arrives (``proc.stdout``).

    ``async for line in proc.stdout`` yields lines with their ``\n`` (the
    last one may lack it); ``readline()`` and ``read(n)`` also work. ``str``
    by default, ``bytes`` with ``RunOutputOptions(text=False)``. Memory is
    bounded: when about a MiB is waiting unread, Cuprum stops reading and the
    child blocks on its pipe until you catch up (or until ``wait()``, which
    keeps the unread rest as ``result.stdout``). Chunks are split into lines
    as they arrive, so iterating costs little more than the loop itself. A
    line longer than 16 MiB raises ``LineTooLongError`` from ``readline()``
    (``read(n)`` still takes it in pieces): output that never ends a line
    cannot exhaust memory.
    """

    __slots__ = (
        "_decoder", "_draining", "_empty", "_eof", "_lines", "_newline", "_partial", "_resume", "_size",
        "_waiter",
    )  # fmt: skip

    def __init__(self, *, text: bool, encoding: str, errors: str) -> None:
        self._decoder = StreamDecoder(encoding, errors) if text else None
        self._empty: OutT = "" if text else b""  # pyright: ignore[reportAttributeAccessIssue]
        self._newline: OutT = "\n" if text else b"\n"  # pyright: ignore[reportAttributeAccessIssue]
        self._lines: collections.deque[OutT] = collections.deque()
        self._partial: list[OutT] = []
        self._size = 0
        self._eof = False
        self._draining = False
        self._waiter: asyncio.Future[None] | None = None
        self._resume: asyncio.Future[None] | None = None

    # -- the reader side -----------------------------------------------------

    def push(self, data: bytes) -> Awaitable[None] | None:
        """Queue a chunk; an awaitable means the consumer is behind (backpressure)."""
        piece: OutT = self._decoder.decode(data) if self._decoder is not None else data  # pyright: ignore[reportAssignmentType]
        if piece:
            self._split(piece)
            self._size += len(data)
        self._wake()
        if self._size > LIVE_HIGH_WATER and not self._draining:
            self._resume = asyncio.get_running_loop().create_future()
            return self._resume
        return None

    def _split(self, piece: OutT) -> None:
        newline = self._newline
        if newline not in piece:  # pyright: ignore[reportOperatorIssue]
            self._partial.append(piece)
            return
        parts = piece.split(newline)  # pyright: ignore[reportArgumentType]
        if self._partial:
            self._partial.append(parts[0])  # pyright: ignore[reportArgumentType]
            parts[0] = self._empty.join(self._partial)  # pyright: ignore[reportArgumentType, reportCallIssue]
            self._partial.clear()
        tail = parts.pop()
        self._lines.extend([part + newline for part in parts])  # pyright: ignore[reportOperatorIssue, reportArgumentType]
        if tail:
            self._partial.append(tail)  # pyright: ignore[reportArgumentType]

    def end(self) -> None:
        """The stream has ended (EOF or teardown).

        Raises
        ------
        UnicodeDecodeError
            A strict decoding error met earlier that waited for the end;
            raised once the reader has been woken.
        """
        failure: UnicodeDecodeError | None = None
        if self._decoder is not None and not self._eof:
            try:
                tail = self._decoder.finish(forgive=True)
            except UnicodeDecodeError as error:  # met earlier: raised once the reader is woken
                failure, tail = error, ""
            if tail:
                self._split(tail)  # pyright: ignore[reportArgumentType]
        if self._partial and not self._eof:
            self._lines.append(self._empty.join(self._partial))  # pyright: ignore[reportArgumentType]
            self._partial.clear()
        self._eof = True
        self._wake()
        self._release()
        if failure is not None:
            raise failure

    def drain_into_result(self) -> None:
        """Stop applying backpressure: everything left is kept for the result."""
        self._draining = True
        self._release()

    def remainder(self) -> OutT:
        """Everything not yet read (taken)."""
        rest = self._empty.join([*self._lines, *self._partial])  # pyright: ignore[reportArgumentType]
        self._lines.clear()
        self._partial.clear()
        self._size = 0
        return rest

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _release(self) -> None:
        if self._resume is not None and not self._resume.done():
            self._resume.set_result(None)
        self._resume = None

    async def _more(self) -> None:
        if self._eof:
            return
        self._release()  # a reader waiting for more must never be blocked by backpressure
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _drained(self) -> None:
        """Every complete line was taken: only the partial one is buffered now."""
        self._size = sum(len(part) for part in self._partial)
        if self._resume is not None:
            self._release()

    # -- the consumer side ---------------------------------------------------

    async def readline(self) -> OutT:
        r"""The next line with its ``\n``; empty at the end of the stream.

        Raises
        ------
        LineTooLongError
            When the line so far is longer than 16 MiB (nothing is lost).
        """
        while not self._lines:
            if self._eof:
                return self._empty
            if self._size > LINE_LIMIT:  # only a partial line is buffered: it must not grow for ever
                msg = f"a line longer than {LINE_LIMIT} bytes; read it with read(n)"
                raise LineTooLongError(msg)
            await self._more()
        line = self._lines.popleft()
        if not self._lines:
            self._drained()
        return line

    async def read(self, n: int = -1) -> OutT:
        """Up to ``n`` characters (or bytes); ``-1`` reads to the end of the stream."""
        while not self._eof and (n < 0 or self._available() < n):
            await self._more()
        whole = self.remainder()
        if n < 0 or len(whole) <= n:
            return whole
        taken, rest = whole[:n], whole[n:]
        self._split(rest)  # pyright: ignore[reportArgumentType]
        if self._eof and self._partial:
            self._lines.append(self._empty.join(self._partial))  # pyright: ignore[reportArgumentType]
            self._partial.clear()
        self._drained()
        return taken  # pyright: ignore[reportReturnType]

    def _available(self) -> int:
        return sum(len(line) for line in self._lines) + sum(len(part) for part in self._partial)

    def __aiter__(self) -> AsyncIterator[OutT]:
        """Iterate over lines."""
        return self

    async def __anext__(self) -> OutT:
        """The next line; ``StopAsyncIteration`` at the end."""
        try:
            line = self._lines.popleft()  # the fast path: a line is already waiting
        except IndexError:
            line = await self.readline()
            if not line:
                raise StopAsyncIteration from None
            return line
        if not self._lines:
            self._drained()
        return line


class LiveStdin:
    """A live process's writable stdin (``start(stdin=PIPE)``).

    ``await write(data)`` waits while the pipe is full; ``close()`` sends
    EOF. Writing after the child closed its stdin raises ``BrokenPipeError``.
    """

    __slots__ = ("_events", "_lock", "_reported", "_writer", "_written")

    def __init__(self, writer: PipeWriter, events: EventSource) -> None:
        self._writer = writer
        self._events = events
        self._written = 0
        self._reported = False
        self._lock = asyncio.Lock()  # one write at a time: a write is all of its data, in order

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` (bytes) to the child.

        Raises
        ------
        TypeError
            For ``str`` (encode it first).
        BrokenPipeError
            When the child has closed its stdin.
        ValueError
            After ``close()``.
        """
        if isinstance(data, str):
            msg = "proc.stdin takes bytes; encode text first"
            raise TypeError(msg)
        try:
            async with self._lock:
                await self._writer.write(data)
        except BrokenPipeError as error:
            if not self._reported:
                self._reported = True
                await self._events.emit(ExecPhase.STDIN_ERROR, error=f"{type(error).__name__}: {error}")
            raise
        self._written += len(data)

    async def drain(self) -> None:
        """Nothing to do: ``write`` returns once the data is in the pipe."""

    async def close(self) -> None:
        """Close stdin: the child sees EOF (idempotent)."""
        if not self._writer.closed:
            self._writer.close()
            if not self._reported:
                await self._events.emit(ExecPhase.STDIN, byte_count=self._written)

    write_eof = close

    @property
    def closed(self) -> bool:
        """Whether stdin is closed."""
        return self._writer.closed


def check_open(closed: bool, what: str) -> None:  # noqa: FBT001
    """Raise ``LiveProcessError`` when a live handle is used outside its block."""
    if closed:
        msg = f"{what} is only usable inside `async with cmd.start() as proc:`"
        raise LiveProcessError(msg)
