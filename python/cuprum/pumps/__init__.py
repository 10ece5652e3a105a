"""Pumps: move one hop's bytes from stage *i*'s stdout to stage *i + 1*'s stdin.

A pump owns the two parent-side descriptors of its hop (the read end of the
upstream pipe and the write end of the downstream pipe) and closes each
exactly once, whatever happens. It runs until the upstream reaches EOF or
the downstream closes its stdin early; in the second case it stops reading
at once and closes the read end, so the producer gets ``SIGPIPE``/``EPIPE``
on its next write, exactly as in a shell. Cancelling a pump closes both
descriptors and returns promptly.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Protocol

from cuprum.stream_backend import StreamBackend

if TYPE_CHECKING:
    from cuprum.fds import OwnedFd
    from cuprum.pumps.python import PythonPump
    from cuprum.pumps.rust import RustPump


@dataclasses.dataclass(frozen=True, slots=True)
class HopOutcome:
    """What one hop did.

    Attributes
    ----------
    bytes_moved
        Bytes delivered to the downstream stage.
    downstream_closed
        Whether the downstream closed its stdin before the upstream's EOF.
    """

    bytes_moved: int
    downstream_closed: bool


class Pump(Protocol):
    """A stream backend's way of running one hop."""

    async def run(self, source: OwnedFd, sink: OwnedFd) -> HopOutcome:
        """Move bytes from ``source`` to ``sink``; close both; report."""
        ...


def pump_for(backend: StreamBackend) -> PythonPump | RustPump:
    """Return the pump implementation of ``backend``."""
    if backend is StreamBackend.RUST:
        from cuprum.pumps.rust import RustPump  # noqa: PLC0415 (needs the extension)

        return RustPump()
    from cuprum.pumps.python import PythonPump  # noqa: PLC0415

    return PythonPump()
