"""Redacting bytes: a secret is hidden however the bytes spell it.

Redaction works on text, but captured bytes, and the bytes a decoding error
holds, may spell a secret in another encoding than the one they are read
with (``pässwörd`` written in Latin-1 under a UTF-8 run, say). So bytes are
redacted in a few views in turn: the run's codec, UTF-8, then Latin-1,
which reads every byte as one character. Masks are ASCII, so what one view
hid stays hidden in the next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable

VIEWS: Final = ("utf-8", "latin-1")
"""The codecs bytes are also read with, after the run's own."""


def redact_bytes(data: bytes, redact: Callable[[str], str], encoding: str | None = None) -> bytes:
    """``data`` with every secret ``redact`` knows hidden, in each view of the bytes.

    Raises
    ------
    LookupError, UnicodeError
        When ``encoding`` is unknown or cannot read the bytes even with
        ``surrogateescape`` (a caller then shows none of them).
    """
    for codec in dict.fromkeys((encoding, *VIEWS) if encoding else VIEWS):
        text = redact(data.decode(codec, "surrogateescape"))
        try:
            data = text.encode(codec, "surrogateescape")
        except UnicodeEncodeError:  # a mask the codec cannot spell
            data = text.encode(codec, "backslashreplace")
    return data
