"""Decode a stream as it arrives; a decoding error is placed in the stream, not in one read.

An incremental decoder reports an error against the read it failed on, so
the bytes it carries (which a ``repr`` shows) depend on where the pipe cut
the stream, and a secret cut by a read's start or end is seen only in
part, which no redactor recognises. ``StreamDecoder`` keeps the last
``REDACTION_WINDOW`` bytes read (chunks kept, not copied, and only when
the error handler can raise) and rebuilds the error over the stream: up to
``REDACTION_WINDOW`` bytes on each side of the failing span, so
``collect.sanitized`` has whole windows to redact before it cuts. When
fewer than ``REDACTION_WINDOW`` bytes follow the span in what has been
read, the error waits for one more read or the end of the stream (so a
short output ends first and its error shows whole); after that read, a
secret could still continue past the bytes known, so the error's bytes are
hidden and its reason gives the span's offset in the stream instead.
Nothing is decoded after an error.
"""

from __future__ import annotations

import codecs
import collections
from typing import Final

from cuprum.redaction import DEFAULT_MASK
from cuprum.result import REDACTION_WINDOW

NEVER_RAISING: Final = frozenset({"replace", "ignore", "surrogateescape", "backslashreplace"})
"""Error handlers that cannot raise: no history is kept for them."""


class StreamDecoder:
    """An incremental decoder whose errors carry the stream's bytes on both sides.

    Parameters
    ----------
    encoding, errors
        The codec and its error handler (already checked by the plan).
    """

    __slots__ = ("_decoder", "_dropped", "_pending", "_recent", "_recent_size")

    def __init__(self, encoding: str, errors: str) -> None:
        self._decoder = codecs.getincrementaldecoder(encoding)(errors)
        self._recent: collections.deque[bytes] | None = (
            None if errors in NEVER_RAISING else collections.deque()
        )
        self._recent_size = 0
        self._dropped = 0
        self._pending: _Placed | None = None

    @property
    def history_size(self) -> int | None:
        """Bytes of the stream kept for placing an error (``None``: the handler cannot raise)."""
        return None if self._recent is None else self._recent_size

    def decode(self, data: bytes) -> str:
        """Decode one read.

        Raises
        ------
        UnicodeDecodeError
            Rebuilt over the stream (see the module doc).
        """
        recent = self._recent
        if recent is None:
            return self._decoder.decode(data)
        if data:
            recent.append(data)
            self._recent_size += len(data)
        if self._pending is not None:
            raise self._pending.error(self._stream(), ended=False)
        if data:
            # Keep at least REDACTION_WINDOW bytes before this read, no more chunks than that needs.
            while len(recent) > 1 and self._recent_size - len(recent[0]) - len(data) >= REDACTION_WINDOW:
                dropped = len(recent.popleft())
                self._recent_size -= dropped
                self._dropped += dropped
        try:
            return self._decoder.decode(data)
        except UnicodeDecodeError as error:
            placed = self._place(error)
        if placed.span is None or placed.complete(self._recent_size):
            raise placed.error(self._stream(), ended=False)
        self._pending = placed
        return ""

    def finish(self, *, forgive: bool) -> str:
        """Flush the decoder at the end of the stream.

        Parameters
        ----------
        forgive
            Whether a character cut at the end becomes U+FFFD (a killed
            process, a live stream) rather than an error.

        Raises
        ------
        UnicodeDecodeError
            An error met earlier (whole, the stream has ended), or one at
            the end when ``forgive`` is false.
        """
        if self._pending is not None:
            raise self._pending.error(self._stream(), ended=True)
        try:
            return self._decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            if not forgive:
                raise self._place(error).error(self._stream(), ended=True) from None
            self._decoder.reset()
            return "\ufffd"

    @property
    def pending(self) -> bool:
        """Whether an error waits for one more read or the end of the stream."""
        return self._pending is not None

    def _stream(self) -> bytes:
        return b"".join(self._recent or ())

    def _place(self, error: UnicodeDecodeError) -> _Placed:
        """Where ``error`` lies in the kept stream (its object must end what was read)."""
        failed_on = bytes(error.object) if isinstance(error.object, bytes | bytearray) else b""
        if not 0 <= error.start < error.end <= len(failed_on) or not self._stream().endswith(failed_on):
            return _Placed(error, None, self._dropped)  # a handler or codec that rewrote its input
        offset = self._recent_size - len(failed_on)
        return _Placed(error, (offset + error.start, offset + error.end), self._dropped)


class _Placed:
    """A decoding error and its span in the kept stream (``None``: it cannot be placed)."""

    __slots__ = ("dropped", "original", "span")

    def __init__(self, original: UnicodeDecodeError, span: tuple[int, int] | None, dropped: int) -> None:
        self.original = original
        self.span = span
        self.dropped = dropped

    def complete(self, kept: int) -> bool:
        """Whether a whole window follows the span in the ``kept`` bytes."""
        return self.span is not None and kept - self.span[1] >= REDACTION_WINDOW

    def error(self, stream: bytes, *, ended: bool) -> UnicodeDecodeError:
        """The error over up to ``REDACTION_WINDOW`` bytes of ``stream`` on each side, or hidden."""
        original = self.original
        if self.span is None:
            return _hidden(original, "a handler or codec rewrote its input")
        start, end = self.span
        if not ended and not self.complete(len(stream)):
            where = f"at bytes {self.dropped + start}-{self.dropped + end - 1} of the stream"
            return _hidden(original, where)
        first = max(0, start - REDACTION_WINDOW)
        window = stream[first : end + REDACTION_WINDOW]
        return UnicodeDecodeError(original.encoding, window, start - first, end - first, original.reason)


def _hidden(error: UnicodeDecodeError, where: str) -> UnicodeDecodeError:
    masked = DEFAULT_MASK.encode()
    reason = f"{error.reason} ({where}; its bytes are hidden: a secret could cross them)"
    return UnicodeDecodeError(error.encoding, masked, 0, len(masked), reason)
