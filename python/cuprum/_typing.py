"""Type variables shared by the public generics.

``OutT`` is what captured output decodes to: ``str`` (the default) or
``bytes`` (``RunOutputOptions(text=False)``). Its default needs PEP 696,
which the ``typing`` module has only from Python 3.13, so type checkers
read it from ``typing_extensions`` while Python 3.12 gets a plain one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import TypeVar

    OutT = TypeVar("OutT", str, bytes, default=str)
else:
    from typing import TypeVar

    OutT = TypeVar("OutT", str, bytes)

__all__ = ["OutT"]
