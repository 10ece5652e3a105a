r"""The Python stream backend: a hop driven by the event loop's selector.

A hop is two ``fdio.LoopFd``\ s and three callbacks; no transport, no
coroutine per chunk:

* the source is watched for readability; each ``os.read`` (at most
  ``buffer_size`` bytes) is written downstream as one ``write(2)``
  (``fdio.write_nosigpipe``, so no SIGPIPE), which keeps a packet-mode
  pipe's packet boundaries;
* a chunk the sink cannot take at once stays pending: the source is
  unwatched and the sink watched for writability until the chunk is
  written (backpressure; at most one chunk per hop is held);
* the sink is also watched for readability: on Linux the write end of a
  pipe whose reader left reports ``EPOLLERR``, which the selector turns
  into a read event, so an early close is noticed at once even while no
  data flows (asyncio's pipe transport uses the same trick). The source is
  then closed at once, so the producer gets ``EPIPE``/SIGPIPE.

Every descriptor is unregistered before it is closed (``LoopFd``).
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Final

from cuprum.fdio import LoopFd, write_nosigpipe
from cuprum.pumps import HopOutcome
from cuprum.pumps._checks import check_buffer_size

if TYPE_CHECKING:
    from cuprum.fds import OwnedFd


_CLOSED_DOWNSTREAM: Final = (BrokenPipeError, ConnectionResetError)


class PythonHop:
    """One hop moved by callbacks on the running loop (see the module doc)."""

    __slots__ = ("_done", "_moved", "_pending", "_sink", "_size", "_source")

    def __init__(
        self, source: LoopFd, sink: LoopFd, buffer_size: int, done: asyncio.Future[HopOutcome]
    ) -> None:
        self._source = source
        self._sink = sink
        self._size = buffer_size
        self._done = done
        self._moved = 0
        self._pending: memoryview | None = None
        sink.watch_read(self._on_sink_gone)
        source.watch_read(self._on_readable)

    @property
    def bytes_moved(self) -> int:
        """Bytes delivered downstream so far."""
        return self._moved

    async def wait(self) -> HopOutcome:
        """Wait for the hop to end; both descriptors are closed by then."""
        return await asyncio.shield(self._done)

    def cancel(self) -> None:
        """Stop now: close both descriptors and report ``cancelled`` (idempotent)."""
        self._finish(downstream_closed=False, cancelled=True)

    def _on_readable(self) -> None:
        try:
            data = os.read(self._source.fd, self._size)
        except (BlockingIOError, InterruptedError):
            return
        except (OSError, MemoryError) as error:
            self._fail(error)
            return
        if not data:
            self._finish(downstream_closed=False)
            return
        self._send(memoryview(data), pending=False)

    def _on_writable(self) -> None:
        if self._pending is not None:
            self._send(self._pending, pending=True)

    def _on_sink_gone(self) -> None:
        self._finish(downstream_closed=True)

    def _send(self, data: memoryview, *, pending: bool) -> None:
        try:
            written = write_nosigpipe(self._sink.fd, data)
        except (BlockingIOError, InterruptedError):
            written = 0
        except _CLOSED_DOWNSTREAM:
            self._finish(downstream_closed=True)
            return
        except OSError as error:
            self._fail(error)
            return
        self._moved += written
        if written == len(data):
            if pending:
                self._pending = None
                self._sink.unwatch_write()
                self._source.watch_read(self._on_readable)
            return
        self._pending = data[written:]
        if not pending:
            self._source.unwatch_read()
            self._sink.watch_write(self._on_writable)

    def _close(self) -> bool:
        """Close both ends (source first); whether this call did it."""
        if self._source.closed and self._sink.closed:
            return False
        self._pending = None
        self._source.close()
        self._sink.close()
        return True

    def _finish(self, *, downstream_closed: bool, cancelled: bool = False) -> None:
        if self._close() and not self._done.done():
            self._done.set_result(HopOutcome(self._moved, downstream_closed, cancelled))

    def _fail(self, error: OSError | MemoryError) -> None:
        if self._close() and not self._done.done():
            self._done.set_exception(error)


class PythonPump:
    """Runs hops on the running event loop (see the module doc)."""

    def start(
        self, source: OwnedFd, sink: OwnedFd, *, buffer_size: int, zero_copy: bool = False
    ) -> PythonHop:
        """Start moving bytes from ``source`` to ``sink``, taking both over.

        ``zero_copy`` changes nothing here: Python always copies.

        Raises
        ------
        TypeError, ValueError
            For a bad ``buffer_size`` (nothing is taken then).
        RuntimeError
            When no event loop is running (nothing is taken then).
        OSError
            When the loop cannot watch a descriptor; both are closed then.
        """
        del zero_copy
        size = check_buffer_size(buffer_size)
        loop = asyncio.get_running_loop()
        source_fd = LoopFd(loop, source)
        try:
            sink_fd = LoopFd(loop, sink)
        except BaseException:
            source_fd.close()
            raise
        try:
            return PythonHop(source_fd, sink_fd, size, loop.create_future())
        except BaseException:
            source_fd.close()
            sink_fd.close()
            raise
