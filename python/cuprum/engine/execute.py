"""``run()``: start, wait, close — the live path with the output captured."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cuprum.engine.live import LiveProcess

if TYPE_CHECKING:
    from cuprum.command import SafeCmd
    from cuprum.engine.collect import Result
    from cuprum.pipeline import Pipeline
    from cuprum.request import RunRequest


async def run(runnable: SafeCmd | Pipeline, request: RunRequest) -> Result:
    """Run ``runnable`` to completion; see ``Runnable.run`` for the contract."""
    live: LiveProcess[Result, str] = LiveProcess(runnable, request)
    async with live as process:
        return await process.wait()
