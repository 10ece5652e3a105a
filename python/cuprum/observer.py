"""Deliver events to observers: redacted at the source, cheap per line, bounded in time.

The invariant fields of a run's events are computed, and redacted, once
(``EventSource``); a line event then costs one tuple, one redaction check
and one call per observer. The scope's redactors apply to every event before
any observer sees it, with the secrets learnt from every stage's command
line. An observer that raises is reported to the ``cuprum.hooks`` logger and
the run carries on: observers watch, they never steer. ``async`` observers
run as eager tasks (``cuprum.bounded``), so they can swallow neither a
cancel nor the deadline; once the run's deadline has passed or the run has
been cut short, they share a bounded time budget: a slow observer can delay
the report of a timeout by at most the budget, never the termination of the
processes.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import logging
import os
import re
import time
from typing import TYPE_CHECKING, Final, cast

from cuprum.bounded import settle, start
from cuprum.events import ExecEvent, ExecOutcome, ExecPhase

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

    from cuprum.events import AsyncObserveHook, SyncObserveHook
    from cuprum.redaction import Overlays, Redactor
    from cuprum.scope import ScopeState

logger: Final = logging.getLogger("cuprum.hooks")
_new_event = cast("Callable[[type[ExecEvent], tuple[object, ...]], ExecEvent]", tuple.__new__)


class _Ids:
    """Run ids: this process's pid and a counter, both renewed in a forked child."""

    def __init__(self) -> None:
        self.reset()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self.prefix = f"{os.getpid():x}"
        self.counter = itertools.count(1)

    def next(self) -> str:
        return f"{self.prefix}-{next(self.counter)}"


_IDS: Final = _Ids()


def new_exec_id() -> str:
    """A run id unique within this process (and readable in logs)."""
    return _IDS.next()


class DeliveryBudget:
    """The time ``async`` observers may take, shared by every event source of a run.

    Once the run is cut short, or once its own deadline has passed, observers
    have ``allowance`` more seconds; one still running then is cancelled and
    abandoned (``bounded.settle``). So
    an observer that never returns, even on a ``plan`` or ``start`` event,
    cannot hold a run past its timeout by more than the allowance.

    Parameters
    ----------
    allowance
        Seconds granted after the run's deadline or its teardown, whichever
        comes first.
    run_deadline
        The run's deadline (``time.monotonic()`` seconds), ``None`` for none.
    """

    __slots__ = ("allowance", "deadline")

    def __init__(self, allowance: float = 1.5, run_deadline: float | None = None) -> None:
        self.allowance = allowance
        self.deadline: float | None = None if run_deadline is None else run_deadline + allowance

    def start(self) -> None:
        """The run is being cut short: the allowance counts from now, unless the deadline came first."""
        deadline = time.monotonic() + self.allowance
        if self.deadline is None or deadline < self.deadline:
            self.deadline = deadline

    def remaining(self) -> float | None:
        """Seconds left, or ``None`` without a budget."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())


class EventSource:
    """Emits the events of one process (a lone command or a pipeline stage)."""

    __slots__ = ("_async", "_budget", "_fields", "_line", "_noise", "_redactors", "_sync", "observed", "pid")

    def __init__(
        self,
        scope: ScopeState,
        fields: ExecEvent | tuple[str, ...],
        *,
        argvs: Sequence[tuple[str, ...]],
        budget: DeliveryBudget,
        env: Overlays = (),
        noise_rules: tuple[str, ...] = (),
    ) -> None:
        """Prepare the events of one process.

        Parameters
        ----------
        scope
            Whose observers and redactors apply.
        fields
            The fields every event of the process shares (phase, timestamp
            and the per-event fields are replaced event by event); only its
            ``argv`` when nobody observes the scope.
        argvs
            Every command line of the run, to learn secrets from.
        budget
            The run's delivery budget.
        env
            The run's environment overlays (the scope's, then the
            context's), for the redactors' ``env_names``.
        noise_rules
            The project's noise rules, to flag output lines with.
        """
        self._sync: tuple[SyncObserveHook, ...] = scope.sync_observers
        self._async: tuple[AsyncObserveHook, ...] = scope.async_observers
        self.observed = scope.observed
        self.pid: int | None = None
        self._budget = budget
        self._redactors: tuple[Redactor, ...] = scope.redactors
        argv = fields.argv if isinstance(fields, ExecEvent) else fields
        others = tuple(other for other in argvs if other is not argv)
        kept = _env_to_hide(self._redactors, env)
        self._line = _line_redactor(self._redactors, argv, others, kept)
        self._noise = noise_matcher(noise_rules)
        self._fields: ExecEvent | None = None
        if isinstance(fields, ExecEvent) and self.observed:
            for redactor in self._redactors:
                fields = redactor.redact_event(fields, argvs=others, env=kept)
            self._fields = fields

    def redact(self, text: str) -> str:
        """``text`` through the scope's redactors, with this run's learnt secrets."""
        return self._line(text)

    @property
    def line_redaction(self) -> Callable[[str], str]:
        """What ``redact`` applies: a value a result keeps (and pickles), unlike this source."""
        return self._line

    async def emit(
        self,
        phase: ExecPhase,
        *,
        exit_code: int | None = None,
        duration_s: float | None = None,
        byte_count: int | None = None,
        error: str | None = None,
        outcome: ExecOutcome | None = None,
    ) -> None:
        """Deliver one lifecycle event to every observer."""
        if self._fields is None:
            return
        event = self._fields._replace(
            phase=phase,
            pid=self.pid,
            timestamp=time.time(),
            exit_code=exit_code,
            duration_s=duration_s,
            byte_count=byte_count,
            error=None if error is None else self._line(error),
            outcome=outcome,
        )
        pending = self._deliver((event,))
        if pending is not None:
            await pending

    def emit_lines(
        self, phase: ExecPhase, lines: Sequence[str], *, last_newline: bool
    ) -> Awaitable[None] | None:
        r"""Deliver one ``stdout``/``stderr`` event per line (the hot path).

        ``last_newline`` says whether the last of ``lines`` ended with
        ``\\n`` (every other one did). Returns an awaitable when ``async``
        observers must be awaited, else ``None``.
        """
        fields = self._fields
        if fields is None or not lines:
            return None
        # Lines read together share one timestamp; the fields around the
        # line are built once per batch, the line's event is one tuple.
        before = (phase, *fields[1:5], self.pid, time.time())
        after = (None, None, *fields[10:15], True, *fields[16:21])
        shown = self._line.lines(lines)
        noisy = self._noise
        events: Iterable[ExecEvent]
        if noisy is None:
            after = (*after, False)
            events = (_new_event(ExecEvent, (*before, line, *after)) for line in shown)
        else:
            events = (
                _new_event(ExecEvent, (*before, line, *after, noisy(raw)))
                for line, raw in zip(shown, lines, strict=True)
            )
        if not last_newline:
            events = list(events)
            events[-1] = events[-1]._replace(newline=False)
        return self._deliver(events)

    def _deliver(self, events: Iterable[ExecEvent]) -> Awaitable[None] | None:
        """Each event to every sync observer, built as it is delivered; then the ``async`` ones."""
        pending: list[tuple[Awaitable[object], ExecEvent, SyncObserveHook]] = []
        kept: list[ExecEvent] | None = [] if self._async else None
        for event in events:
            if kept is not None:
                kept.append(event)
            for hook in self._sync:
                try:
                    if (outcome := hook(event)) is not None and inspect.isawaitable(outcome):
                        pending.append((outcome, event, hook))  # a plain function that returned a coroutine
                except (Exception, asyncio.CancelledError) as error:  # noqa: BLE001 (reported: observers never steer)
                    # Sync code is never cancelled from outside: a CancelledError here is the hook's own.
                    _report(hook, event, error)
        if kept is None and not pending:
            return None
        return self._deliver_async(kept or (), pending)

    async def _deliver_async(
        self, events: Sequence[ExecEvent], pending: list[tuple[Awaitable[object], ExecEvent, SyncObserveHook]]
    ) -> None:
        for awaitable, event, hook in pending:
            await self._settled(start(awaitable), hook, event)
        for event in events:
            for hook in self._async:
                try:
                    task = start(hook(event))  # an observer that does not suspend is done here
                except Exception as error:  # noqa: BLE001 (not a coroutine function after all)
                    _report(hook, event, error)
                    continue
                if task.done():
                    _outcome(task, hook, event)
                else:
                    await self._settled(task, hook, event)

    async def _settled(
        self, task: asyncio.Future[object], hook: AsyncObserveHook | SyncObserveHook, event: ExecEvent
    ) -> None:
        """Wait for an observer that suspended, within the run's delivery budget."""
        if not await settle(task, self._budget.remaining()):
            logger.warning(
                "observer %s was cut short on %s event of %s: the run's teardown budget is spent",
                _name(hook), event.phase.value, event.program,
            )  # fmt: skip
            return
        _outcome(task, hook, event)


@functools.lru_cache(maxsize=64)
def noise_matcher(rules: tuple[str, ...]) -> Callable[[str], bool] | None:
    """Whether a line matches any of ``rules`` (``None`` when there are none)."""
    if not rules:
        return None
    pattern = re.compile("|".join(f"(?:{rule})" for rule in rules))
    return lambda line: pattern.search(line) is not None


def _env_to_hide(redactors: tuple[Redactor, ...], env: Overlays) -> tuple[Mapping[str, str], ...]:
    """The run's overlays, cut down to the variables a redactor hides (kept with the run)."""
    names = {name for redactor in redactors for name in redactor.env_names}
    if not names:
        return ()
    return tuple(
        kept for overlay in env if (kept := {name: overlay[name] for name in names if name in overlay})
    )


def _line_redactor(
    redactors: tuple[Redactor, ...],
    argv: tuple[str, ...],
    others: tuple[tuple[str, ...], ...],
    env: tuple[Mapping[str, str], ...],
) -> LineRedaction:
    """The cheapest function that applies ``redactors`` to one output line."""
    from cuprum.redaction import hides_only_urls_in_text  # noqa: PLC0415 (redaction imports the scope)

    if hides_only_urls_in_text(redactors, (argv, *others)):
        return LineRedaction(redactors, (), (), url_only=True)
    return LineRedaction(redactors, argv, others, env)


class LineRedaction:
    """A run's redactors applied to one line: a value a result can keep (and pickle)."""

    __slots__ = ("argv", "env", "others", "redactors", "url_only")

    def __init__(
        self,
        redactors: tuple[Redactor, ...],
        argv: tuple[str, ...],
        others: tuple[tuple[str, ...], ...],
        env: tuple[Mapping[str, str], ...] = (),
        *,
        url_only: bool = False,
    ) -> None:
        self.redactors = redactors
        self.argv = argv
        self.others = others
        self.env = env  # the run's overlays, not whatever scope is current when a result is shown
        self.url_only = url_only  # the default redactor: only URL credentials to hide

    def __call__(self, line: str) -> str:
        """``line`` through every redactor, with the run's learnt secrets."""
        if self.url_only:
            return self.redactors[0].redact_text(line) if "://" in line else line
        for redactor in self.redactors:
            line = redactor.redact_text(line, argv=self.argv, argvs=self.others, env=self.env)
        return line

    def lines(self, lines: Sequence[str]) -> Sequence[str]:
        """Each of ``lines`` redacted (a batch without ``://`` costs one search for the default)."""
        if self.url_only and "://" not in "\n".join(lines):  # "://" holds no newline: no match is cut
            return lines
        return [self(line) for line in lines]

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled by value (slots and no ``__dict__``)."""
        return (_line_redaction, (self.redactors, self.argv, self.others, self.env, self.url_only))


def _line_redaction(
    redactors: tuple[Redactor, ...],
    argv: tuple[str, ...],
    others: tuple[tuple[str, ...], ...],
    env: tuple[Mapping[str, str], ...],
    url_only: bool,  # noqa: FBT001 (unpickling)
) -> LineRedaction:
    return LineRedaction(redactors, argv, others, env, url_only=url_only)


def _outcome(task: asyncio.Future[object], hook: object, event: ExecEvent) -> None:
    """Report what a finished observer raised (its own ``CancelledError`` too): observers never steer."""
    if task.cancelled():
        _report(hook, event, asyncio.CancelledError())
    elif (error := task.exception()) is not None:
        _report(hook, event, error)


def _name(hook: object) -> str:
    return getattr(hook, "__qualname__", None) or repr(hook)


def _report(hook: object, event: ExecEvent, error: BaseException) -> None:
    logger.error(
        "observe hook %s raised on %s event of %s (exec_id %s); the run continues",
        _name(hook),
        event.phase.value,
        event.program,
        event.exec_id,
        exc_info=error,
    )
