"""``CaptureBuffer``: captured output, read straight into one growing mapping once it is large.

A small capture is a list of chunks, as ``os.read`` returns them. Once it
passes ``SPILL`` bytes it moves into one private anonymous mapping and every
later read lands there directly (``readv`` into the mapping): no chunk is
allocated, none is joined, and on Linux the mapping grows with ``mremap``,
which moves no bytes. Text is decoded straight from the mapping, so a large
text capture costs one read and one decode, and its peak memory is the data
plus the text (docs/performance.md, "Capture").
"""

from __future__ import annotations

import codecs
import mmap
import os
from typing import Final

SPILL: Final = 1024 * 1024
"""Bytes kept as chunks before a text capture moves into a mapping (below, it costs more than it saves)."""

_DIRECT_CODECS: Final = frozenset({"utf-8", "ascii", "iso8859-1"})
"""Codecs that CPython decodes from a buffer without a copy; others are given ``bytes``."""


class CaptureBuffer:
    """The bytes captured from one stream, in arrival order."""

    __slots__ = ("_chunks", "_map", "_size", "_spill_at")

    def __init__(self, *, text: bool) -> None:
        self._chunks: list[bytes] = []
        self._map: mmap.mmap | None = None
        self._size = 0
        # Bytes are copied once either way (chunks joined, or the mapping's
        # slice), and joining measured faster: only text spills.
        self._spill_at = SPILL if text else -1

    def __len__(self) -> int:
        """Bytes captured so far."""
        return self._size

    def append(self, data: bytes) -> None:
        """Keep ``data`` (a chunk read elsewhere)."""
        if self._map is None:
            self._chunks.append(data)
            self._size += len(data)
            if self._size >= self._spill_at >= 0:
                self._spill()
            return
        self._reserve(len(data))
        self._map[self._size : self._size + len(data)] = data
        self._size += len(data)

    def read_from(self, fd: int, limit: int) -> int:
        """Read at most ``limit`` bytes from ``fd`` into the capture; ``0`` at end of file.

        Raises
        ------
        OSError
            As ``os.read`` (``BlockingIOError`` when nothing is ready), or
            when the mapping cannot grow (``ENOMEM``).
        MemoryError
            When a chunk cannot be allocated.
        """
        if self._map is None:
            data = os.read(fd, limit)
            if data:
                self.append(data)
            return len(data)
        self._reserve(limit)
        with memoryview(self._map) as view, view[self._size : self._size + limit] as free:
            count = os.readv(fd, [free])
        self._size += count
        return count

    def data(self) -> bytes:
        """Everything captured, as ``bytes`` (one copy)."""
        if self._map is None:
            joined = b"".join(self._chunks)
            self._chunks = [joined]
            return joined
        return self._map[: self._size]

    def text(self, encoding: str, errors: str) -> str:
        """Everything captured, decoded (from the mapping itself where the codec allows).

        Raises
        ------
        UnicodeDecodeError
            As ``bytes.decode`` with ``errors``.
        """
        if self._map is None or codecs.lookup(encoding).name not in _DIRECT_CODECS:
            return self.data().decode(encoding, errors)
        with memoryview(self._map) as view, view[: self._size] as used:
            return str(used, encoding, errors)

    def release(self) -> None:
        """Drop everything captured (the mapping is unmapped now, not at the next collection)."""
        self._chunks = []
        self._size = 0
        if self._map is not None:
            self._map.close()
            self._map = None

    def _spill(self) -> None:
        """Move the chunks into a mapping twice their size."""
        self._map = _mapping(2 * self._size)
        offset = 0
        for chunk in self._chunks:
            self._map[offset : offset + len(chunk)] = chunk
            offset += len(chunk)
        self._chunks = []

    def _reserve(self, count: int) -> None:
        """Grow the mapping (at least doubling) until ``count`` more bytes fit."""
        old = self._map
        assert old is not None  # noqa: S101 (only after a spill)
        needed = self._size + count
        if needed <= len(old):
            return
        capacity = max(needed, 2 * len(old))
        try:
            old.resize(capacity)  # mremap on Linux: no byte is copied
        except SystemError:  # no mremap on this platform: copy into a larger mapping
            grown = _mapping(capacity)
            grown[: self._size] = old[: self._size]
            old.close()
            self._map = grown


def _mapping(size: int) -> mmap.mmap:
    """A private anonymous mapping of ``size`` bytes (pages are faulted in as they are written)."""
    return mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
