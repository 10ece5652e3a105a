"""The descriptors of one run: what each child gets, what the parent keeps.

Every pipe is Cuprum's own (close-on-exec, never asyncio's). The child-side
ends are closed as soon as every stage has been spawned (the children hold
their copies); the parent-side ends are handed to a pump, a reader or a
writer, which close them, and ``Plumbing.close()`` closes whatever is left,
idempotently, when the run ends. Redirect targets are opened here, after the
before hooks, in the parent: a missing directory is an ``OSError`` before any
process starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import io
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Final

from cuprum.fdio import forbid_sigpipe, write_nosigpipe
from cuprum.fds import OwnedFd, owned_pipe
from cuprum.redirects import Append, StdinInput, Stream

if TYPE_CHECKING:
    from cuprum.engine.plan import Plan

_SET_PIPE_SIZE: Final[int | None] = getattr(fcntl, "F_SETPIPE_SZ", None)
"""Linux's F_SETPIPE_SZ; other platforms keep their pipes' default size."""

DEFAULT_HOP_BUFFER: Final = 1024 * 1024
"""The kernel buffer asked for each hop pipe and the captured stdout (F_SETPIPE_SZ)."""
PUMP_CHUNK: Final = 256 * 1024
"""The most a pump moves per read (or the hop buffer, if smaller): the fastest
setting measured for both backends (docs/performance.md)."""

type ChildStdio = int | None
"""What ``subprocess`` takes: a descriptor, ``DEVNULL``/``STDOUT``, or ``None`` (inherit)."""


def sized_pipe(size: int) -> tuple[OwnedFd, OwnedFd]:
    """A close-on-exec pipe whose buffer is ``size`` bytes where the kernel allows it."""
    read_end, write_end = owned_pipe()
    if _SET_PIPE_SIZE is not None:
        try:  # noqa: SIM105 (a hot path: suppress() costs a frame)
            fcntl.fcntl(write_end.fileno(), _SET_PIPE_SIZE, size)
        except OSError:
            pass  # above /proc/sys/fs/pipe-max-size for an unprivileged user: keep the default
    return read_end, write_end


def check_descriptor(fd: int, what: str) -> None:
    """Raise ``OSError(EBADF)`` naming ``what`` when ``fd`` is not open."""
    try:
        os.fstat(fd)
    except OSError as error:
        msg = f"{what}: descriptor {fd} is not open"
        raise OSError(error.errno, msg) from None


def precheck_target(target: object, what: str) -> None:
    """Check a redirect target before events and hooks (opening comes later).

    Raises
    ------
    FileNotFoundError
        When a file's directory does not exist.
    OSError
        When a descriptor is not open.
    TypeError
        When a file object has no descriptor.
    """
    if isinstance(target, Append):
        target = target.path
    if isinstance(target, int):
        check_descriptor(target, what)
    elif isinstance(target, io.IOBase):
        try:
            check_descriptor(target.fileno(), what)
        except io.UnsupportedOperation:
            msg = f"{what}: {type(target).__name__} has no file descriptor; capture the output instead"
            raise TypeError(msg) from None
    elif isinstance(target, os.PathLike):
        directory = Path(target).absolute().parent  # pyright: ignore[reportUnknownArgumentType]
        if not directory.is_dir():
            msg = f"{what}: no such directory"
            raise FileNotFoundError(errno.ENOENT, msg, str(directory))


def precheck_stdin(stdin: object) -> None:
    """Check a stdin file or descriptor before events and hooks."""
    if isinstance(stdin, StdinInput):
        if stdin.path is not None:
            path = os.fspath(stdin.path)
            if not Path(path).exists():
                msg = "stdin: no such file"
                raise FileNotFoundError(errno.ENOENT, msg, path)
        if stdin.fd is not None:
            check_descriptor(stdin.fd, "stdin")


@dataclasses.dataclass(slots=True)
class StageStdio:
    """The three descriptors one child gets."""

    stdin: ChildStdio = subprocess.DEVNULL
    stdout: ChildStdio = subprocess.DEVNULL
    stderr: ChildStdio = subprocess.DEVNULL


@dataclasses.dataclass(slots=True)
class Plumbing:
    """Every descriptor of one run."""

    stages: list[StageStdio]
    hops: list[tuple[OwnedFd, OwnedFd]] = dataclasses.field(default_factory=list)
    """Per hop, the parent's (read end of the upstream pipe, write end of the downstream pipe)."""
    stdin_writer: OwnedFd | None = None
    stdin_rest: bytes = b""
    """What did not fit in the stdin pipe before the spawn (written by a feeder)."""
    stdin_written: int = 0
    stdout_reader: OwnedFd | None = None
    stderr_readers: list[OwnedFd | None] = dataclasses.field(default_factory=list)
    child_ends: list[OwnedFd] = dataclasses.field(default_factory=list)
    owned: list[OwnedFd] = dataclasses.field(default_factory=list)

    def keep(self, fd: OwnedFd) -> OwnedFd:
        """Record a parent-side descriptor, closed at the end at the latest."""
        self.owned.append(fd)
        return fd

    def give(self, fd: OwnedFd) -> int:
        """Record a child-side descriptor, closed once every stage is spawned."""
        self.child_ends.append(fd)
        return fd.fileno()

    def close_child_ends(self) -> None:
        """The children hold their copies now; ours must go, or EOF never comes."""
        for fd in self.child_ends:
            fd.close()

    def close(self) -> None:
        """Close every descriptor still open (idempotent)."""
        self.close_child_ends()
        for fd in self.owned:
            try:  # noqa: SIM105 (a hot path: suppress() costs a frame)
                fd.close()
            except OSError:
                pass


_PARENT_STDOUT: Final = 1
"""The descriptor a child inherits as the parent's stdout."""

_SPECIAL: Final[dict[Stream, ChildStdio]] = {
    Stream.DEVNULL: subprocess.DEVNULL,
    Stream.INHERIT: None,
    Stream.STDOUT: subprocess.STDOUT,
}


def _open_target(target: object, what: str, plumbing: Plumbing) -> ChildStdio:
    if isinstance(target, Stream):
        return _SPECIAL[target]
    if isinstance(target, int):
        check_descriptor(target, what)
        return target
    if isinstance(target, io.IOBase):
        target.flush()
        return target.fileno()
    append = isinstance(target, Append)
    where: os.PathLike[str] = target.path if isinstance(target, Append) else target  # pyright: ignore[reportAssignmentType]
    path = os.fspath(where)
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_APPEND if append else os.O_TRUNC)
    return plumbing.give(OwnedFd(_open_without_blocking(path, flags, what)))


def _open_without_blocking(path: str, flags: int, what: str) -> int:
    """``os.open`` that cannot block the event loop (a FIFO without a peer opens or fails at once)."""
    try:
        fd = os.open(path, flags | os.O_NONBLOCK, 0o666)
    except OSError as error:
        reason = "a FIFO with no reader" if error.errno == errno.ENXIO else error.strerror
        msg = f"{what}: {reason}"
        raise type(error)(error.errno, msg, path) from None
    os.set_blocking(fd, True)  # the child gets an ordinary, blocking descriptor
    return fd


def _stdin(plan: Plan, plumbing: Plumbing) -> ChildStdio:
    source = plan.request.stdin
    if source is None:
        return subprocess.DEVNULL
    if source is Stream.PIPE:
        read_end, write_end = owned_pipe()
        plumbing.stdin_writer = plumbing.keep(write_end)
        return plumbing.give(read_end)
    if isinstance(source, Stream):
        return _SPECIAL[source]
    if source.fd is not None:
        check_descriptor(source.fd, "stdin")
        return source.fd
    if source.path is not None:
        return _open_stdin_file(os.fspath(source.path), plumbing)
    return _stdin_pipe(plan, plumbing)


def _open_stdin_file(path: str, plumbing: Plumbing) -> int:
    return plumbing.give(OwnedFd(_open_without_blocking(path, os.O_RDONLY | os.O_CLOEXEC, "stdin")))


def _stdin_pipe(plan: Plan, plumbing: Plumbing) -> int:
    read_end, write_end = owned_pipe()
    plumbing.keep(write_end)
    forbid_sigpipe(write_end.fileno())
    data = plan.stdin_data
    if data is not None:
        # Whatever fits in the empty pipe is written now, before the child
        # exists (it cannot have closed its end yet); a feeder writes the rest.
        os.set_blocking(write_end.fileno(), False)
        written = 0
        with contextlib.suppress(BlockingIOError):
            while written < len(data):
                written += write_nosigpipe(write_end.fileno(), memoryview(data)[written:])
        plumbing.stdin_written = written
        plumbing.stdin_rest = data[written:]
        if not plumbing.stdin_rest:
            write_end.close()
            return plumbing.give(read_end)
    plumbing.stdin_writer = write_end
    return plumbing.give(read_end)


def build(plan: Plan) -> Plumbing:
    """Open every descriptor of ``plan``; on failure close what was opened and re-raise."""
    count = len(plan.stages)
    plumbing = Plumbing(stages=[StageStdio() for _ in range(count)], stderr_readers=[None] * count)
    try:
        size = plan.hop_buffer_size
        plumbing.stages[0].stdin = _stdin(plan, plumbing)
        for index in range(count - 1):
            upstream_read, upstream_write = sized_pipe(size)
            plumbing.keep(upstream_read)  # recorded at once: the next pipe may fail (EMFILE)
            plumbing.stages[index].stdout = plumbing.give(upstream_write)
            downstream_read, downstream_write = sized_pipe(size)
            plumbing.keep(downstream_write)
            plumbing.stages[index + 1].stdin = plumbing.give(downstream_read)
            plumbing.hops.append((upstream_read, downstream_write))
        output = plan.request.output
        last = plumbing.stages[-1]
        if output.stdout is not None:
            last.stdout = _open_target(output.stdout, "stdout", plumbing)
        elif plan.reads_stdout:
            read_end, write_end = sized_pipe(size)
            plumbing.stdout_reader = plumbing.keep(read_end)
            last.stdout = plumbing.give(write_end)
        # One opening shared by every stage, as a shell's `2> file` on a group.
        shared = None if output.stderr is None else _open_target(output.stderr, "stderr", plumbing)
        if shared is subprocess.STDOUT and count > 1:
            # `{ a | b; } 2>&1`: every stage's errors join the *pipeline's*
            # stdout, never the next stage's input.
            shared = last.stdout if last.stdout is not None else _PARENT_STDOUT
        for index, stage in enumerate(plumbing.stages):
            if output.stderr is not None:
                stage.stderr = shared
            elif plan.reads_stderr:
                read_end, write_end = owned_pipe()
                plumbing.stderr_readers[index] = plumbing.keep(read_end)
                stage.stderr = plumbing.give(write_end)
    except BaseException:
        plumbing.close()
        raise
    return plumbing
