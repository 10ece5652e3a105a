"""What a run needs from whatever captures an output stream."""

from __future__ import annotations

from typing import Protocol


class Capture(Protocol):
    """What a run needs from whatever captures a stream."""

    async def finish(self, *, cut_short: bool = False) -> None:
        """Flush anything pending (idempotent); ``cut_short`` after a kill."""
        ...

    def text(self) -> str | None:
        """The captured text, or ``None`` when not capturing."""
        ...
