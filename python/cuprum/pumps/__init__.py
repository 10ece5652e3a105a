r"""Pumps: move one hop's bytes from stage *i*'s stdout to stage *i + 1*'s stdin.

``Pump.start`` takes over the two parent-side descriptors of a hop (the read
end of the upstream pipe and the write end of the downstream pipe) and
returns a running ``Hop``. The contract, identical for every backend:

* **Ownership.** Both descriptors are closed exactly once, by the pump,
  before ``Hop.wait()`` returns, however the hop ends.
* **End of stream.** At the upstream's EOF everything read is delivered,
  then the sink is closed (the consumer sees EOF).
* **Early close.** When the downstream closes its stdin first, the pump
  stops reading at once and closes the source, so the producer gets
  ``SIGPIPE``/``EPIPE`` on its next write, as in a shell. An endless
  producer is never drained.
* **No SIGPIPE in this process**, whatever its signal disposition, and no
  leaked registration or thread, even if the event loop is closed under a
  running hop.
* **Exact bytes.** The default moves copies, so a producer that
  ``vmsplice``\ s and reuses its buffers once its pipe drains can never
  change bytes already handed on; each read is written as one unit (a
  packet-mode pipe keeps its packet boundaries). ``zero_copy=True`` lets a
  backend forward page references instead (``splice(2)``); see
  ``docs/design.md`` for what that risks.
* **Cancellation.** ``Hop.cancel()`` makes ``wait()`` return promptly
  (within one chunk), with ``cancelled`` set.
* **Progress.** ``Hop.bytes_moved`` may be read at any time while the hop
  runs (a progress bar), and is final once ``wait()`` has returned.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Protocol

from cuprum.stream_backend import StreamBackend

if TYPE_CHECKING:
    from cuprum.fds import OwnedFd


@dataclasses.dataclass(frozen=True, slots=True)
class HopOutcome:
    """What one hop did.

    Attributes
    ----------
    bytes_moved
        Bytes delivered to the downstream stage.
    downstream_closed
        Whether the downstream closed its stdin before the upstream's EOF.
    cancelled
        Whether ``Hop.cancel()`` stopped it.
    """

    bytes_moved: int
    downstream_closed: bool
    cancelled: bool = False


class Hop(Protocol):
    """One running hop."""

    @property
    def bytes_moved(self) -> int:
        """Bytes delivered downstream so far."""
        ...

    async def wait(self) -> HopOutcome:
        """Wait for the hop to end; both descriptors are closed by then."""
        ...

    def cancel(self) -> None:
        """Stop the hop soon; ``wait()`` then reports ``cancelled`` (idempotent)."""
        ...


class Pump(Protocol):
    """A stream backend's way of running hops."""

    def start(self, source: OwnedFd, sink: OwnedFd, *, buffer_size: int, zero_copy: bool = False) -> Hop:
        """Start moving bytes from ``source`` to ``sink``, taking both over.

        Must be called with the event loop running. ``buffer_size`` bounds
        the bytes moved per read (or splice).
        """
        ...


def pump_for(backend: StreamBackend) -> Pump:
    """Return the pump implementation of ``backend``."""
    if backend is StreamBackend.RUST:
        from cuprum.pumps.rust import RustPump  # noqa: PLC0415 (needs the extension)

        return RustPump()
    from cuprum.pumps.python import PythonPump  # noqa: PLC0415

    return PythonPump()
