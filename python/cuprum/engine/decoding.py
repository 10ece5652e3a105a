"""Decode a stream as it arrives; a decoding error is placed in the stream, not in one read.

An incremental decoder reports an error against the read it failed on, so
the bytes it carries (which a ``repr`` shows) and its position depend on
where the pipe happened to cut the stream: a secret split between two reads
is seen only in part, and no redactor recognises a part. ``StreamDecoder``
keeps the last ``REDACTION_WINDOW`` bytes read before the current read
(chunks are kept, not copied, and only when the error handler can raise)
and rebuilds such an error over them: its object ends with the failing
span, so the same output gives the same error whatever the reads, and
``collect.sanitized`` has a whole window to redact before it cuts.
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
    """An incremental decoder whose errors carry the stream's bytes before them.

    Parameters
    ----------
    encoding, errors
        The codec and its error handler (already checked by the plan).
    """

    __slots__ = ("_decoder", "_recent", "_recent_size")

    def __init__(self, encoding: str, errors: str) -> None:
        self._decoder = codecs.getincrementaldecoder(encoding)(errors)
        self._recent: collections.deque[bytes] | None = (
            None if errors in NEVER_RAISING else collections.deque()
        )
        self._recent_size = 0

    @property
    def history_size(self) -> int | None:
        """Bytes of the stream kept for placing an error (``None``: the handler cannot raise)."""
        return None if self._recent is None else self._recent_size

    def decode(self, data: bytes) -> str:
        """Decode one read.

        Raises
        ------
        UnicodeDecodeError
            Rebuilt over the recent stream (see the module doc).
        """
        recent = self._recent
        if recent is None:
            return self._decoder.decode(data)
        if data:
            recent.append(data)
            self._recent_size += len(data)
            # Keep at least REDACTION_WINDOW bytes before this read, no more chunks than that needs.
            while len(recent) > 1 and self._recent_size - len(recent[0]) - len(data) >= REDACTION_WINDOW:
                self._recent_size -= len(recent.popleft())
        try:
            return self._decoder.decode(data)
        except UnicodeDecodeError as error:
            raise self._placed(error) from None

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
            When the stream ends inside a character and ``forgive`` is false.
        """
        try:
            return self._decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            if not forgive:
                raise self._placed(error) from None
            self._decoder.reset()
            return "\ufffd"

    def _placed(self, error: UnicodeDecodeError) -> UnicodeDecodeError:
        """``error`` over the recent stream, ending at its failing span; masked if it cannot be placed."""
        recent = b"".join(self._recent or ())
        failed_on = bytes(error.object)
        if not failed_on or not recent.endswith(failed_on):  # a handler or codec that rewrote its input
            masked = DEFAULT_MASK.encode()
            return UnicodeDecodeError(error.encoding, masked, 0, len(masked), error.reason)
        offset = len(recent) - len(failed_on)
        start, end = offset + error.start, offset + error.end
        first = max(0, start - REDACTION_WINDOW)
        return UnicodeDecodeError(error.encoding, recent[first:end], start - first, end - first, error.reason)
