"""Timeouts and cancellation take the whole process tree down.

Run it with ``tools/bazel run //examples:timeouts``. A shell starts a
grandchild (``sleep 100 &``) and waits; Cuprum's timeout terminates the
process *group*, so the grandchild dies too, and the output written before
the kill is kept. Then the same for a cancelled task.

This example needs ``sh``, which the default catalogue leaves out (a shell
can run anything), so it defines its own catalogue.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path

from cuprum import (
    DEFAULT_CATALOGUE,
    ExecEvent,
    ExecPhase,
    Program,
    ProgramCatalogue,
    ProjectSettings,
    TimeoutExpired,
    observe,
    sh,
)

CATALOGUE = ProgramCatalogue(
    projects=(*DEFAULT_CATALOGUE.projects, ProjectSettings(name="demo-shell", programs=(Program("sh"),)))
)
TREE = "echo started; sleep 100 & echo grandchild $!; wait"


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live (non-zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def gone_within(pid: int, seconds: float) -> bool:
    """Whether ``pid`` dies within ``seconds``.

    A signalled process dies when the kernel next schedules it, so on a busy
    machine the grandchild may outlive ``kill()`` by a moment.
    """
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def grandchild_of(output: str | bytes | None) -> int:
    """The grandchild's pid, as the shell printed it."""
    text = output.decode() if isinstance(output, bytes) else output or ""
    for line in text.splitlines():
        if line.startswith("grandchild "):
            return int(line.split()[1])
    msg = "the shell did not report its grandchild"
    raise RuntimeError(msg)


def show_timeout() -> None:
    """A 0.5 s timeout on a shell whose grandchild would sleep 100 s."""
    shell = sh.make("sh", catalogue=CATALOGUE)
    started = time.monotonic()
    try:
        shell("-c", TREE).run_sync(timeout=0.5)
    except TimeoutExpired as expired:
        elapsed = time.monotonic() - started
        pid = grandchild_of(expired.stdout)
        print(f"timed out after {elapsed:.2f} s (timeout {expired.timeout} s)")
        print(f"output before the kill: {expired.stdout!r}")
        print(f"grandchild {pid} still alive: {not gone_within(pid, 2.0)}")


async def show_cancellation() -> None:
    """Cancel the awaiting task; the group is terminated and reaped first."""
    leaders: list[int] = []

    def remember(event: ExecEvent) -> None:
        if event.phase is ExecPhase.START and event.pid is not None:
            leaders.append(event.pid)

    shell = sh.make("sh", catalogue=CATALOGUE)
    with observe(remember):
        task = asyncio.create_task(shell("-c", "sleep 100 & sleep 100 & wait").run())
        await asyncio.sleep(0.3)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    group = leaders[0]
    print(f"cancelled; processes left in group {group}: {len(members_of(group))}")


def members_of(group: int) -> list[int]:
    """The live processes of process group ``group``."""
    pids = (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return [pid for pid in pids if _pgid(pid) == group]


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid) if alive(pid) else None
    except OSError:
        return None


if __name__ == "__main__":
    show_timeout()
    asyncio.run(show_cancellation())
