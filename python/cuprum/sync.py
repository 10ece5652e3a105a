"""Run a coroutine to completion from synchronous code."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine


def run_sync[T](start: Callable[[], Coroutine[object, object, T]], what: str) -> T:
    """Run ``start()`` in a fresh event loop, refusing to nest in a running one.

    Parameters
    ----------
    start
        Makes the coroutine (only called once nesting has been ruled out).
    what
        Names the object in the error message, e.g. ``"SafeCmd"``.

    Raises
    ------
    RuntimeError
        When called from a thread whose event loop is running.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(start())
    msg = (
        f"{what}.run_sync() cannot be called while an event loop is running in this thread; "
        f"use `await {what.lower()}.run(...)` instead"
    )
    raise RuntimeError(msg)
