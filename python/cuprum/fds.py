"""``OwnedFd``: one owner for a raw file descriptor, closed exactly once.

Pumps and captures receive descriptors wrapped in ``OwnedFd``. Whoever
holds the wrapper may ``close()`` it (again is a no-op) or ``release()`` the
number to a new owner such as a file object. A run closes every wrapper
it created when it ends, so a descriptor whose task was cancelled before it
ever ran is closed all the same, and none is ever closed twice.
"""

from __future__ import annotations

import os


class OwnedFd:
    """A file descriptor with exactly one owner."""

    __slots__ = ("_fd",)

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def fileno(self) -> int:
        """The descriptor number.

        Raises
        ------
        ValueError
            When it has been closed or released.
        """
        if self._fd < 0:
            msg = "descriptor already closed or released"
            raise ValueError(msg)
        return self._fd

    @property
    def closed(self) -> bool:
        """Whether this wrapper no longer owns a descriptor."""
        return self._fd < 0

    def release(self) -> int:
        """Hand the descriptor to a new owner; this wrapper forgets it."""
        fd = self.fileno()
        self._fd = -1
        return fd

    def close(self) -> None:
        """Close the descriptor if still owned (idempotent)."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self) -> None:
        """Close a descriptor whose owner was dropped (an abandoned run): never leak it."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            try:  # noqa: SIM105 (a finaliser: as little machinery as possible)
                os.close(fd)
            except OSError:
                pass

    def __repr__(self) -> str:
        """Show the number, or that it is gone."""
        return f"OwnedFd({self._fd})" if self._fd >= 0 else "OwnedFd(closed)"


def owned_pipe() -> tuple[OwnedFd, OwnedFd]:
    """A close-on-exec pipe as (read end, write end).

    ``os.pipe`` makes both ends non-inheritable on every platform (with
    ``pipe2(O_CLOEXEC)`` where it exists, atomically).
    """
    read_fd, write_fd = os.pipe()
    return OwnedFd(read_fd), OwnedFd(write_fd)
