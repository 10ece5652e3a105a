"""Await async observers within a limit they cannot defeat.

Awaited in line, a coroutine that swallows ``CancelledError`` keeps its
caller waiting, whatever the caller's timeout: a cancel only reaches the
innermost await. So user code is started as an eager task instead. One
that finishes without suspending (most observers) costs one task object
and no trip through the loop; one that suspends is awaited through
``asyncio.wait``, so the run's deadline and a cancel of the run reach
Cuprum, never the user code alone. The task is then cancelled and
abandoned, even if it ignores the cancel and keeps running. An observer
runs in a copy of the context, so what it sets in a context variable stays
its own (observers watch; they never steer). Before and after hooks are
control flow and stay in line.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable

_abandoned: set[asyncio.Future[object]] = set()
"""Tasks given up on: referenced until they end, so they are not collected mid-flight."""


def start(awaitable: Awaitable[object]) -> asyncio.Future[object]:
    """Start ``awaitable`` at once, as a task of its own (it runs up to its first suspension now).

    Any awaitable (a future, another loop's future, an object with
    ``__await__``) is awaited inside a coroutine of the task's own, so what
    awaiting it raises is the task's outcome, and cancelling the task never
    cancels a future the caller owns directly.
    """
    coroutine = awaitable if inspect.iscoroutine(awaitable) else _awaited(awaitable)
    return asyncio.eager_task_factory(asyncio.get_running_loop(), coroutine)


async def _awaited(awaitable: Awaitable[object]) -> object:
    return await awaitable


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
