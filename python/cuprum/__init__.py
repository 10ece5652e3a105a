r"""Cuprum: typed, async command execution for Python, without a shell.

>>> from cuprum import ECHO, sh
>>> sh.make(ECHO)("hello").run_sync().stdout
'hello\n'
"""

from typing import TYPE_CHECKING

from cuprum import sh
from cuprum.catalogue import (
    CAT,
    CP,
    CUT,
    DATE,
    DEFAULT_CATALOGUE,
    ECHO,
    FALSE,
    GIT,
    GREP,
    HEAD,
    LS,
    MKDIR,
    MV,
    PRINTF,
    RM,
    RSYNC,
    SEQ,
    SLEEP,
    SORT,
    TAIL,
    TAR,
    TEE,
    TR,
    TRUE,
    UNIQ,
    WC,
    YES,
    Program,
    ProgramCatalogue,
    ProjectSettings,
)
from cuprum.command import SafeCmd
from cuprum.concurrent import ConcurrentConfig, ConcurrentResult, run_concurrent, run_concurrent_sync
from cuprum.engine.live import LiveProcess
from cuprum.engine.live_streams import LiveStdin, LiveStream
from cuprum.errors import (
    CommandFailed,
    CuprumError,
    DuplicateProgramError,
    DuplicateProjectError,
    ForbiddenProgramError,
    ForgedCommandError,
    LineTooLongError,
    LiveProcessError,
    PipelineFailed,
    ProgramNotFoundError,
    ScopeLockedError,
    TimeoutExpired,
    UnknownProgramError,
)
from cuprum.events import ExecEvent, ExecOutcome, ExecPhase
from cuprum.options import ExecutionContext, RunOutputOptions
from cuprum.pipeline import Pipeline
from cuprum.redaction import Redactor
from cuprum.redirects import DEVNULL, INHERIT, PIPE, STDOUT, Append, StdinInput, Stream
from cuprum.result import CommandResult, PipelineResult
from cuprum.scope import ScopeConfig, ScopeHandle, after, allow, before, current_scope, env, observe, scoped
from cuprum.stream_backend import BackendChoice, StreamBackend, is_rust_available, resolve_stream_backend

__all__ = [
    "CAT",
    "CP",
    "CUT",
    "DATE",
    "DEFAULT_CATALOGUE",
    "DEVNULL",
    "ECHO",
    "FALSE",
    "GIT",
    "GREP",
    "HEAD",
    "INHERIT",
    "LS",
    "MKDIR",
    "MV",
    "PIPE",
    "PRINTF",
    "RM",
    "RSYNC",
    "SEQ",
    "SLEEP",
    "SORT",
    "STDOUT",
    "TAIL",
    "TAR",
    "TEE",
    "TR",
    "TRUE",
    "UNIQ",
    "WC",
    "YES",
    "Append",
    "BackendChoice",
    "CommandFailed",
    "CommandResult",
    "ConcurrentConfig",
    "ConcurrentResult",
    "CuprumError",
    "DuplicateProgramError",
    "DuplicateProjectError",
    "ExecEvent",
    "ExecOutcome",
    "ExecPhase",
    "ExecutionContext",
    "ForbiddenProgramError",
    "ForgedCommandError",
    "LineTooLongError",
    "LiveProcess",
    "LiveProcessError",
    "LiveStdin",
    "LiveStream",
    "Pipeline",
    "PipelineFailed",
    "PipelineResult",
    "Program",
    "ProgramCatalogue",
    "ProgramNotFoundError",
    "ProjectSettings",
    "Redactor",
    "RunOutputOptions",
    "SafeCmd",
    "ScopeConfig",
    "ScopeHandle",
    "ScopeLockedError",
    "StdinInput",
    "Stream",
    "StreamBackend",
    "TimeoutExpired",
    "UnknownProgramError",
    "after",
    "allow",
    "before",
    "current_scope",
    "env",
    "is_rust_available",
    "observe",
    "resolve_stream_backend",
    "run_concurrent",
    "run_concurrent_sync",
    "scoped",
    "sh",
]

__version__: str
"""The installed distribution's version (written once, in rust/Cargo.toml)."""

if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        # The version is read from the distribution's metadata on first use:
        # importing importlib.metadata would slow every `import cuprum`.
        if name == "__version__":
            from importlib import metadata  # noqa: PLC0415 (only when asked: it is slow to import)

            try:
                version = metadata.version("cuprum")
            except metadata.PackageNotFoundError:  # imported from a source tree
                version = "0+unknown"
            globals()["__version__"] = version
            return version
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
