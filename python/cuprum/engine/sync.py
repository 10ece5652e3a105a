"""``run_sync``: run a coroutine to completion from synchronous code.

Each thread keeps one event loop for its ``run_sync`` calls, so a call does
not pay for creating and closing a loop. Every call runs in a copy of the
caller's context, so the caller's scope applies and nothing set inside
leaks out. In the main thread, Ctrl-C (SIGINT) during a call cancels the
run, so its processes are torn down and reaped as for any cancellation,
and then raises ``KeyboardInterrupt``, as ``asyncio.run`` does. A thread's
loop is closed when the thread ends (the main thread's at exit). Calling
from a thread whose own loop is running is refused: that would block it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import importlib
import os
import signal
import threading
import weakref
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine
    from types import FrameType


# signal.getsignal and signal.signal convert every handler to and from enums
# (about 6 µs a call, four calls a run); the C functions underneath do not.
_signals: Final = importlib.import_module("_signal")
_getsignal: Final[Callable[[int], object]] = _signals.getsignal
_setsignal: Final[Callable[[int, object], object]] = _signals.signal
_SIGINT: Final = int(signal.SIGINT)

LEFTOVER_GRACE: Final = 1.0
"""Seconds a closing loop waits for its cancelled leftover tasks."""


class _Holder:
    """One thread's loop, and the run it is driving."""

    __slots__ = ("__weakref__", "_on_sigint", "forked", "interrupted", "loop", "task")

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.task: asyncio.Task[object] | None = None
        self.interrupted = False
        self.forked = False
        self._on_sigint = self._interrupt  # one bound method, so it can be recognised

    def run[T](self, coroutine: Coroutine[object, object, T]) -> T:
        task = self.loop.create_task(coroutine, context=contextvars.copy_context())
        installed = (
            threading.current_thread() is threading.main_thread()
            and _getsignal(_SIGINT) is signal.default_int_handler
        )
        if installed:
            _setsignal(_SIGINT, self._on_sigint)
        self.task = task  # pyright: ignore[reportAttributeAccessIssue]
        self.interrupted = False
        try:
            return self.loop.run_until_complete(task)
        except asyncio.CancelledError:
            if self.interrupted:
                raise KeyboardInterrupt from None
            raise
        except BaseException:
            # KeyboardInterrupt from the application's own SIGINT handler, or
            # SystemExit from a callback: the run must still be torn down.
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    self.loop.run_until_complete(task)
            raise
        finally:
            self.task = None
            if installed and _getsignal(_SIGINT) is self._on_sigint:
                _setsignal(_SIGINT, signal.default_int_handler)

    def _interrupt(self, signum: int, frame: FrameType | None) -> None:
        task = self.task
        if task is None or task.done():
            signal.default_int_handler(signum, frame)
            return
        self.interrupted = True
        task.cancel()
        self.loop.call_soon_threadsafe(lambda: None)  # wake the selector

    def close(self) -> None:
        loop = self.loop
        if self.forked or loop.is_closed() or loop.is_running():
            return  # a forked child must not touch its parent's epoll instance
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            # Dropped inside another loop (a thread's locals freed by a thread
            # that runs one): that loop cannot run ours; release its resources.
            loop.close()
            return
        with contextlib.suppress(RuntimeError):
            leftovers = asyncio.all_tasks(loop)
            for leftover in leftovers:
                leftover.cancel()
            if leftovers:  # bounded: an abandoned observer may ignore its cancel
                loop.run_until_complete(asyncio.wait(leftovers, timeout=LEFTOVER_GRACE))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()

    def __del__(self) -> None:
        self.close()


class _PerThread(threading.local):
    holder: _Holder | None = None


_local = _PerThread()
_holders: weakref.WeakSet[_Holder] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for holder in list(_holders):
        holder.close()


def _forget_after_fork() -> None:
    """In a forked child, drop the parent's loops (their epoll instances are shared)."""
    for holder in list(_holders):
        holder.forked = True
    _holders.clear()
    _local.holder = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def run_sync[T](start: Callable[[], Coroutine[object, object, T]], name: str) -> T:
    """Run ``start()`` on this thread's loop, refusing to nest in a running one.

    Raises
    ------
    RuntimeError
        When called from a thread whose event loop is running.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        holder = _local.holder
        if holder is None or holder.loop.is_closed():
            holder = _local.holder = _Holder()
            _holders.add(holder)
        return holder.run(start())
    msg = (
        f"{name} cannot be called while an event loop is running in this thread; await the async API instead"
    )
    raise RuntimeError(msg)
