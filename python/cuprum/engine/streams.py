r"""Read children's output and write their stdin, on the event loop.

Readers are callbacks on a descriptor the loop watches for as long as it is
open (no task, no future per chunk). What a chunk is for is decided once per
stream by an ``OutputSink``: keep it (capture; decoded once, at the end),
echo it, split it into line events, or queue it for a live reader (a
``LiveStream``, in ``live_streams``). When a
sink must wait (an ``async`` observer, a live reader that is behind), the
reader stops watching until it is done: backpressure reaches the child
through the pipe.

Lines end at ``\n`` only: the line keeps a ``\r`` before it, and a last line
without ``\n`` is still a line (``ExecEvent.newline`` tells them apart).
"""

from __future__ import annotations

import asyncio
import os
import select
from typing import TYPE_CHECKING, Final

from cuprum.engine.capture import CaptureBuffer
from cuprum.engine.decoding import StreamDecoder
from cuprum.fdio import LoopFd, write_nosigpipe

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import TextIO

    from cuprum.engine.live_streams import LiveStream
    from cuprum.events import ExecPhase
    from cuprum.fds import OwnedFd
    from cuprum.observer import EventSource

FIRST_READ: Final = 64 * 1024
"""The first read's size; it doubles while reads come back full, up to the pipe's size."""


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


def decode_all(data: CaptureBuffer, encoding: str, errors: str, *, cut_short: bool) -> str:
    """Decode a whole capture; after a kill, a strict decode that fails falls back to replacement.

    A process killed mid-character is not at fault, and a decoding error must
    not hide the timeout or cancellation that killed it.
    """
    try:
        return data.text(encoding, errors)
    except UnicodeDecodeError:
        if not cut_short:
            raise
        return data.text(encoding, "replace")


class OutputSink:
    """What happens to one output stream: capture, echo, line events, a live reader."""

    __slots__ = (
        "_captured",
        "_decoder",
        "_echo",
        "_encoding",
        "_errors",
        "_events",
        "_kept",
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
        self._captured = CaptureBuffer(text=text) if capture and live is None else None
        self._kept: str | bytes | None = None
        self._text = text
        self._encoding = encoding
        self._errors = errors
        self._echo = echo
        self._events = events
        self._live = live
        wants_text = echo is not None or events is not None
        self._decoder = StreamDecoder(encoding, errors if text else "replace") if wants_text else None
        self._splitter = LineSplitter() if events is not None else None

    @property
    def direct(self) -> CaptureBuffer | None:
        """The capture, when capturing is all this sink does: a reader may read straight into it."""
        return self._captured if self._decoder is None and self._live is None else None

    def feed(self, data: bytes) -> Awaitable[object] | None:
        """Take one chunk; an awaitable means: read no more until it is done."""
        if self._captured is not None:
            self._captured.append(data)
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
            tail = self._decoder.finish(forgive=cut_short)
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
        """The captured output (``None`` when not capturing).

        It is built once: the raw capture is released then, so a finished
        run holds its output once, in the result.
        """
        if self._live is not None:
            return self._live.remainder()
        captured = self._captured
        if captured is None:
            return self._kept
        if self._text:
            self._kept = decode_all(captured, self._encoding, self._errors, cut_short=cut_short)
        else:
            self._kept = captured.data()
        self._captured = None
        captured.release()
        return self._kept


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
        direct = self._sink.direct  # a sink that only captures is read into, with no chunk object
        data = None
        try:
            if direct is not None:
                count = direct.read_from(self._fd.fd, self._size)
            else:
                data = os.read(self._fd.fd, self._size)
                count = len(data)
        except (BlockingIOError, InterruptedError):
            return
        except (OSError, MemoryError) as error:  # out of memory too ends the run, reported
            self._end(error)
            return
        if not count:
            self._end(None)
            return
        if count == self._size and self._size < self._limit:
            self._size = min(self._size * 2, self._limit)
        if data is None:
            return
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
            try:
                last = self._sink.finish(cut_short=True)
            except Exception:  # noqa: BLE001 (teardown keeps what it has)
                last = None
            if last is not None:  # the last line, to async observers: within the delivery budget
                self._pending = asyncio.ensure_future(self._deliver_last(last))
                return
        self._report(None)

    async def _deliver_last(self, last: Awaitable[object]) -> None:
        try:
            await last
        except Exception:  # noqa: BLE001, S110 (an observer's failure is reported where it is delivered)
            pass
        finally:
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
