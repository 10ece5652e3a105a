"""Safe builders for git, rsync and tar: typed values in, ``SafeCmd`` out.

Each builder takes validated values (``SafePath``, ``GitRef``) and keyword
flags, and returns a ``SafeCmd`` built through ``sh.make`` with the
catalogue you pass (``DEFAULT_CATALOGUE`` by default). No value a caller
supplies can be read as an option or reach a shell, and no builder exposes
an option that runs another program.

>>> from cuprum.builders import GitRef, SafePath, git
>>> git.rev_parse(SafePath("/srv/app"), GitRef("main")).argv
('git', '-C', '/srv/app', 'rev-parse', '--verify', '--end-of-options', 'main')
"""

from cuprum.builders import git, rsync, tar
from cuprum.builders.tar import Compression
from cuprum.builders.validators import (
    GitRef,
    InvalidPathError,
    InvalidRefError,
    PathRule,
    RefRule,
    SafePath,
)

__all__ = [
    "Compression",
    "GitRef",
    "InvalidPathError",
    "InvalidRefError",
    "PathRule",
    "RefRule",
    "SafePath",
    "git",
    "rsync",
    "tar",
]
