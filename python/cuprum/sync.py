"""Run a coroutine to completion from synchronous code."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine


def run_sync[T](start: Callable[[], Coroutine[object, object, T]], name: str, instead: str) -> T:
    """Run ``start()`` in a fresh event loop, refusing to nest in a running one.

    Parameters
    ----------
    start
        Makes the coroutine (only called once nesting has been ruled out).
    name
        The synchronous call, for the error message (``"SafeCmd.run_sync()"``).
    instead
        What to await instead (``"cmd.run(...)"``).

    Raises
    ------
    RuntimeError
        When called from a thread whose event loop is running.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(start())
    msg = f"{name} cannot be called while an event loop is running in this thread"
    msg += f"; use `await {instead}` instead"
    raise RuntimeError(msg)
