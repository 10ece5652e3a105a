"""Await user code (async observers, before hooks) within a limit it cannot defeat.

Awaited in line, a coroutine that swallows ``CancelledError`` keeps its
caller waiting, whatever the caller's timeout: a cancel only reaches the
innermost await. So user code is started as an eager task instead. One
that finishes without suspending (most observers) costs one task object
and no trip through the loop; one that suspends is awaited through
``asyncio.wait``, so the run's deadline and a cancel of the run reach
Cuprum, never the user code alone. The task is then cancelled and
abandoned, even if it ignores the cancel and keeps running.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable

_abandoned: set[asyncio.Future[object]] = set()
"""Tasks given up on: referenced until they end, so they are not collected mid-flight."""


async def finished_within(awaitable: Awaitable[object], seconds: float | None) -> bool:
    """Await ``awaitable`` for at most ``seconds`` (``None``: no limit).

    Returns
    -------
    bool
        ``True`` when it finished (what it raised is raised, its own
        ``CancelledError`` included); ``False`` when the limit passed first
        (it has been cancelled and abandoned).

    Raises
    ------
    asyncio.CancelledError
        When the caller is cancelled; the task is cancelled and abandoned.
    """
    task = start(awaitable)
    if not await settle(task, seconds):
        return False
    task.result()
    return True


def start(awaitable: Awaitable[object]) -> asyncio.Future[object]:
    """Start ``awaitable`` at once (a coroutine runs up to its first suspension now)."""
    if inspect.iscoroutine(awaitable):
        return asyncio.eager_task_factory(asyncio.get_running_loop(), awaitable)
    return asyncio.ensure_future(awaitable)


async def settle(task: asyncio.Future[object], seconds: float | None) -> bool:
    """Wait for a started ``task`` for at most ``seconds``; whether it finished (else it is abandoned).

    Raises
    ------
    asyncio.CancelledError
        When the caller is cancelled; the task is cancelled and abandoned.
    """
    if task.done():
        return True
    if seconds is not None and seconds <= 0:
        _abandon(task)
        return False
    try:
        await asyncio.wait((task,), timeout=seconds)
    except asyncio.CancelledError:
        _abandon(task)
        raise
    if task.done():
        return True
    _abandon(task)
    return False


def _abandon(task: asyncio.Future[object]) -> None:
    if task.done():
        _forget(task)
        return
    task.cancel()
    _abandoned.add(task)
    task.add_done_callback(_forget)


def _forget(task: asyncio.Future[object]) -> None:
    _abandoned.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: an abandoned task's failure is not reported twice
