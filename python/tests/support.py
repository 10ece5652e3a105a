"""Helpers shared by the unit tests: a test catalogue, child programs, leak checks."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from cuprum import DEFAULT_CATALOGUE, Program, ProgramCatalogue, ProjectSettings, SafeCmd, sh
from cuprum.engine.sync import run_sync

if TYPE_CHECKING:
    from collections.abc import Generator

SH = Program("sh")
PYTHON = Program(sys.executable)

TEST_CATALOGUE = ProgramCatalogue(
    projects=(
        *DEFAULT_CATALOGUE.projects,
        ProjectSettings(name="test-tools", programs=(SH, PYTHON)),
    ),
)
"""The default catalogue plus ``sh`` and this interpreter, for test children."""


def shell(script: str) -> SafeCmd:
    """``sh -c script``: for tests only (Cuprum itself never uses a shell)."""
    return sh.make(SH, catalogue=TEST_CATALOGUE)("-c", script)


def py(code: str, *args: str) -> SafeCmd:
    """Run ``code`` in a child Python (payloads are generated in the child)."""
    return sh.make(PYTHON, catalogue=TEST_CATALOGUE)("-c", code, *args)


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` still exists (zombies excluded)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # killpg succeeds on zombies too: look for a live member.
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def wait_until(condition: object, timeout: float = 10.0) -> bool:
    """Poll ``condition()`` until true or ``timeout`` s pass; return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():  # pyright: ignore[reportCallIssue, reportOptionalCall]
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)


def patient(timeout: float) -> tuple[float, ...]:
    """``timeout``, then 4 and 16 times as long: for a timeout that must fire after a child got somewhere.

    A loaded machine can start a child late, so that a short timeout fires
    before it printed its pid, set its trap or wrote its output. Such a test
    runs once per timeout here, stopping at the first run whose child was
    ready in time, and asserts on that run (or on the last, whatever it saw).
    """
    return (timeout, timeout * 4, timeout * 16)


def written_pids(path: Path) -> list[int]:
    """The pids a child has written to ``path``, one per line, counting only whole lines.

    A shell creates a redirect's target before ``echo`` writes to it, so a file
    can exist while still empty: wait on this, never on ``path.exists``.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return [int(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]


def open_fds() -> set[int]:
    """This process's open file descriptors."""
    return {int(fd.name) for fd in Path("/proc/self/fd").iterdir()}


def warm_run_sync() -> None:
    """Create this thread's ``run_sync`` loop (kept for the thread's life, by design)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        run_sync(lambda: asyncio.sleep(0), "warm-up")


@contextlib.contextmanager
def no_fd_leak() -> Generator[None]:
    """Assert that the block leaves no descriptor open that it did not find.

    The thread's ``run_sync`` loop is created first: its descriptors live as
    long as the thread, by design, and are not a leak.
    """
    warm_run_sync()
    before = open_fds()
    yield
    # Closing may be scheduled on the loop just before it finishes; give the
    # kernel a moment, then compare.
    leaked: set[int] = set()
    for _ in range(100):
        leaked = open_fds() - before
        if not leaked:
            return
        time.sleep(0.01)
    details = {fd: _describe_fd(fd) for fd in leaked}
    msg = f"file descriptors leaked: {details}"
    raise AssertionError(msg)


def _describe_fd(fd: int) -> str:
    try:
        return str(Path(f"/proc/self/fd/{fd}").readlink())
    except OSError:
        return "?"


def kill_group_quietly(pgid: int) -> None:
    """Clean-up for a failing test: make sure a group is gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
