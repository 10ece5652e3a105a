"""Attribute sugar under a type checker (users' guide, "Attribute sugar").

``tools/lint`` runs basedpyright (strict) over this file: ``assert_type``
fails the check unless ``sh.<name>`` is a ``CommandBuilder``. mypy agrees
(``mypy --strict``); neither needs a plugin.
"""

from __future__ import annotations

from typing import Final, assert_type

from cuprum import GREP, LS, SafeCmd, sh
from cuprum.sh import CommandBuilder

# A typed registry: one builder per program, checked names (a typo is an error).
GREP_BUILDER: Final = sh.make(GREP)


def listing() -> SafeCmd:
    """Build ``ls -l -a`` through the sugar."""
    with sh.register("ls", LS):
        assert_type(sh.ls, CommandBuilder)
        return sh.ls(l=True, a=True)


assert_type(GREP_BUILDER("-c", "x"), SafeCmd)
