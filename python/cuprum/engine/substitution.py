"""Process substitution: a command passed as an argument, read through ``/dev/fd/N``.

``sh.make(DIFF)(a, b)`` runs ``a`` and ``b`` as runs of their own, each
writing its stdout into a pipe; the consuming program gets the read ends
as ``/dev/fd/N`` (the descriptor is passed at the same number), as with a
shell's ``diff <(a) <(b)``. The substituted runs are started before the
consumer and ended with it: when the consumer's run is torn down, so are
they, and their results are attached to the consumer's result
(``CommandResult.substitutions``). As in a shell, their exit statuses do
not decide whether the consumer's run succeeded.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import TYPE_CHECKING

from cuprum.fds import owned_pipe
from cuprum.options import RunOutputOptions
from cuprum.request import RunRequest

if TYPE_CHECKING:
    from types import TracebackType

    from cuprum.engine.live import LiveProcess
    from cuprum.engine.plan import Plan
    from cuprum.fds import OwnedFd


@dataclasses.dataclass(slots=True)
class _Entry:
    stage: int
    argv_index: int
    live: LiveProcess[object, str]
    read_end: OwnedFd
    fd: int


class Substitutions:
    """The substituted runs of one run."""

    def __init__(self) -> None:
        self._entries: list[_Entry] = []

    def __bool__(self) -> bool:
        """Whether there are any."""
        return bool(self._entries)

    async def start(self, plan: Plan) -> None:
        """Start every substituted run of ``plan`` (the consumer is not started yet)."""
        from cuprum.engine.live import LiveProcess  # noqa: PLC0415 (the live handle uses this module)

        context = plan.request.context
        for stage in plan.stages:
            for substitution in stage.spec.substitutions:
                read_end, write_end = owned_pipe()
                try:
                    request = RunRequest.make(
                        output=RunOutputOptions(stdout=write_end.fileno()),
                        live=False,
                        timeout=None if plan.deadline is None else plan.remaining(),
                        context=context,
                    )
                    live: LiveProcess[object, str] = LiveProcess(substitution.source, request)
                    await live.__aenter__()
                except BaseException:
                    read_end.close()
                    raise
                finally:
                    write_end.close()  # the substituted process holds its copy
                self._entries.append(
                    _Entry(stage.index, substitution.position, live, read_end, read_end.fileno())
                )

    def argv(self, stage: int, argv: tuple[str, ...]) -> tuple[str, ...]:
        """``argv`` with ``/dev/fd/N`` where stage ``stage`` reads a substitution."""
        entries = [entry for entry in self._entries if entry.stage == stage]
        if not entries:
            return argv
        filled = list(argv)
        for entry in entries:
            filled[entry.argv_index] = f"/dev/fd/{entry.fd}"
        return tuple(filled)

    def pass_fds(self, stage: int) -> tuple[int, ...]:
        """The descriptors stage ``stage`` must keep."""
        return tuple(entry.fd for entry in self._entries if entry.stage == stage)

    def close_read_ends(self) -> None:
        """The consumers hold their copies now (idempotent)."""
        for entry in self._entries:
            entry.read_end.close()

    async def finish(self) -> dict[int, tuple[object, ...]]:
        """Wait for every substituted run; their results, by consuming stage."""
        results: dict[int, list[object]] = {}
        for entry in self._entries:
            try:
                result: object = await entry.live.wait()
            except Exception as error:  # noqa: BLE001 (a substituted run's failure is its own)
                result = error
            finally:
                await entry.live.__aexit__(None, None, None)
            results.setdefault(entry.stage, []).append(result)
        return {stage: tuple(found) for stage, found in results.items()}

    async def abandon(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """Tear every substituted run down (the consumer's run is being torn down)."""
        self.close_read_ends()
        for entry in self._entries:
            with contextlib.suppress(Exception):
                await entry.live.__aexit__(exc_type, exc, traceback)
