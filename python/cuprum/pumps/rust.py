"""The Rust stream backend: hops and capture on threads Cuprum owns.

Each blocking call into ``cuprum._rust`` (``pump_hop``, ``consume``) runs on
its own short-lived thread, never on asyncio's default executor (which many
concurrent pipelines could exhaust), and releases the GIL while it works.
Every call also watches a wake-up pipe: cancelling the awaiting task writes
to it, the Rust side returns promptly, and the thread has ended before
``run()`` returns. The descriptors are owned here and closed exactly once,
after the thread is done with them; Rust only borrows them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from typing import TYPE_CHECKING, Final

from cuprum.process import run_to_completion
from cuprum.pumps import HopOutcome
from cuprum.stream_backend import rust_extension

if TYPE_CHECKING:
    from collections.abc import Callable

    from cuprum.fds import OwnedFd

BUFFER_SIZE: Final = 1024 * 1024
"""Bytes per splice or read; matches the hop pipes' kernel buffer."""


async def run_blocking[T](work: Callable[[int], T], name: str) -> T:
    """Run ``work(cancel_fd)`` on a new thread and await its result.

    If the awaiting task is cancelled, ``cancel_fd`` becomes readable, the
    thread is waited for, and the cancellation is re-raised.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()
    wake_read, wake_write = os.pipe2(os.O_CLOEXEC)

    def succeed(outcome: T) -> None:
        if not done.done():
            done.set_result(outcome)

    def fail(error: BaseException) -> None:
        if not done.done():
            done.set_exception(error)

    def target() -> None:
        try:
            outcome = work(wake_read)
        except BaseException as error:  # noqa: BLE001 (handed to the awaiting task)
            loop.call_soon_threadsafe(fail, error)
        else:
            loop.call_soon_threadsafe(succeed, outcome)

    thread = threading.Thread(target=target, name=name, daemon=True)
    try:
        thread.start()
        try:
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            os.write(wake_write, b"x")
            with contextlib.suppress(Exception):
                await run_to_completion(_wait(done))
            raise
    finally:
        if done.done():
            thread.join()  # it has reported: only its return is left
        os.close(wake_read)
        os.close(wake_write)


async def _wait[T](future: asyncio.Future[T]) -> None:
    await asyncio.wait([future])


class RustPump:
    """Runs a hop with ``cuprum._rust.pump_hop`` (``splice(2)`` between pipes)."""

    async def run(self, source: OwnedFd, sink: OwnedFd) -> HopOutcome:
        """Move bytes until EOF or early close; both descriptors end up closed."""
        try:
            extension = rust_extension()
            source_fd, sink_fd = source.fileno(), sink.fileno()
            moved, end = await run_blocking(
                lambda cancel_fd: extension.pump_hop(
                    source_fd, sink_fd, buffer_size=BUFFER_SIZE, cancel_fd=cancel_fd
                ),
                "cuprum-pump",
            )
        finally:
            # Only now, with the Rust side finished with them.
            source.close()
            sink.close()
        return HopOutcome(bytes_moved=moved, downstream_closed=end == "downstream_closed")


class RustCapture:
    """Captures one output stream with ``cuprum._rust.consume``.

    Used instead of ``OutputCollector`` when nothing but the decoded text is
    wanted (see ``cuprum.capture.rust_capture_eligible``).
    """

    __slots__ = ("_text",)

    def __init__(self) -> None:
        self._text = ""

    async def read_fd(self, reader: OwnedFd) -> None:
        """Read ``reader`` to EOF on a Cuprum thread, then close it.

        If the read is cancelled, whatever was read before is kept.
        """
        try:
            extension = rust_extension()
            reader_fd = reader.fileno()

            def work(cancel_fd: int) -> None:
                # Stored from the thread, so a cancelled read keeps its text.
                self._text = extension.consume(reader_fd, buffer_size=BUFFER_SIZE, cancel_fd=cancel_fd)

            await run_blocking(work, "cuprum-consume")
        finally:
            reader.close()

    async def finish(self, *, cut_short: bool = False) -> None:
        """Nothing to flush: the Rust decoder finishes at EOF."""
        del cut_short

    def text(self) -> str:
        """The decoded text read so far."""
        return self._text
