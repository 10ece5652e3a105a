"""Argument checks both pumps share, so both backends refuse the same inputs alike."""

from __future__ import annotations

from typing import Final

MAX_BUFFER_SIZE: Final = 64 * 1024 * 1024
"""Largest ``buffer_size`` a hop accepts (the Rust crate's bound too)."""


def check_buffer_size(buffer_size: object) -> int:
    """Return ``buffer_size`` if it is an ``int`` in ``1..=MAX_BUFFER_SIZE``.

    Raises
    ------
    TypeError
        When it is not an ``int`` (``bool`` included).
    ValueError
        When it is out of range.
    """
    if not isinstance(buffer_size, int) or isinstance(buffer_size, bool):
        msg = f"buffer_size must be an int, not {type(buffer_size).__name__}"
        raise TypeError(msg)
    if not 1 <= buffer_size <= MAX_BUFFER_SIZE:
        msg = f"buffer_size must be between 1 and {MAX_BUFFER_SIZE}, not {buffer_size}"
        raise ValueError(msg)
    return buffer_size
