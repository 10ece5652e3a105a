"""Start a child in its own process group, and tear the group down.

Termination is a policy: SIGTERM to the whole group, up to ``grace``
seconds for the leader to exit, then SIGKILL to the group (which also
reaches grandchildren that ignored SIGTERM). The leader is always reaped
before control returns, and that wait is shielded from cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Coroutine, Mapping, Sequence

    from cuprum.options import ExecutionContext

type Stdio = int | None
"""A ``subprocess`` stdio value: PIPE, DEVNULL or a file descriptor."""


async def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None,
    context: ExecutionContext,
    stdin: Stdio,
    stdout: Stdio,
    stderr: Stdio,
) -> asyncio.subprocess.Process:
    """Start ``argv`` as the leader of a new process group (no shell).

    Raises
    ------
    FileNotFoundError, PermissionError, NotADirectoryError
        When the program or the working directory cannot be used.
    """
    return await asyncio.create_subprocess_exec(
        *argv,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        env=env,
        cwd=context.cwd,
        process_group=0,
        close_fds=True,
    )


def signal_group(process: asyncio.subprocess.Process, signum: int) -> None:
    """Send ``signum`` to the process's group; a group already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


async def terminate_group(process: asyncio.subprocess.Process, grace: float) -> None:
    """SIGTERM the group, wait up to ``grace`` s, SIGKILL the group, reap the leader.

    Safe to call on a process that has already exited. A cancellation that
    arrives meanwhile is held back until the leader is reaped, then re-raised.
    """
    await run_to_completion(_terminate_group(process, grace))


async def run_to_completion[T](awaitable: Coroutine[object, object, T]) -> T:
    """Await ``awaitable`` to the end even if the caller is cancelled meanwhile.

    The cancellation is re-raised once it has finished, so cleanup such as
    reaping a child can never be cut short.
    """
    task = asyncio.ensure_future(awaitable)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                raise
            cancelled = True
        else:
            break
    if cancelled:
        raise asyncio.CancelledError
    return result


async def _terminate_group(process: asyncio.subprocess.Process, grace: float) -> None:
    if process.returncode is None:
        signal_group(process, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), timeout=grace)
    # Stragglers (grandchildren that ignored SIGTERM or outlived the leader)
    # share the group: the group id stays reserved while any of them lives.
    signal_group(process, signal.SIGKILL)
    await process.wait()


def exit_code(process: asyncio.subprocess.Process) -> int:
    """The reaped process's exit status (negative for a signal)."""
    code = process.returncode
    if code is None:  # pragma: no cover - callers reap first
        msg = "process has not been reaped"
        raise RuntimeError(msg)
    return code
