"""``Pipeline``: commands composed with ``|``, streamed stage to stage.

A pipeline is an immutable value: at least two ``SafeCmd`` stages and its
policy. The bytes between stages flow through pumps in this process (see
``cuprum.pumps``), which apply backpressure and count what each hop carried.

Failure policy
--------------
By default a pipeline behaves as a shell's does with ``set -o pipefail``:
a stage's failure does not touch the other stages; each runs to its natural
end (an early close still ends a producer by SIGPIPE, as in a shell), so
``exit_codes`` and every stage's output are as deterministic as the
shell's. ``ok`` is false when any stage failed (its status is not one of
its ``ok_codes``, and it was not forgiven SIGPIPE after its downstream
closed early); ``failure_index`` is the last such stage, whose status
``pipefail`` reports.

``fail_fast=True`` instead terminates every stage still running as soon as
one fails. Which stages were still running then depends on timing, so the
other stages' statuses and output are racy by nature; use it when the
pipeline's work is worthless once a stage has failed.

Timeouts and cancellation always terminate every stage's process group.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final, final

from cuprum.command import SafeCmd, spec_of
from cuprum.runnable import Runnable
from cuprum.scope import check_hop_buffer_size

if TYPE_CHECKING:
    from typing import NoReturn

MIN_STAGES: Final = 2


@final
@dataclasses.dataclass(frozen=True, slots=True)
class Pipeline(Runnable):
    """Commands whose stdout feeds the next one's stdin, like a shell's ``a | b``.

    Parameters
    ----------
    stages
        At least two commands.
    fail_fast
        Terminate the other stages when one fails (see the module doc).
    hop_buffer_size
        The kernel buffer asked for each hop's pipes, in bytes (``None``:
        the scope's, else the default). How much a producer can write
        before its consumer reads decides which producers finish before an
        early close and which get SIGPIPE; 65536 matches a Linux shell's
        pipe, though a hop has two pipes (see the users' guide).
    zero_copy
        Let the Rust backend forward pages between hops with ``splice(2)``
        instead of copying them (faster; unsafe with producers that
        ``vmsplice`` and reuse their buffers, see the users' guide).

    Raises
    ------
    TypeError
        For a stage that is not a ``SafeCmd`` a builder made.
    ValueError
        For fewer than two stages, or a bad buffer size.
    """

    stages: tuple[SafeCmd, ...]
    fail_fast: bool = False
    hop_buffer_size: int | None = None
    zero_copy: bool = False

    def __init_subclass__(cls) -> NoReturn:
        """Refuse subclasses (a subclass could show some stages and run others)."""
        msg = "Pipeline cannot be subclassed"
        raise TypeError(msg)

    def __post_init__(self) -> None:
        """Check the stages and the policy."""
        stages = self.stages
        if isinstance(stages, SafeCmd) or not isinstance(stages, tuple | list):
            msg = "Pipeline.stages must be a tuple of SafeCmd"
            raise TypeError(msg)
        object.__setattr__(self, "stages", tuple(stages))
        for stage in self.stages:
            spec_of(stage)  # a forged stage is refused here, not at run time
        if len(self.stages) < MIN_STAGES:
            msg = f"a pipeline needs at least two stages, got {len(self.stages)}; run a lone command directly"
            raise ValueError(msg)
        for name in ("fail_fast", "zero_copy"):
            if not isinstance(getattr(self, name), bool):
                msg = f"Pipeline.{name} must be a bool"
                raise TypeError(msg)
        check_hop_buffer_size(self.hop_buffer_size, "Pipeline.hop_buffer_size")

    @classmethod
    def of(cls, *parts: SafeCmd | Pipeline) -> Pipeline:
        """Join commands and pipelines into one flat pipeline (the first pipeline's policy wins)."""
        stages: list[SafeCmd] = []
        policy: Pipeline | None = None
        for part in parts:
            if isinstance(part, Pipeline):
                stages.extend(part.stages)
                policy = policy or part
            elif isinstance(part, SafeCmd):  # pyright: ignore[reportUnnecessaryIsInstance]
                stages.append(part)
            else:
                msg = f"cannot pipe into {type(part).__name__}; use a SafeCmd or a Pipeline"
                raise TypeError(msg)
        if policy is None:
            return cls(tuple(stages))
        return dataclasses.replace(policy, stages=tuple(stages))

    def with_policy(
        self,
        *,
        fail_fast: bool | None = None,
        hop_buffer_size: int | None = None,
        zero_copy: bool | None = None,
    ) -> Pipeline:
        """A copy with the given policy fields changed (``None`` keeps one)."""
        changes: dict[str, object] = {}
        if fail_fast is not None:
            changes["fail_fast"] = fail_fast
        if hop_buffer_size is not None:
            changes["hop_buffer_size"] = hop_buffer_size
        if zero_copy is not None:
            changes["zero_copy"] = zero_copy
        return dataclasses.replace(self, **changes)  # pyright: ignore[reportArgumentType]

    def __or__(self, other: SafeCmd | Pipeline) -> Pipeline:
        """Append a command or another pipeline's stages (flattened)."""
        if not isinstance(other, SafeCmd | Pipeline):  # pyright: ignore[reportUnnecessaryIsInstance]
            return NotImplemented
        return Pipeline.of(self, other)

    def __ror__(self, other: SafeCmd) -> Pipeline:
        """``cmd | pipeline``."""
        return Pipeline.of(other, self)

    @property
    def shell_quoted(self) -> str:
        """The pipeline as a shell would read it, for logs."""
        return " | ".join(stage.shell_quoted for stage in self.stages)

    def __str__(self) -> str:
        """The shell-quoted rendering."""
        return self.shell_quoted
