r"""Read children's output and write their stdin, on the event loop.

Readers are callbacks on a descriptor the loop watches for as long as it is
open (no task, no future per chunk). What a chunk is for is decided once per
stream by an ``OutputSink``: keep it (capture; decoded once, at the end),
echo it, split it into line events, or queue it for a live reader. When a
sink must wait (an ``async`` observer, a live reader that is behind), the
reader stops watching until it is done: backpressure reaches the child
through the pipe.

Lines end at ``\n`` only: the line keeps a ``\r`` before it, and a last line
without ``\n`` is still a line (``ExecEvent.newline`` tells them apart).
"""

from __future__ import annotations

import asyncio
import codecs
import collections
import contextlib
import os
import select
from typing import TYPE_CHECKING, Final, Generic

from cuprum._typing import OutT
from cuprum.errors import LineTooLongError, LiveProcessError
from cuprum.events import ExecPhase
from cuprum.fdio import LoopFd, write_nosigpipe

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from typing import TextIO

    from cuprum.fds import OwnedFd
    from cuprum.observer import EventSource

FIRST_READ: Final = 64 * 1024
"""The first read's size; it doubles while reads come back full, up to the pipe's size."""
LIVE_HIGH_WATER: Final = 1024 * 1024

LINE_LIMIT: Final = 16 * 1024 * 1024
"""The longest line ``readline()`` buffers (bytes) before it raises ``LineTooLongError``."""
"""Bytes a live stream buffers before its reader stops (until the consumer catches up)."""


class LineSplitter:
    r"""Split text into lines at ``\n``, at any chunk boundary, in linear time."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[str] = []

    def feed(self, text: str) -> list[str]:
        r"""The lines ``text`` completes, without their ``\n``."""
        if "\n" not in text:
            if text:
                self._parts.append(text)
            return []
        lines = text.split("\n")
        if self._parts:
            self._parts.append(lines[0])
            lines[0] = "".join(self._parts)
            self._parts.clear()
        tail = lines.pop()
        if tail:
            self._parts.append(tail)
        return lines

    def finish(self) -> str | None:
        """The last line, if it had no newline."""
        if not self._parts:
            return None
        partial = "".join(self._parts)
        self._parts.clear()
        return partial


def decode_all(data: bytes, encoding: str, errors: str, *, cut_short: bool) -> str:
    """Decode a whole capture; after a kill, a strict decode that fails falls back to replacement.

    A process killed mid-character is not at fault, and a decoding error must
    not hide the timeout or cancellation that killed it.
    """
    try:
        return data.decode(encoding, errors)
    except UnicodeDecodeError:
        if not cut_short:
            raise
        return data.decode(encoding, "replace")


class OutputSink:
    """What happens to one output stream: capture, echo, line events, a live reader."""

    __slots__ = (
        "_chunks",
        "_decoder",
        "_echo",
        "_encoding",
        "_errors",
        "_events",
        "_live",
        "_phase",
        "_splitter",
        "_text",
    )

    def __init__(
        self,
        *,
        phase: ExecPhase,
        capture: bool,
        text: bool,
        encoding: str,
        errors: str,
        echo: TextIO | None,
        events: EventSource | None,
        live: LiveStream[str] | LiveStream[bytes] | None = None,
    ) -> None:
        self._phase = phase
        self._chunks: list[bytes] | None = [] if capture and live is None else None
        self._text = text
        self._encoding = encoding
        self._errors = errors
        self._echo = echo
        self._events = events
        self._live = live
        wants_text = echo is not None or events is not None
        self._decoder = (
            codecs.getincrementaldecoder(encoding)(errors if text else "replace") if wants_text else None
        )
        self._splitter = LineSplitter() if events is not None else None

    def feed(self, data: bytes) -> Awaitable[object] | None:
        """Take one chunk; an awaitable means: read no more until it is done."""
        if self._chunks is not None:
            self._chunks.append(data)
        pending: Awaitable[object] | None = None
        if self._decoder is not None:
            pending = self._take_text(self._decoder.decode(data))
        if self._live is not None:
            waiting = self._live.push(data)
            if waiting is not None:
                pending = waiting if pending is None else _both(pending, waiting)
        return pending

    def _take_text(self, text: str) -> Awaitable[None] | None:
        if not text:
            return None
        if self._echo is not None:
            self._echo.write(text)
            self._echo.flush()
        if self._splitter is not None and self._events is not None:
            lines = self._splitter.feed(text)
            if lines:
                return self._events.emit_lines(self._phase, lines, last_newline=True)
        return None

    def finish(self, *, cut_short: bool) -> Awaitable[None] | None:
        """The end of the stream: flush the decoder and the last line."""
        pending: Awaitable[None] | None = None
        if self._decoder is not None:
            try:
                tail = self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                if not cut_short:
                    raise
                self._decoder.reset()
                tail = "\ufffd"
            pending = self._take_text(tail)
            if self._splitter is not None and self._events is not None:
                last = self._splitter.finish()
                final = (
                    None if last is None else self._events.emit_lines(self._phase, [last], last_newline=False)
                )
                if final is not None:
                    pending = final if pending is None else _both(pending, final)
        if self._live is not None:
            self._live.end()
        return pending

    def value(self, *, cut_short: bool) -> str | bytes | None:
        """The captured output (``None`` when not capturing)."""
        if self._live is not None:
            return self._live.remainder()
        if self._chunks is None:
            return None
        data = b"".join(self._chunks)
        self._chunks = [data]
        if not self._text:
            return data
        return decode_all(data, self._encoding, self._errors, cut_short=cut_short)


async def _both(first: Awaitable[object], second: Awaitable[object]) -> None:
    await first
    await second


class PipeReader:
    """Reads one pipe to EOF into a sink; closes it, reports the end once.

    Parameters
    ----------
    loop
        The running loop.
    owned
        The parent's read end; this reader takes it over.
    sink
        Where the chunks go.
    on_done
        Called once with ``None`` at EOF, or the exception that stopped it.
    limit
        The largest read (the pipe's size).
    """

    __slots__ = (
        "_ending", "_fd", "_limit", "_loop", "_on_done", "_pending", "_sink", "_size", "cut_short", "done",
    )  # fmt: skip

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        owned: OwnedFd,
        sink: OutputSink,
        on_done: Callable[[BaseException | None], object],
        limit: int,
    ) -> None:
        self._loop = loop
        self._fd = LoopFd(loop, owned)
        self._sink = sink
        self._on_done = on_done
        self._limit = max(limit, FIRST_READ)
        self._size = FIRST_READ
        self._pending: asyncio.Task[None] | None = None
        self._ending = False
        self.done = False
        self.cut_short = False

    @property
    def sink(self) -> OutputSink:
        """Where the chunks go."""
        return self._sink

    def start(self) -> None:
        """Begin reading."""
        self._fd.watch_read(self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self._fd.fd, self._size)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            self._end(error)
            return
        if not data:
            self._end(None)
            return
        if len(data) == self._size and self._size < self._limit:
            self._size = min(self._size * 2, self._limit)
        try:
            pending = self._sink.feed(data)
        except Exception as error:  # noqa: BLE001 (a raising sink ends the run, reported by the supervisor)
            self._end(error)
            return
        if pending is not None:
            self._fd.unwatch_read()
            self._pending = asyncio.ensure_future(self._resume_after(pending))

    async def _resume_after(self, pending: Awaitable[object]) -> None:
        try:
            await pending
        except asyncio.CancelledError:
            return
        except Exception as error:  # noqa: BLE001
            self._end(error)
            return
        self._pending = None
        if not self._fd.closed:
            self._fd.watch_read(self._readable)

    def _end(self, error: BaseException | None) -> None:
        if self._ending:
            return
        self._ending = True
        self._fd.close()
        if error is None:
            try:
                pending = self._sink.finish(cut_short=self.cut_short)
            except Exception as failure:  # noqa: BLE001
                error = failure
            else:
                if pending is not None:
                    self._pending = asyncio.ensure_future(self._finish_after(pending))
                    return
        self._report(error)

    async def _finish_after(self, pending: Awaitable[object]) -> None:
        try:
            await pending
        except asyncio.CancelledError:
            return  # stop() reports the end
        except Exception as failure:  # noqa: BLE001
            self._report(failure)
            return
        self._report(None)

    def _report(self, error: BaseException | None) -> None:
        """Report the end of the stream, exactly once."""
        if self.done:
            return
        self.done = True
        self._on_done(error)

    def stop(self) -> None:
        """Stop now (teardown): keep what was read, close the pipe, report the end."""
        self.cut_short = True
        if self._pending is not None and not self._pending.done():
            self._pending.cancel()
        if not self._ending:
            self._ending = True
            self._fd.close()
            with contextlib.suppress(Exception):  # teardown keeps what it has
                self._sink.finish(cut_short=True)
        self._report(None)


class PipeWriter:
    """Writes to a pipe with backpressure; a gone reader is ``BrokenPipeError``, never SIGPIPE."""

    __slots__ = ("_fd", "_loop", "_ready")

    def __init__(self, loop: asyncio.AbstractEventLoop, owned: OwnedFd) -> None:
        self._loop = loop
        self._fd = LoopFd(loop, owned)
        self._ready: asyncio.Future[None] | None = None

    @property
    def closed(self) -> bool:
        """Whether the pipe is closed."""
        return self._fd.closed

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        """Write all of ``data``, waiting while the pipe is full.

        Raises
        ------
        BrokenPipeError
            When the reader has gone (the pipe is then closed).
        ValueError
            When the writer is closed.
        """
        view = memoryview(data).cast("B")
        while view:
            if self._fd.closed:
                msg = "write to a closed stdin"
                raise ValueError(msg)
            try:
                written = write_nosigpipe(self._fd.fd, view)
            except (BlockingIOError, InterruptedError):
                await self._writable()
                continue
            except (BrokenPipeError, ConnectionResetError):
                self.close()
                raise
            view = view[written:]

    async def _writable(self) -> None:
        self._ready = self._loop.create_future()
        self._fd.watch_write(self._wake)
        try:
            await self._ready
        finally:
            self._fd.unwatch_write()
            self._ready = None

    def _wake(self) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)

    def close(self) -> None:
        """Close the pipe (the child sees EOF); idempotent."""
        self._wake()
        self._fd.close()

    def reader_gone(self) -> bool:
        """Whether every reader has closed its end (the pipe reports an error)."""
        if self._fd.closed:
            return True
        poller = select.poll()
        poller.register(self._fd.fd, 0)  # POLLERR is reported whatever is asked for
        return any(events & select.POLLERR for _, events in poller.poll(0))


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
        self._decoder = codecs.getincrementaldecoder(encoding)(errors) if text else None
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
        """The stream has ended (EOF or teardown)."""
        if self._decoder is not None and not self._eof:
            try:
                tail = self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self._decoder.reset()
                tail = "\ufffd"
            if tail:
                self._split(tail)  # pyright: ignore[reportArgumentType]
        if self._partial and not self._eof:
            self._lines.append(self._empty.join(self._partial))  # pyright: ignore[reportArgumentType]
            self._partial.clear()
        self._eof = True
        self._wake()
        self._release()

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
