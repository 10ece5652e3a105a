"""Cleanup that cancellation cannot cut short."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Coroutine


async def run_to_completion[T](awaitable: Coroutine[object, object, T]) -> T:
    """Await ``awaitable`` to the end even if the caller is cancelled meanwhile.

    The cancellation (however many arrive) is re-raised once it has finished,
    so cleanup such as reaping a child or reporting its exit can never be cut
    short. The task starts eagerly: cleanup that never suspends finishes
    here, without a trip through the event loop.
    """
    task = asyncio.Task(awaitable, loop=asyncio.get_running_loop(), eager_start=True)
    if task.done():
        return task.result()
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                raise
            cancelled = True
        else:
            break
    if cancelled:
        raise asyncio.CancelledError
    return result
