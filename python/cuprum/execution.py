"""Run one command: a run of one stage (see ``cuprum.runner``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cuprum.errors import CommandFailed
from cuprum.runner import run_stages

if TYPE_CHECKING:
    from cuprum.command import SafeCmd
    from cuprum.options import ExecutionContext, RunOutputOptions, StdinInput
    from cuprum.result import CommandResult


async def execute(
    cmd: SafeCmd,
    *,
    output: RunOutputOptions | None = None,
    timeout: float | None = None,
    context: ExecutionContext | None = None,
    stdin: StdinInput | None = None,
    check: bool = False,
) -> CommandResult:
    """Run ``cmd`` to completion; see ``SafeCmd.run`` for the contract."""
    outcome = await run_stages(
        (cmd,),
        staged=False,
        label=cmd.shell_quoted,
        output=output,
        timeout=timeout,
        context=context,
        stdin=stdin,
    )
    result = outcome.stages[0]
    if check and not result.ok:
        raise CommandFailed(result)
    return result
