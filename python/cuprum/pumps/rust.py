"""The Rust stream backend: hops moved by the ``cuprum._rust`` runtime.

The extension's runtime moves every hop of the process on a few epoll
worker threads (one per core, at most eight), copying through a buffer by
default or with ``splice(2)`` when ``zero_copy`` is asked for. A hop owns
its two descriptors from ``start()`` on and closes them itself when it
ends, so nothing here depends on the event loop to clean up: a loop closed
under a running hop leaves no thread blocked and, once the hop ends or is
dropped, no descriptor open.

Completion reaches asyncio through one notifier per event loop: an eventfd
watched with ``loop.add_reader`` while that loop has hops running. No
Python code ever runs on the runtime's threads.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING

from cuprum.pumps import HopOutcome
from cuprum.pumps._checks import check_buffer_size
from cuprum.stream_backend import rust_extension

if TYPE_CHECKING:
    from cuprum.fds import OwnedFd
    from cuprum.stream_backend import RustExtension, RustHopHandle, RustNotifier


class RustHop:
    """One hop running in the Rust runtime."""

    __slots__ = ("__weakref__", "_done", "_handle")

    def __init__(self, handle: RustHopHandle, done: asyncio.Future[HopOutcome]) -> None:
        self._handle = handle
        self._done = done

    @property
    def bytes_moved(self) -> int:
        """Bytes delivered downstream so far."""
        return self._handle.bytes_moved

    async def wait(self) -> HopOutcome:
        """Wait for the hop to end; both descriptors are closed by then."""
        return await asyncio.shield(self._done)

    def cancel(self) -> None:
        """Stop the hop within one chunk (idempotent)."""
        self._handle.cancel()

    def finished(self) -> None:
        """Take the result the runtime published (on the loop's thread).

        Never raises: an error reading the result (``MemoryError``, say) is
        what ``wait()`` raises instead, so no waiter is left hanging.
        """
        if self._done.done():
            return
        try:
            result = self._handle.result()
            if result is None:
                return
            moved, end = result
            outcome = HopOutcome(
                moved, downstream_closed=end == "downstream_closed", cancelled=end == "cancelled"
            )
        except Exception as error:  # noqa: BLE001 (the hop's own error, for wait())
            self._done.set_exception(error)
        else:
            self._done.set_result(outcome)


class _Completions:
    """One event loop's notifier, watched while that loop has hops running.

    Holds the loop and the hops weakly: a hop nobody references any more is
    dropped, which cancels it in the runtime, and a closed loop can be
    collected.
    """

    __slots__ = ("__weakref__", "_fd", "_hops", "_loop", "notifier")

    def __init__(self, loop: asyncio.AbstractEventLoop, extension: RustExtension) -> None:
        self.notifier: RustNotifier | None = extension.Notifier()
        self._fd = self.notifier.fileno()
        self._loop = weakref.ref(loop)
        self._hops: dict[int, weakref.ref[RustHop]] = {}
        loop.add_reader(self._fd, self._on_ready)

    def add(self, token: int, hop: RustHop) -> None:
        """Resolve ``hop`` when the runtime reports ``token``."""
        self._hops[token] = weakref.ref(hop)

    def close_if_idle(self) -> None:
        """Close when no hop is running (after a hop failed to start)."""
        if not self._hops:
            self.close()

    def _on_ready(self) -> None:
        notifier = self.notifier
        if notifier is None:
            return
        # If draining fails (no memory for the list), the runtime keeps the
        # tokens and the eventfd readable: this runs again, nothing is lost.
        for token in notifier.drain():
            ref = self._hops.pop(token, None)
            if ref is not None and (hop := ref()) is not None:
                hop.finished()
        if not self._hops:
            self.close()

    def close(self) -> None:
        """Unwatch, then drop the notifier (its eventfd closes once no hop holds it)."""
        if self.notifier is None:
            return
        loop = self._loop()
        if loop is not None:
            if not loop.is_closed():
                loop.remove_reader(self._fd)
            if _by_loop.get(loop) is self:
                del _by_loop[loop]
        self.notifier = None


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Completions] = weakref.WeakKeyDictionary()


def _completions(loop: asyncio.AbstractEventLoop, extension: RustExtension) -> _Completions:
    completions = _by_loop.get(loop)
    if completions is None or completions.notifier is None:
        completions = _by_loop[loop] = _Completions(loop, extension)
    return completions


class RustPump:
    """Runs hops in the ``cuprum._rust`` runtime (see the module doc)."""

    def start(self, source: OwnedFd, sink: OwnedFd, *, buffer_size: int, zero_copy: bool = False) -> RustHop:
        """Start moving bytes from ``source`` to ``sink``, taking both over.

        Raises
        ------
        TypeError, ValueError
            For a bad ``buffer_size`` (nothing is taken then).
        RuntimeError
            When no event loop is running (nothing is taken then).
        ImportError
            When the extension is unavailable (nothing is taken then).
        MemoryError, OSError
            When the runtime cannot start the hop; both descriptors are
            closed then.
        """
        size = check_buffer_size(buffer_size)
        loop = asyncio.get_running_loop()
        extension = rust_extension()
        completions = _completions(loop, extension)
        notifier = completions.notifier
        assert notifier is not None  # noqa: S101 (a fresh one has it)
        # From here the extension owns both descriptors, whatever happens.
        try:
            handle = extension.start_hop(
                source.release(), sink.release(), notifier, buffer_size=size, zero_copy=bool(zero_copy)
            )
        except BaseException:
            completions.close_if_idle()
            raise
        hop = RustHop(handle, loop.create_future())
        completions.add(handle.token, hop)
        return hop
