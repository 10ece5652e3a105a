"""Everything decided before a run starts, and every check that can fail early.

``prepare`` runs before any event is emitted, any hook runs or any process
starts, in this order:

1. every command is one a builder issued (``ForgedCommandError``);
2. the scope's allowlist admits every program (``ForbiddenProgramError``),
   and each program still belongs to the project its command was built from;
3. the stream backend, the timeout and the environment are resolved;
4. redirect targets and the stdin source are checked, and stdin text is
   encoded (with the context's error handler);
5. every program is resolved to an absolute executable on this process's
   ``PATH`` and the working directory is checked. These two can fail only
   because of the system's state, like an ``exec`` failure: such a failure
   is recorded (``Plan.start_error``) and reported, as a failed ``exit``
   event after the ``plan`` events, before it is raised.
"""

from __future__ import annotations

import dataclasses
import errno
import math
import os
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from cuprum.command import SafeCmd, spec_of
from cuprum.engine.collect import sanitized
from cuprum.engine.resolve import resolve_executable
from cuprum.engine.stdio import DEFAULT_HOP_BUFFER, check_descriptor, precheck_stdin, precheck_target
from cuprum.environment import build_environment
from cuprum.errors import ForbiddenProgramError
from cuprum.events import ExecEvent, ExecPhase
from cuprum.observer import DeliveryBudget, EventSource, new_exec_id
from cuprum.options import resolve_timeout
from cuprum.pipeline import Pipeline
from cuprum.plain import plain_str
from cuprum.redaction import hides_only_urls_in_text
from cuprum.redirects import StdinInput
from cuprum.scope import current_scope
from cuprum.stream_backend import resolve_stream_backend

if TYPE_CHECKING:
    from typing import TextIO

    from cuprum.command import CommandSpec
    from cuprum.events import Tags
    from cuprum.redaction import Argvs, Overlays, Redactor
    from cuprum.request import RunRequest
    from cuprum.scope import ScopeState
    from cuprum.stream_backend import StreamBackend


@dataclasses.dataclass(frozen=True, slots=True)
class StagePlan:
    """One process of the run."""

    index: int
    cmd: SafeCmd
    spec: CommandSpec
    executable: str
    events: EventSource
    shown: str
    """The command line as the scope's redactors render it."""


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """A checked, resolved run, ready to start."""

    stages: tuple[StagePlan, ...]
    is_pipeline: bool
    request: RunRequest
    scope: ScopeState
    backend: StreamBackend
    timeout: float | None
    deadline: float | None
    """When the run times out (``time.monotonic()`` seconds): counted from ``run()`` or
    ``start()``, so slow observers and before hooks count against the timeout."""
    env: dict[str, str] | None
    cwd: str | None
    text: bool
    encoding: str
    errors: str
    capture: bool
    """Whether the last stage's stdout is captured."""
    capture_stderr: bool
    """Whether the stages' stderr is captured."""
    echo: bool
    stdout_sink: TextIO
    stderr_sink: TextIO
    stdin_data: bytes | None
    hop_buffer_size: int
    fail_fast: bool
    zero_copy: bool
    budget: DeliveryBudget
    exec_id: str
    start_error: tuple[int, OSError] | None = None
    """A stage that cannot start (its program is not on PATH, the directory is missing):
    reported as that stage's ``exit`` event after the ``plan`` events, then raised."""

    def remaining(self) -> float:
        """Seconds left before the deadline (``inf`` without one; never below zero)."""
        return math.inf if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    @property
    def shown(self) -> str:
        """The whole command line, redacted, for messages."""
        return " | ".join(stage.shown for stage in self.stages)

    @property
    def observed(self) -> bool:
        """Whether anyone observes the run's events."""
        return self.scope.observed

    @property
    def reads_stdout(self) -> bool:
        """Whether the parent reads the last stage's stdout (capture, echo, lines, live)."""
        return self.capture or self.echo or self.observed or self.request.live

    @property
    def reads_stderr(self) -> bool:
        """Whether the parent reads the stages' stderr."""
        return self.capture_stderr or self.echo or self.observed


def _check_allowed(scope: ScopeState, spec: CommandSpec) -> None:
    if not scope.is_allowed(spec.program):
        raise ForbiddenProgramError(
            spec.program, scope.allowlist or frozenset(), spec.project.documentation_locations
        )
    if spec.catalogue.lookup(spec.program) is not spec.project:  # pragma: no cover - specs are immutable
        raise ForbiddenProgramError(spec.program, frozenset(), spec.project.documentation_locations)


def check_runnable(runnable: SafeCmd | Pipeline) -> None:
    """The first two checks of ``prepare`` alone (for a batch, before anything starts).

    Commands passed as arguments (process substitutions) are checked too,
    however deep.
    """
    scope = current_scope()
    for cmd in (runnable,) if isinstance(runnable, SafeCmd) else runnable.stages:
        spec = spec_of(cmd)
        _check_allowed(scope, spec)
        for substitution in spec.substitutions:
            check_runnable(substitution.source)


def prepare(runnable: SafeCmd | Pipeline, request: RunRequest) -> Plan:
    """Check and resolve everything about a run (see the module doc)."""
    began = time.monotonic()
    scope = current_scope()
    cmds = (runnable,) if isinstance(runnable, SafeCmd) else runnable.stages
    specs = tuple(spec_of(cmd) for cmd in cmds)
    for spec in specs:
        _check_allowed(scope, spec)
        for substitution in spec.substitutions:
            check_runnable(substitution.source)
    backend = resolve_stream_backend()
    context = request.context
    output = request.output
    timeout = resolve_timeout(request.timeout, context, scope.timeout)
    env = build_environment(scope.env_overlays, context.env)
    overlays = (*scope.env_overlays, context.env) if context.env else scope.env_overlays
    cwd = None if context.cwd is None else plain_str(os.fspath(context.cwd))
    start_error: tuple[int, OSError] | None = None
    executables: list[str] = []
    for index, spec in enumerate(specs):
        try:
            executables.append(resolve_executable(spec.program))
        except OSError as error:
            executables.append("")
            start_error = start_error or (index, error)
    argvs = tuple(spec.argv for spec in specs) + _substituted_argvs(specs)
    if start_error is None and cwd is not None and not Path(cwd).is_dir():
        shown_cwd = _redact_all(scope.redactors, cwd, argvs, overlays)
        if Path(cwd).exists():
            error = NotADirectoryError(errno.ENOTDIR, "the working directory is not a directory", shown_cwd)
        else:
            error = FileNotFoundError(errno.ENOENT, "the working directory does not exist", shown_cwd)
        start_error = (0, error)
    for target, what in ((output.stdout, "stdout"), (output.stderr, "stderr")):
        if target is not None:
            precheck_target(target, what)
    precheck_stdin(request.stdin)
    for fd in context.pass_fds:
        check_descriptor(fd, "ExecutionContext.pass_fds")
    encoding = output.encoding or context.encoding
    errors = output.errors or context.errors
    stdin_data = _stdin_bytes(request, scope, argvs, overlays)
    echo = scope.echo if output.echo is None else output.echo
    capture = output.capture and output.stdout is None
    observed = scope.observed
    env_names = tuple(sorted({name for overlay in overlays for name in overlay})) if observed else ()
    deadline = None if timeout is None else began + timeout
    budget = DeliveryBudget(max(context.cancel_grace, 0.1) + 1.0, deadline)
    exec_id = new_exec_id()
    is_pipeline = isinstance(runnable, Pipeline)
    stages = tuple(
        StagePlan(
            index=index,
            cmd=cmd,
            spec=spec,
            executable=executable,
            events=EventSource(
                scope,
                _fields(
                    spec, exec_id, cwd, context.tags, index if is_pipeline else None, executable
                )._replace(capture=capture, echo=echo, env_names=env_names)
                if observed
                else spec.argv,
                argvs=argvs,
                budget=budget,
                env=overlays,
                noise_rules=spec.project.noise_rules,
            ),
            shown=_shown(scope, spec.argv, argvs, overlays),
        )
        for index, (cmd, spec, executable) in enumerate(zip(cmds, specs, executables, strict=True))
    )
    policy = runnable if isinstance(runnable, Pipeline) else None
    return Plan(
        stages=stages,
        is_pipeline=is_pipeline,
        request=request,
        scope=scope,
        backend=backend,
        timeout=timeout,
        deadline=deadline,
        env=env,
        cwd=cwd,
        text=output.text,
        encoding=encoding,
        errors=errors,
        capture=capture,
        capture_stderr=output.capture and output.stderr is None,
        echo=echo,
        stdout_sink=context.stdout_sink or sys.stdout,
        stderr_sink=context.stderr_sink or sys.stderr,
        stdin_data=stdin_data,
        hop_buffer_size=(policy.hop_buffer_size if policy else None)
        or scope.hop_buffer_size
        or DEFAULT_HOP_BUFFER,
        fail_fast=policy.fail_fast if policy else False,
        zero_copy=policy.zero_copy if policy else False,
        budget=budget,
        exec_id=exec_id,
        start_error=start_error,
    )


def _fields(
    spec: CommandSpec, exec_id: str, cwd: str | None, tags: Tags, stage: int | None, executable: str
) -> ExecEvent:
    """What every event of one process shares."""
    return ExecEvent(
        ExecPhase.PLAN,
        exec_id,
        spec.program,
        spec.argv,
        cwd,
        None,
        0.0,
        None,
        None,
        None,
        tags,
        stage,
        executable=executable,
        project=spec.project.name,
    )


def _substituted_argvs(specs: tuple[CommandSpec, ...]) -> tuple[tuple[str, ...], ...]:
    """Every command line passed as an argument, however deep: secrets to learn."""
    found: list[tuple[str, ...]] = []
    for spec in specs:
        for substitution in spec.substitutions:
            source = substitution.source
            inner = (spec_of(source),) if isinstance(source, SafeCmd) else tuple(map(spec_of, source.stages))
            found.extend(inner_spec.argv for inner_spec in inner)
            found.extend(_substituted_argvs(inner))
    return tuple(found)


def _stdin_bytes(request: RunRequest, scope: ScopeState, argvs: Argvs, overlays: Overlays) -> bytes | None:
    """The stdin text or bytes to write, encoded; an encoding error shows no data."""
    stdin = request.stdin
    if not isinstance(stdin, StdinInput):
        return None
    try:
        return stdin.encode(request.context.encoding, request.context.errors)
    except UnicodeEncodeError as error:
        redactors = scope.redactors
        raise sanitized(error, lambda text: _redact_all(redactors, text, argvs, overlays)) from None


def _redact_all(redactors: tuple[Redactor, ...], text: str, argvs: Argvs, overlays: Overlays) -> str:
    for redactor in redactors:
        text = redactor.redact_text(text, argvs=argvs, env=overlays)
    return text


def _shown(
    scope: ScopeState, argv: tuple[str, ...], argvs: tuple[tuple[str, ...], ...], overlays: Overlays
) -> str:
    if hides_only_urls_in_text(scope.redactors, argvs):
        return shlex.join(argv)  # no URL here: nothing to hide
    others = tuple(other for other in argvs if other is not argv)
    for redactor in scope.redactors:
        argv = redactor.redact_argv(argv, argvs=others, env=overlays)
    return shlex.join(argv)
