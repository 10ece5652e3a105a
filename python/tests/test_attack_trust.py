"""Adversarial review, round 2: the allowlist and scope promises.

Each test is a minimal reproducer of a broken promise; they are expected to
FAIL on the engine as reviewed (branch ``attack``). Each names the promise
it attacks. They need no stream, so the backend does not matter.
"""

from __future__ import annotations

import asyncio
import gc
import shutil
import subprocess
import threading
from typing import TYPE_CHECKING

import pytest

from cuprum import (
    CAT,
    ECHO,
    RM,
    ExecEvent,
    ForbiddenProgramError,
    ForgedCommandError,
    ScopeConfig,
    UnknownProgramError,
    allow,
    current_scope,
    scoped,
    sh,
)
from cuprum.builders import GitRef, SafePath, git

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Generator
    from pathlib import Path


class _LyingName(str):
    """A program name that claims to equal (and hash like) ``echo``; its text is ``id``."""

    __slots__ = ()

    def __hash__(self) -> int:
        return hash("echo")

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False


def test_a_str_subclass_program_name_cannot_step_round_catalogue_and_allowlist() -> None:
    """Promise: only catalogued, allowed programs run (design.md, "The trust model").

    A ``str`` subclass that lies in ``__eq__``/``__hash__`` is found in the
    catalogue and in the allowlist as ``echo``, but the resolver reads its
    text, ``id``: ``/usr/bin/id`` runs inside a locked scope that allows
    only ``echo``, and is in no catalogue at all.
    """
    with scoped(ScopeConfig(allowlist={ECHO}, locked=True)):
        ran: str | None = None
        try:
            cmd = sh.make(_LyingName("id"))()
            result = cmd.run_sync()
            ran = result.executable
        except (UnknownProgramError, ForbiddenProgramError, TypeError, ValueError):
            pass
    assert ran is None, f"a program outside the catalogue and the allowlist ran: {ran}"


def test_detach_from_another_context_takes_effect() -> None:
    """Promise: ``detach()`` removes the layer (scope.py ``ScopeHandle``).

    Detached from a thread (or a callback, or another task), the handle is
    marked detached, but the registering context keeps its folded state:
    the ``allow(RM)`` stays in force there until something refolds it.
    """

    async def main() -> bool:
        with scoped(ScopeConfig(allowlist={ECHO})):
            handle = allow(RM)
            thread = threading.Thread(target=handle.detach)
            thread.start()
            thread.join()
            return current_scope().is_allowed(RM)

    assert not asyncio.run(main()), "rm is still allowed after its allow() was detached"


@pytest.mark.xfail(
    strict=True,
    reason="a known limitation (docs/users-guide.md, Scopes): an async generator runs in its "
    "consumer's context, so an allow() it yields inside lasts until the consumer's enclosing "
    "block exits; locked scopes refuse it",
)
def test_an_async_generator_cannot_leave_its_allow_in_the_consumer() -> None:
    """Promise: leaving a scope restores exactly the state before it, always.

    A helper async generator that yields inside ``with allow(RM)`` and is
    left early (``break``) never runs its ``__exit__`` in the consumer's
    context: the consumer keeps ``rm`` allowed under a narrowing to
    ``{echo}`` for the rest of its block.
    """

    async def helper() -> AsyncIterator[int]:
        with allow(RM):
            yield 1
            yield 2

    async def main() -> bool:
        with scoped(ScopeConfig(allowlist={ECHO})):
            async for _ in helper():
                break
            gc.collect()
            await asyncio.sleep(0.05)
            return current_scope().is_allowed(RM)

    assert not asyncio.run(main()), "an allow() from an abandoned async generator leaked into the caller"


def test_a_scope_closed_out_of_order_does_not_drop_an_inner_observer() -> None:
    """Promise: leaving a scope restores the state before it *minus detached layers*.

    A generator's ``allow()`` closed inside a later ``with observe(...)``
    block restores its own "before" snapshot, which silently drops the
    audit observer of the still-open inner block.
    """

    def helper() -> Generator[None]:
        with allow(RM):
            yield

    seen: list[ExecEvent] = []
    with scoped(ScopeConfig(allowlist={ECHO, RM})):
        generator = helper()
        next(generator)
        with scoped(ScopeConfig(observe_hooks=[seen.append])):
            generator.close()
            observers = current_scope().sync_observers
    assert observers, "the audit observer of the open block was dropped"


def test_a_forbidden_program_two_substitutions_deep_is_refused_before_any_hook() -> None:
    """Promise: plan step 1 admits "every program (and every substituted command)" before any event or hook.

    ``cat <(cat <(rm ...))``: the outer ``plan`` event is emitted and the
    outer before hook runs before the nested ``rm`` is refused.
    """
    events: list[tuple[str, str]] = []
    hooks: list[str] = []
    nested = sh.make(CAT)(sh.make(CAT)(sh.make(RM)("-f", "/nonexistent-cuprum-attack")))
    config = ScopeConfig(
        allowlist={CAT, ECHO},
        observe_hooks=[lambda event: events.append((event.program, event.phase.value))],
        before_hooks=[lambda cmd: hooks.append(cmd.program)],
    )
    with scoped(config), pytest.raises(ForbiddenProgramError):
        nested.run_sync()
    assert (events, hooks) == ([], [])


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_git_remote_without_a_slash_is_still_never_a_path(tmp_path: Path) -> None:
    """Issue 11.6 again: "a configured remote's name only". ``GitRef("evil")``
    has no ``/``, so ``git.fetch`` accepts it; with no remote of that name,
    git reads it as the path ``<repo>/evil`` and fetches from that
    repository (a bundle file works too; ``push`` writes into it)."""
    repo, evil = tmp_path / "main", tmp_path / "main" / "evil"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "init", "-q", str(evil)], check=True)
    subprocess.run(
        ["git", "-C", str(evil), "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty",
         "-m", "planted"],
        check=True,
    )  # fmt: skip
    result = git.fetch(SafePath(str(repo)), GitRef("evil"), GitRef("HEAD")).run_sync()
    assert result.exit_code != 0, "git fetched from a directory named like a remote"


def test_a_command_spec_cannot_be_issued_outside_the_builders() -> None:
    """design.md: "a CommandSpec ... that only the builders issue". ``issue`` is a
    public name of a public module: any code can issue a spec whose argv
    disagrees with its program (events and results say ``rm -rf /`` while
    ``echo`` runs, or the reverse)."""
    from cuprum import command  # noqa: PLC0415

    genuine = command.spec_of(sh.make(ECHO)("x"))
    with pytest.raises((ForgedCommandError, AttributeError, TypeError)):
        command.issue(genuine._replace(argv=("rm", "-rf", "/")))  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
