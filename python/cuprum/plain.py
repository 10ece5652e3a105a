"""Exact ``str`` copies of caller-supplied text.

A ``str`` subclass can override ``__eq__``, ``__hash__``, ``replace``,
``partition`` and the rest, so that what Cuprum checks, shows or redacts
differs from what a child receives. Text that becomes part of a command,
an environment, a working directory or an event is copied to a plain
``str`` where it enters Cuprum.
"""

from __future__ import annotations


def plain_str(text: str) -> str:
    """``text`` as an exact ``str`` (itself when it already is one)."""
    return text if type(text) is str else str.__str__(text)
