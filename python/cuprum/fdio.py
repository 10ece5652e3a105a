"""Non-blocking descriptor I/O on the event loop, without SIGPIPE or stale registrations.

Two rules live here, once:

* **Unregister before closing.** A descriptor watched by the event loop is
  removed from the loop's selector *before* it is closed, so a closed number
  can never stay registered (a later, unrelated descriptor with the same
  number would otherwise inherit the registration, or epoll would fail with
  ``FileNotFoundError``). ``LoopFd`` enforces it.
* **No write of ours raises SIGPIPE in this process**, whatever its signal
  disposition (a program may restore ``SIG_DFL``). ``write_nosigpipe`` blocks
  SIGPIPE on the writing thread around the ``write(2)`` and consumes the
  signal that a broken pipe raised, so the write fails with
  ``BrokenPipeError`` and nothing else happens.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Buffer, Callable

    from cuprum.fds import OwnedFd

_SIGPIPE_SET: Final = frozenset({signal.SIGPIPE}) if hasattr(signal, "SIGPIPE") else frozenset[int]()
_CAN_MASK: Final = (
    bool(_SIGPIPE_SET) and hasattr(signal, "pthread_sigmask") and hasattr(signal, "sigtimedwait")
)


def _write_masked(fd: int, data: Buffer) -> int:
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGPIPE_SET)
    try:
        return os.write(fd, data)
    except BrokenPipeError:
        if signal.SIGPIPE not in previous:
            # The failed write left a SIGPIPE pending on this thread: take it.
            signal.sigtimedwait(_SIGPIPE_SET, 0)
        raise
    finally:
        if signal.SIGPIPE not in previous:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _write_plain(fd: int, data: Buffer) -> int:
    return os.write(fd, data)


write_nosigpipe: Final[Callable[[int, Buffer], int]] = _write_masked if _CAN_MASK else _write_plain
"""``os.write(fd, data)`` that can fail with ``BrokenPipeError`` but never raise SIGPIPE."""


def forbid_sigpipe(fd: int) -> None:
    """Make writes to ``fd`` raise ``EPIPE`` without SIGPIPE where the platform has a flag for it.

    On macOS this sets ``F_SETNOSIGPIPE``; on Linux ``write_nosigpipe``
    masks the signal instead, and this does nothing.
    """
    if _CAN_MASK:
        return
    with contextlib.suppress(OSError, AttributeError):
        import fcntl  # noqa: PLC0415 (POSIX only)

        fcntl.fcntl(fd, fcntl.F_SETNOSIGPIPE, 1)  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownArgumentType]


class LoopFd:
    """An owned, non-blocking descriptor watched by one event loop.

    Parameters
    ----------
    loop
        The loop that watches it.
    owned
        The descriptor; this object takes it over (``owned.release()``).

    Notes
    -----
    ``close()`` removes every registration before closing the descriptor,
    and is idempotent. When the loop is already closed (a program that closed
    its loop with a run still going), the registrations died with the loop's
    selector and the descriptor is simply closed.
    """

    __slots__ = ("_fd", "_loop", "_reading", "_writing")

    def __init__(self, loop: asyncio.AbstractEventLoop, owned: OwnedFd) -> None:
        self._loop = loop
        self._fd = owned.release()
        self._reading = False
        self._writing = False
        os.set_blocking(self._fd, False)

    @property
    def fd(self) -> int:
        """The descriptor number (``-1`` once closed)."""
        return self._fd

    @property
    def closed(self) -> bool:
        """Whether ``close()`` has run."""
        return self._fd < 0

    def watch_read(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` whenever the descriptor is readable."""
        self._loop.add_reader(self._fd, callback)
        self._reading = True

    def unwatch_read(self) -> None:
        """Stop watching for readability (idempotent)."""
        if self._reading:
            self._reading = False
            if not self._loop.is_closed():
                self._loop.remove_reader(self._fd)

    def watch_write(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` whenever the descriptor is writable."""
        self._loop.add_writer(self._fd, callback)
        self._writing = True

    def unwatch_write(self) -> None:
        """Stop watching for writability (idempotent)."""
        if self._writing:
            self._writing = False
            if not self._loop.is_closed():
                self._loop.remove_writer(self._fd)

    def close(self) -> None:
        """Unregister, then close the descriptor (idempotent)."""
        if self._fd < 0:
            return
        self.unwatch_read()
        self.unwatch_write()
        fd, self._fd = self._fd, -1
        try:  # noqa: SIM105 (a hot path: suppress() costs a frame)
            os.close(fd)
        except OSError:
            pass

    def __del__(self) -> None:
        """Close a descriptor whose owner dropped it without closing it.

        A registration keeps its owner (and so this object) alive while the
        loop lives, so only an unregistered descriptor, or one whose loop is
        closed, can get here: closing it touches no selector.
        """
        fd, self._fd = self._fd, -1
        if fd >= 0 and not sys.is_finalizing():
            with contextlib.suppress(OSError):
                os.close(fd)

    def __repr__(self) -> str:
        """Show the number, or that it is gone."""
        return f"LoopFd({self._fd})" if self._fd >= 0 else "LoopFd(closed)"
