"""One child process: spawned in its own group, watched, signalled, reaped.

* **Spawn is synchronous.** ``spawn`` forks and execs before it returns,
  with no ``await`` in between, so a cancellation can never land between a
  process starting and Cuprum knowing its pid: there is no window in which
  a group could be orphaned.
* **Exit is watched without reaping.** On Linux a pidfd is watched by the
  event loop and the status is read with ``waitid(WNOWAIT)``: the leader
  stays a zombie, so its pid, which is its group's id, cannot be reused
  while Cuprum may still signal the group. Only ``reap()`` releases it.
  (Elsewhere a thread waits, with the same ``WNOWAIT``.)
* **Signals go to the whole group**, also after the leader has exited.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable, Mapping, Sequence

_HAS_PIDFD: Final = hasattr(os, "pidfd_open") and hasattr(os, "P_PIDFD")
_NOT_REAPED: Final = os.WEXITED | os.WNOWAIT


def _status(result: os.waitid_result) -> int:
    """A ``subprocess``-style return code: the status, or minus the signal."""
    if result.si_code == os.CLD_EXITED:
        return result.si_status
    return -result.si_status


class Child:
    """A running (or exited, not yet reaped) process that leads its own group.

    Attributes
    ----------
    pid
        The process id, also the group id.
    returncode
        ``None`` while it runs; the status once it has exited (negative for
        a signal).
    """

    __slots__ = ("_loop", "_on_exit", "_pidfd", "_popen", "_reaped", "pid", "returncode")

    def __init__(self, popen: subprocess.Popen[bytes], loop: asyncio.AbstractEventLoop) -> None:
        self._popen = popen
        self._loop = loop
        self.pid = popen.pid
        self.returncode: int | None = None
        self._reaped = False
        self._pidfd = -1
        self._on_exit: Callable[[Child], object] | None = None

    def watch(self, on_exit: Callable[[Child], object]) -> None:
        """Call ``on_exit(self)`` on the loop once the process has exited (not reaped)."""
        self._on_exit = on_exit
        if _HAS_PIDFD:
            try:
                self._pidfd = os.pidfd_open(self.pid)
            except OSError:
                self._pidfd = -1
            else:
                self._loop.add_reader(self._pidfd, self._check)
                self._check()
                return
        threading.Thread(target=self._wait_in_thread, name=f"cuprum-wait-{self.pid}", daemon=True).start()

    def _check(self) -> None:
        if self.returncode is not None:
            return
        try:
            result = os.waitid(os.P_PIDFD, self._pidfd, _NOT_REAPED | os.WNOHANG)
        except ChildProcessError:
            result = None
            self._exited(0)  # reaped by someone else: the status is lost, as in subprocess
            return
        if result is not None:
            self._exited(_status(result))

    def _wait_in_thread(self) -> None:
        try:
            result = os.waitid(os.P_PID, self.pid, _NOT_REAPED)
        except ChildProcessError:
            result = None
        status = 0 if result is None else _status(result)
        with contextlib.suppress(RuntimeError):  # the loop was closed meanwhile
            self._loop.call_soon_threadsafe(self._exited, status)

    def _exited(self, status: int) -> None:
        if self.returncode is not None:
            return
        self.returncode = status
        self._unwatch()
        if self._on_exit is not None:
            self._on_exit(self)

    def _unwatch(self) -> None:
        if self._pidfd >= 0:
            if not self._loop.is_closed():
                self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = -1

    def signal_group(self, signum: int) -> None:
        """Send ``signum`` to the process's group; a group already empty is fine."""
        if self._reaped:
            return  # its id may belong to someone else now
        try:  # noqa: SIM105 (a hot path: suppress() costs a frame)
            os.killpg(self.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def reap(self) -> None:
        """Release the zombie (idempotent); only once the group needs no more signals."""
        if self._reaped:
            return
        try:
            _, raw = os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        else:
            if self.returncode is None:  # only on teardown paths, after SIGKILL
                self.returncode = os.waitstatus_to_exitcode(raw)
        self._reaped = True
        self._unwatch()
        # Popen keeps no bookkeeping for a child whose return code it knows.
        self._popen.returncode = self.returncode

    def __del__(self) -> None:
        """An abandoned run (its loop closed under it): kill the group and reap, leaving no zombie."""
        if self._reaped:
            return
        self._reaped = True
        try:  # noqa: SIM105 (a finaliser: as little machinery as possible)
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass
        try:  # noqa: SIM105
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        if self._pidfd >= 0:
            os.close(self._pidfd)
            self._pidfd = -1
        self._popen.returncode = self.returncode if self.returncode is not None else -signal.SIGKILL


def spawn(
    executable: str,
    argv: Sequence[str],
    stdio: tuple[int | None, int | None, int | None],
    *,
    env: Mapping[str, str] | None,
    cwd: str | None,
    pass_fds: Sequence[int],
    loop: asyncio.AbstractEventLoop,
) -> Child:
    """Start ``executable`` with ``argv`` as the leader of a new process group.

    ``stdio`` is (stdin, stdout, stderr), each a descriptor (or
    ``subprocess.DEVNULL`` / ``subprocess.STDOUT``, or ``None`` to inherit). Every other descriptor
    is closed in the child but ``pass_fds``. Signal dispositions are reset
    as ``subprocess`` does (SIGPIPE is default again in the child).

    Raises
    ------
    OSError
        When the program or the working directory cannot be used.
    """
    stdin, stdout, stderr = stdio
    popen = subprocess.Popen(
        list(argv),
        executable=executable,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        env=env,
        cwd=cwd,
        process_group=0,
        close_fds=True,
        pass_fds=tuple(pass_fds),
    )
    return Child(popen, loop)


def kill_now(children: Sequence[Child]) -> None:
    """SIGKILL every group at once (for a spawn that failed half-way)."""
    for child in children:
        child.signal_group(signal.SIGKILL)
