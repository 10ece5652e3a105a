"""Run before and after hooks, in the order the scope defines.

Before hooks run in registration order (outer scopes first) and may veto a
run by raising; after hooks run innermost first, once the process is
reaped. Either kind may be a plain function or an ``async def``.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cuprum.command import SafeCmd
    from cuprum.scope import AfterHook, BeforeHook, Hook


async def run_before_hooks(hooks: tuple[Hook[BeforeHook], ...], cmd: SafeCmd) -> None:
    """Run before hooks in order; an exception stops the run before spawning."""
    for hook in hooks:
        outcome = hook.function(cmd)
        if hook.is_async or inspect.isawaitable(outcome):
            await outcome  # pyright: ignore[reportGeneralTypeIssues]


async def run_after_hooks(hooks: tuple[Hook[AfterHook], ...], cmd: SafeCmd, result: object) -> None:
    """Run after hooks, innermost first."""
    for hook in hooks:
        outcome = hook.function(cmd, result)  # pyright: ignore[reportArgumentType]
        if hook.is_async or inspect.isawaitable(outcome):
            await outcome  # pyright: ignore[reportGeneralTypeIssues]
