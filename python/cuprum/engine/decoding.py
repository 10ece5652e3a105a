"""Decode a stream as it arrives; a decoding error is placed in the stream, not in one read.

An incremental decoder reports an error against the read it failed on, so
the bytes it carries (which a ``repr`` shows) and its position depend on
where the pipe happened to cut the stream, and a secret cut by a read's
start or end is seen only in part, which no redactor recognises.
``StreamDecoder`` keeps the last ``REDACTION_WINDOW`` bytes read (chunks
kept, not copied, and only when the error handler can raise). After an
error it decodes nothing more and waits for ``REDACTION_WINDOW`` bytes past
the failing span, or the end of the stream, then raises the error rebuilt
over that window on both sides. So the same output gives the same error
whatever the reads, and ``collect.sanitized`` has whole windows to redact
before it cuts. Without observers the capture is decoded whole at the end:
the error is the same, raised at the same point or earlier.
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

    __slots__ = ("_decoder", "_failure", "_recent", "_recent_size")

    def __init__(self, encoding: str, errors: str) -> None:
        self._decoder = codecs.getincrementaldecoder(encoding)(errors)
        self._recent: collections.deque[bytes] | None = (
            None if errors in NEVER_RAISING else collections.deque()
        )
        self._recent_size = 0
        self._failure: _Failure | None = None

    @property
    def history_size(self) -> int | None:
        """Bytes of the stream kept for placing an error (``None``: the handler cannot raise)."""
        return None if self._recent is None else self._recent_size

    def decode(self, data: bytes) -> str:
        """Decode one read (nothing more once an error was met).

        Raises
        ------
        UnicodeDecodeError
            Rebuilt over the stream (see the module doc), once the window
            after the failing span has arrived.
        """
        recent = self._recent
        if recent is None:
            return self._decoder.decode(data)
        if data:
            recent.append(data)
            self._recent_size += len(data)
        if self._failure is not None:
            self._raise_when_complete()
            return ""
        # Keep at least REDACTION_WINDOW bytes before this read, no more chunks than that needs.
        while len(recent) > 1 and self._recent_size - len(recent[0]) - len(data) >= REDACTION_WINDOW:
            self._recent_size -= len(recent.popleft())
        try:
            return self._decoder.decode(data)
        except UnicodeDecodeError as error:
            self._failure = self._place(error)
        self._raise_when_complete()
        return ""

    def finish(self, *, forgive: bool) -> str:
        """Flush the decoder at the end of the stream.

        Parameters
        ----------
        forgive
            Whether a character cut at the end becomes U+FFFD (a killed
            process, a live stream) rather than an error. An error met
            earlier in the stream is raised either way.

        Raises
        ------
        UnicodeDecodeError
            An error met earlier, or one at the end when not forgiven.
        """
        if self._failure is not None:
            raise self._failure.error(self._stream())
        try:
            return self._decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            if not forgive:
                raise self._place(error).error(self._stream()) from None
            self._decoder.reset()
            return "\ufffd"

    def _stream(self) -> bytes:
        return b"".join(self._recent or ())

    def _place(self, error: UnicodeDecodeError) -> _Failure:
        """Where ``error`` lies in the kept stream (its object must end the stream so far)."""
        failed_on = bytes(error.object) if isinstance(error.object, bytes | bytearray) else b""
        if not 0 <= error.start < error.end <= len(failed_on) or not self._stream().endswith(failed_on):
            return _Failure(error, None)  # a handler or codec that rewrote its input: masked
        offset = self._recent_size - len(failed_on)
        return _Failure(error, (offset + error.start, offset + error.end))

    def _raise_when_complete(self) -> None:
        failure = self._failure
        if failure is None:
            return
        if failure.span is None or self._recent_size - failure.span[1] >= REDACTION_WINDOW:
            raise failure.error(self._stream())


class _Failure:
    """A decoding error met in the stream: its span there, or ``None`` when it cannot be placed."""

    __slots__ = ("original", "span")

    def __init__(self, original: UnicodeDecodeError, span: tuple[int, int] | None) -> None:
        self.original = original
        self.span = span

    def error(self, stream: bytes) -> UnicodeDecodeError:
        """The error over up to ``REDACTION_WINDOW`` bytes of ``stream`` on each side of its span."""
        original = self.original
        if self.span is None:
            masked = DEFAULT_MASK.encode()
            return UnicodeDecodeError(original.encoding, masked, 0, len(masked), original.reason)
        start, end = self.span
        first = max(0, start - REDACTION_WINDOW)
        window = stream[first : end + REDACTION_WINDOW]
        return UnicodeDecodeError(original.encoding, window, start - first, end - first, original.reason)
