"""The same work done by Cuprum's peers, for side-by-side ratios.

``plumbum``, ``sh`` and ``sarge`` are pinned from PyPI
(``third_party/python/requirements.txt``). Each function does exactly what
the benchmark's baseline does, the way a user of that library would write it;
a peer that cannot do a case has no function for it (the benchmark says so).
"""

from __future__ import annotations

import importlib

# Imported by name: the peers ship no type information, and `sh` here is the
# PyPI library, not cuprum.sh.
plumbum = importlib.import_module("plumbum")
sarge = importlib.import_module("sarge")
sh_library = importlib.import_module("sh")


def plumbum_true() -> None:
    """``true`` with plumbum."""
    plumbum.local["true"]()


def sh_true() -> None:
    """``true`` with sh."""
    sh_library.Command("true")()


def sarge_true() -> None:
    """``true`` with sarge."""
    sarge.run(["true"])


def plumbum_capture(argv: list[str]) -> str:
    """Capture ``argv``'s stdout as text with plumbum."""
    return str(plumbum.local[argv[0]][argv[1:]]())


def sh_capture(argv: list[str]) -> str:
    """Capture ``argv``'s stdout as text with sh."""
    return str(sh_library.Command(argv[0])(*argv[1:]))


def sarge_capture(argv: list[str]) -> str:
    """Capture ``argv``'s stdout as text with sarge."""
    return str(sarge.get_stdout(argv))


def plumbum_pipeline(size: int) -> str:
    """``head -c size /dev/zero | cat | wc -c`` with plumbum."""
    local = plumbum.local
    return str((local["head"]["-c", str(size), "/dev/zero"] | local["cat"] | local["wc"]["-c"])())


def sh_pipeline(size: int) -> str:
    """The same pipeline with sh (stages started in the background, ``_piped`` into ``_in``)."""
    command = sh_library.Command
    head = command("head")("-c", str(size), "/dev/zero", _piped=True, _bg=True)
    cat = command("cat")(_in=head, _piped=True, _bg=True)
    return str(command("wc")("-c", _in=cat))


def sarge_pipeline(size: int) -> str:
    """The same pipeline with sarge (it parses the line itself; no shell runs)."""
    capture = sarge.Capture()
    sarge.run(f"head -c {size} /dev/zero | cat | wc -c", stdout=capture)
    return str(capture.text)
