"""What a finished run reports: its result, its ``exit`` events, its exceptions.

Everything shown to a person (exception messages, result ``repr``) uses the
command line as the scope's redactors rendered it, and a failed command's
message ends with the tail of its stderr, redacted the same way.
"""

from __future__ import annotations

import signal
import time
from typing import TYPE_CHECKING, Final

from cuprum.byte_redaction import redact_bytes
from cuprum.errors import CommandFailed, PipelineFailed, TimeoutExpired, describe_exit
from cuprum.events import ExecOutcome, ExecPhase
from cuprum.redaction import DEFAULT_MASK
from cuprum.result import REDACTION_WINDOW, CommandResult, PipelineResult

if TYPE_CHECKING:
    from collections.abc import Callable

    from cuprum.engine.supervisor import Supervisor

STDERR_TAIL: Final = 400
"""Characters of stderr quoted in a ``CommandFailed`` message."""

type Result = CommandResult[str] | CommandResult[bytes] | PipelineResult[str] | PipelineResult[bytes]


def _outputs(sup: Supervisor) -> tuple[str | bytes | None, list[str | bytes | None]]:
    plan = sup.plan
    cut_short = sup.cut_short
    stdout = None
    if sup.stdout_sink is not None and plan.capture:
        stdout = sup.stdout_sink.value(cut_short=cut_short)
    stderrs = [
        sink.value(cut_short=cut_short) if sink is not None and plan.capture_stderr else None
        for sink in sup.stderr_sinks
    ]
    return stdout, stderrs


def build_result(sup: Supervisor) -> Result:
    """The result of a run whose processes have all been reaped.

    Raises
    ------
    UnicodeDecodeError
        When the output cannot be decoded with a strict error handler.
    """
    plan = sup.plan
    stdout, stderrs = _outputs(sup)
    last = len(plan.stages) - 1
    stages = tuple(
        CommandResult(
            program=stage.spec.program,
            argv=stage.spec.argv,
            exit_code=_code(sup, stage.index),
            pid=stage.events.pid or 0,
            stdout=stdout if stage.index == last else None,  # pyright: ignore[reportArgumentType]
            stderr=stderrs[stage.index],  # pyright: ignore[reportArgumentType]
            ok_codes=stage.spec.ok_codes,
            executable=stage.executable,
            shown=stage.shown,
            redact=stage.events.line_redaction,
        )
        for stage in plan.stages
    )
    if not plan.is_pipeline:
        return stages[0]  # pyright: ignore[reportReturnType]
    outcomes = [sup.outcome(index) for index in range(len(stages))]
    failing = [index for index, outcome in enumerate(outcomes) if outcome is ExecOutcome.FAILED]
    return PipelineResult(
        stages=stages,  # pyright: ignore[reportArgumentType]
        failure_index=failing[-1] if failing else None,
        hop_bytes=sup.hop_bytes(),
        forgiven=tuple(index for index, outcome in enumerate(outcomes) if outcome is ExecOutcome.FORGIVEN),
    )


def _code(sup: Supervisor, index: int) -> int:
    child = sup.children[index]
    if child is None or child.returncode is None:
        return -signal.SIGKILL
    return child.returncode


async def emit_exits(sup: Supervisor, error: BaseException | None = None) -> None:
    """Emit ``timeout``/``cancel`` (when cut short that way), then every stage's ``exit``."""
    plan = sup.plan
    ending = sup.ending
    if ending in (ExecOutcome.TIMED_OUT, ExecOutcome.CANCELLED):
        phase = ExecPhase.TIMEOUT if ending is ExecOutcome.TIMED_OUT else ExecPhase.CANCEL
        for stage in plan.stages:
            if sup.children[stage.index] is not None:
                await stage.events.emit(phase)
    spawn_error = sup.spawn_error
    now = time.monotonic()
    for stage in plan.stages:
        child = sup.children[stage.index]
        if spawn_error is not None and spawn_error[0] == stage.index:
            failure = spawn_error[1]
            await stage.events.emit(
                ExecPhase.EXIT, error=f"{type(failure).__name__}: {failure}", outcome=ExecOutcome.FAILED
            )
            continue
        if child is None:
            continue
        outcome = sup.outcome(stage.index)
        message = None
        if error is not None:  # the run failed (a decoding error, a raising sink): every stage did
            outcome = ExecOutcome.FAILED
            message = f"{type(error).__name__}: {error}"
        ended = sup.exited_at[stage.index] or now
        await stage.events.emit(
            ExecPhase.EXIT,
            exit_code=child.returncode,
            duration_s=ended - sup.started_at,
            outcome=outcome,
            error=message,
        )


def timeout_error(sup: Supervisor) -> TimeoutExpired:
    """The ``TimeoutExpired`` of a timed-out run, with the output read until the kill."""
    plan = sup.plan
    stdout, stderrs = _outputs(sup)
    captured = [part for part in stderrs if part is not None]
    stderr = captured[0][:0].join(captured) if captured else None  # pyright: ignore[reportArgumentType]
    cmd = tuple(stage.spec.argv for stage in plan.stages) if plan.is_pipeline else plan.stages[0].spec.argv
    return TimeoutExpired(cmd, plan.timeout or 0.0, stdout, stderr, shown=plan.shown)  # pyright: ignore[reportUnknownArgumentType]


def check_failure(sup: Supervisor, result: Result) -> CommandFailed | PipelineFailed | None:
    """The exception ``check=True`` raises for ``result``, or ``None`` when it succeeded."""
    if result.ok:
        return None
    plan = sup.plan
    if isinstance(result, PipelineResult):
        index = result.failure_index if result.failure_index is not None else len(result.stages) - 1
        stage = result.stages[index]
        shown = plan.stages[index].shown
        message = f"pipeline stage {index} ({shown}) exited with {describe_exit(stage.exit_code)}"
        message += _tail(sup, index, stage.stderr)
        return PipelineFailed(result, shown=message)  # pyright: ignore[reportArgumentType]
    message = f"{plan.stages[0].shown} exited with {describe_exit(result.exit_code)}"
    message += _tail(sup, 0, result.stderr)
    return CommandFailed(result, shown=message)  # pyright: ignore[reportArgumentType]


def _tail(sup: Supervisor, index: int, stderr: str | bytes | None) -> str:
    if not stderr:
        return ""
    text = stderr if isinstance(stderr, str) else stderr.decode(sup.plan.encoding, "replace")
    # Redact a wide window first, then cut: a cut never shows part of a secret.
    tail = sup.plan.stages[index].events.redact(text.rstrip()[-REDACTION_WINDOW:])[-STDERR_TAIL:]
    return f"; stderr: {tail}" if tail else ""


EXCERPT: Final = 32
"""Characters (bytes, for a decoding error) a rebuilt ``UnicodeError`` keeps either side of its span."""


MASKED: Final = DEFAULT_MASK
"""What a rebuilt ``UnicodeError`` holds instead when a secret touches its failing span."""


def _context[T: (str, bytes)](
    before: T, failing: T, after: T, redact: Callable[[T], T]
) -> tuple[T, T] | None:
    """The redacted, cut context on either side of a failing span; ``None`` if it cannot be shown.

    The window is redacted as one text, so a secret that crosses the span
    (or lies inside it) is recognised; unless redacting each side alone
    gives the same text, a secret touches the span and nothing is shown.
    """
    shown_before, shown_after = redact(before), redact(after)
    if shown_before + failing + shown_after != redact(before + failing + after):
        return None
    return shown_before[-EXCERPT:], shown_after[:EXCERPT]


def _sanitized_decode(error: UnicodeDecodeError, redact: Callable[[str], str]) -> UnicodeDecodeError:
    """As ``_sanitized_encode``, on bytes redacted in every view (``redact_bytes``), cut in bytes."""
    data = bytes(error.object)
    failing = data[error.start : error.end]
    try:
        context = _context(
            data[max(0, error.start - REDACTION_WINDOW) : error.start],
            failing,
            data[error.end : error.end + REDACTION_WINDOW],
            lambda piece: redact_bytes(piece, redact, error.encoding),
        )
    except (LookupError, UnicodeError):
        context = None  # bytes the codec cannot read back: nothing can be checked, nothing shown
    if context is None:
        return UnicodeDecodeError(error.encoding, MASKED.encode(), 0, len(MASKED), error.reason)
    shown_before, shown_after = context
    start = len(shown_before)
    return UnicodeDecodeError(
        error.encoding, shown_before + failing + shown_after, start, start + len(failing), error.reason
    )


def _sanitized_encode(error: UnicodeEncodeError, redact: Callable[[str], str]) -> UnicodeEncodeError:
    text = error.object
    failing = text[error.start : error.end]
    context = _context(
        text[max(0, error.start - REDACTION_WINDOW) : error.start],
        failing,
        text[error.end : error.end + REDACTION_WINDOW],
        redact,
    )
    if context is None:
        return UnicodeEncodeError(error.encoding, MASKED, 0, len(MASKED), error.reason)
    before, after = context
    return UnicodeEncodeError(
        error.encoding, before + failing + after, len(before), len(before) + len(failing), error.reason
    )


def sanitized(error: BaseException, redact: Callable[[str], str]) -> BaseException:
    """``error`` without the output data a ``repr`` would show.

    A decoding or encoding error carries the whole output (or stdin text) it
    failed on. A ``UnicodeError`` is rebuilt around its failing span, with
    ``EXCERPT`` characters on either side: redacted first (over a far wider
    window, as one text with the span, so that a secret the cut or the span
    crosses is still recognised), then cut. When a secret touches the
    failing span, the rebuilt error holds only ``MASKED``. Any other error is
    returned as it is.
    """
    if isinstance(error, UnicodeDecodeError):
        return _sanitized_decode(error, redact)
    if isinstance(error, UnicodeEncodeError):
        return _sanitized_encode(error, redact)
    return error
