"""Deliver events to observers, cheaply enough for one event per line.

The invariant fields of a run's events are computed once (``EventSource``);
a line event then costs one tuple and one call per observer. An observer
that raises is reported to the ``cuprum.hooks`` logger, with its traceback,
and the run carries on: observers watch, they never steer.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import os
import time
from typing import TYPE_CHECKING, Final, cast

from cuprum.events import ExecEvent, ExecOutcome, ExecPhase

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from cuprum.events import AsyncObserveHook, SyncObserveHook, Tags
    from cuprum.scope import ScopeState

logger: Final = logging.getLogger("cuprum.hooks")
_ids = itertools.count(1)
_PID_PREFIX: Final = f"{os.getpid():x}"
_new_event = cast("Callable[[type[ExecEvent], tuple[object, ...]], ExecEvent]", tuple.__new__)


def new_exec_id() -> str:
    """A run id unique within this process (and readable in logs)."""
    return f"{_PID_PREFIX}-{next(_ids)}"


class EventSource:
    """Emits the events of one process (a lone command or a pipeline stage)."""

    __slots__ = ("_async", "_head", "_sync", "_tail", "observed", "pid")

    def __init__(
        self,
        scope: ScopeState,
        *,
        exec_id: str,
        program: str,
        argv: tuple[str, ...],
        cwd: str | None,
        tags: Tags,
        stage: int | None,
    ) -> None:
        self._sync: tuple[SyncObserveHook, ...] = scope.sync_observers
        self._async: tuple[AsyncObserveHook, ...] = scope.async_observers
        self.observed = scope.observed
        self.pid: int | None = None
        self._head = (exec_id, program, argv, cwd)
        self._tail = (tags, stage)

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
        if not self.observed:
            return
        event = ExecEvent(
            phase,
            *self._head,
            self.pid,
            time.time(),
            None,
            exit_code,
            duration_s,
            *self._tail,
            byte_count,
            error,
            outcome,
        )
        await self._deliver((event,))

    async def emit_lines(self, phase: ExecPhase, lines: Iterable[str]) -> None:
        """Deliver one ``stdout``/``stderr`` event per line (the hot path)."""
        head = (phase, *self._head, self.pid)
        tail = (None, None, *self._tail, None, None, None)
        now = time.time
        events = [_new_event(ExecEvent, (*head, now(), line, *tail)) for line in lines]
        await self._deliver(events)

    async def _deliver(self, events: Iterable[ExecEvent]) -> None:
        sync_hooks = self._sync
        async_hooks = self._async
        for event in events:
            for hook in sync_hooks:
                try:
                    if (outcome := hook(event)) is not None and inspect.isawaitable(outcome):
                        await outcome  # a plain function that returned a coroutine
                except Exception as error:  # noqa: BLE001 (reported, by policy: observers never steer)
                    _report(hook, event, error)
            for hook in async_hooks:
                try:
                    await hook(event)
                except Exception as error:  # noqa: BLE001
                    _report(hook, event, error)


def _report(hook: object, event: ExecEvent, error: Exception) -> None:
    name = getattr(hook, "__qualname__", None) or repr(hook)
    logger.error(
        "observe hook %s raised on %s event of %s (exec_id %s); the run continues",
        name,
        event.phase.value,
        event.program,
        event.exec_id,
        exc_info=error,
    )
