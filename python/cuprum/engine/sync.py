"""``run_sync``: run a coroutine to completion from synchronous code.

Each thread keeps one event loop for its ``run_sync`` calls (an
``asyncio.Runner``), so a call does not pay for creating and closing a loop.
Every call runs in a copy of the caller's context, so the caller's scope
applies and nothing set inside leaks out. A thread's loop is closed when the
thread ends (the main thread's at exit). Calling from a thread whose own
loop is running is refused: that would block the loop.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import threading
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine


class _Holder:
    """Owns one thread's runner; closing it when the thread-local is dropped."""

    __slots__ = ("__weakref__", "runner")

    def __init__(self) -> None:
        self.runner = asyncio.Runner()

    def close(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            with contextlib.suppress(RuntimeError):  # running in another thread: leave it
                self.runner.close()
            return
        # Dropped inside another loop (a thread's locals freed by a thread that
        # runs one): that loop cannot run ours, so just release its resources.
        with contextlib.suppress(RuntimeError):
            self.runner.get_loop().close()

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
        if holder is None:
            holder = _local.holder = _Holder()
            _holders.add(holder)
        return holder.runner.run(start(), context=contextvars.copy_context())
    msg = (
        f"{name} cannot be called while an event loop is running in this thread; await the async API instead"
    )
    raise RuntimeError(msg)
