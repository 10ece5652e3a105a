"""Scopes: allowlists, default timeouts, environment overlays and hooks.

The current scope lives in a ``ContextVar``: each asyncio task and each
thread sees its own, and a task started inside a scope keeps the scope it
started with. Scopes nest; an inner allowlist only ever narrows the outer
one (the effective allowlist is their intersection).

>>> from cuprum import ECHO, ScopeConfig, scoped
>>> with scoped(ScopeConfig(allowlist={ECHO}, timeout=5)):
...     pass
"""

from __future__ import annotations

import contextvars
import dataclasses
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Final, Self

from cuprum.environment import validate_overlay
from cuprum.options import validate_timeout

if TYPE_CHECKING:
    from types import TracebackType

    from cuprum.catalogue import Program
    from cuprum.command import SafeCmd
    from cuprum.events import AsyncObserveHook, ObserveHook, SyncObserveHook
    from cuprum.result import CommandResult

type BeforeHook = Callable[[SafeCmd], object] | Callable[[SafeCmd], Awaitable[object]]
"""Called with the command before it starts; raising stops the run."""

type AfterHook = (
    Callable[[SafeCmd, CommandResult], object] | Callable[[SafeCmd, CommandResult], Awaitable[object]]
)
"""Called with the command and its result after the process is reaped."""


@dataclasses.dataclass(frozen=True, slots=True)
class ScopeConfig:
    """One layer of scope.

    Parameters
    ----------
    allowlist
        Programs allowed inside (``None``: no narrowing).
    timeout
        Default timeout in seconds for commands inside (``None``: inherit).
    env_overlay
        Environment variables layered over the enclosing scopes'.
    before_hooks, after_hooks, observe_hooks
        Hooks for commands run inside.
    """

    allowlist: Iterable[Program] | None = None
    timeout: float | None = None
    env_overlay: Mapping[str, str] | None = None
    before_hooks: Sequence[BeforeHook] = ()
    after_hooks: Sequence[AfterHook] = ()
    observe_hooks: Sequence[ObserveHook] = ()

    def __post_init__(self) -> None:
        """Validate and freeze the fields, so a bad scope fails on entry."""
        if self.allowlist is not None:
            if isinstance(self.allowlist, str):
                msg = "ScopeConfig.allowlist must be a collection of programs, not a string"
                raise TypeError(msg)
            object.__setattr__(self, "allowlist", frozenset(self.allowlist))
        validate_timeout(self.timeout, "ScopeConfig.timeout")
        if self.env_overlay is not None:
            object.__setattr__(
                self, "env_overlay", validate_overlay(self.env_overlay, "ScopeConfig.env_overlay")
            )
        for field in ("before_hooks", "after_hooks", "observe_hooks"):
            hooks = tuple(getattr(self, field))
            for hook in hooks:
                if not callable(hook):
                    msg = f"ScopeConfig.{field} must hold callables, not {type(hook).__name__}"
                    raise TypeError(msg)
            object.__setattr__(self, field, hooks)


@dataclasses.dataclass(frozen=True, slots=True)
class Hook[F]:
    """A hook and whether it must be awaited (decided once, at registration)."""

    function: F
    is_async: bool

    @classmethod
    def classify(cls, function: F) -> Hook[F]:
        """Wrap ``function``, noting whether calling it returns an awaitable."""
        call = getattr(function, "__call__", None)  # noqa: B004 (instances with an async __call__)
        is_async = inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(call)
        return cls(function, is_async)


@dataclasses.dataclass(frozen=True, slots=True)
class _Layer:
    key: object
    config: ScopeConfig


@dataclasses.dataclass(frozen=True, slots=True)
class ScopeState:
    """The effective scope: every layer folded together once, when it changes."""

    layers: tuple[_Layer, ...] = ()
    allowlist: frozenset[Program] | None = None
    timeout: float | None = None
    env_overlays: tuple[Mapping[str, str], ...] = ()
    before_hooks: tuple[Hook[BeforeHook], ...] = ()
    after_hooks: tuple[Hook[AfterHook], ...] = ()
    sync_observers: tuple[SyncObserveHook, ...] = ()
    async_observers: tuple[AsyncObserveHook, ...] = ()

    @classmethod
    def from_layers(cls, layers: tuple[_Layer, ...]) -> ScopeState:
        """Fold ``layers`` (outermost first) into one state."""
        allowlist: frozenset[Program] | None = None
        timeout: float | None = None
        overlays: list[Mapping[str, str]] = []
        before: list[Hook[BeforeHook]] = []
        after: list[Hook[AfterHook]] = []
        sync_observers: list[SyncObserveHook] = []
        async_observers: list[AsyncObserveHook] = []
        for layer in layers:
            config = layer.config
            if config.allowlist is not None:
                narrowed = frozenset(config.allowlist)
                allowlist = narrowed if allowlist is None else allowlist & narrowed
            if config.timeout is not None:
                timeout = config.timeout
            if config.env_overlay:
                overlays.append(config.env_overlay)
            before.extend(Hook[BeforeHook].classify(hook) for hook in config.before_hooks)
            after.extend(Hook[AfterHook].classify(hook) for hook in config.after_hooks)
            for hook in config.observe_hooks:
                if Hook[object].classify(hook).is_async:
                    async_observers.append(hook)  # pyright: ignore[reportArgumentType]
                else:
                    sync_observers.append(hook)  # pyright: ignore[reportArgumentType]
        return cls(
            layers=layers,
            allowlist=allowlist,
            timeout=timeout,
            env_overlays=tuple(overlays),
            before_hooks=tuple(before),
            after_hooks=tuple(reversed(after)),
            sync_observers=tuple(sync_observers),
            async_observers=tuple(async_observers),
        )

    @property
    def observed(self) -> bool:
        """Whether any observer is registered."""
        return bool(self.sync_observers or self.async_observers)

    def is_allowed(self, program: Program) -> bool:
        """Whether the scope's allowlist admits ``program``."""
        return self.allowlist is None or program in self.allowlist


_EMPTY: Final = ScopeState()
_CURRENT: contextvars.ContextVar[ScopeState] = contextvars.ContextVar("cuprum_scope", default=_EMPTY)


def current_scope() -> ScopeState:
    """The scope in effect for the calling task or thread."""
    return _CURRENT.get()


class ScopeHandle:
    """A registered scope layer; ``detach()`` removes it (idempotently).

    Also a context manager: the layer is detached on exit.
    """

    __slots__ = ("_key",)

    def __init__(self, config: ScopeConfig) -> None:
        self._key = object()
        state = _CURRENT.get()
        _CURRENT.set(ScopeState.from_layers((*state.layers, _Layer(self._key, config))))

    def detach(self) -> None:
        """Remove this layer from the current context's scope; again is a no-op."""
        state = _CURRENT.get()
        remaining = tuple(layer for layer in state.layers if layer.key is not self._key)
        if len(remaining) != len(state.layers):
            _CURRENT.set(ScopeState.from_layers(remaining))

    def __enter__(self) -> Self:
        """Return the handle; the layer is already in effect."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Detach the layer."""
        self.detach()


def scoped(config: ScopeConfig) -> ScopeHandle:
    """Enter a scope layer: ``with scoped(ScopeConfig(...)):``."""
    return ScopeHandle(config)


def allow(*programs: Program) -> ScopeHandle:
    """Narrow the allowlist to ``programs`` (intersected with any enclosing one)."""
    return ScopeHandle(ScopeConfig(allowlist=programs))


def before(hook: BeforeHook) -> ScopeHandle:
    """Register a hook run before each command starts (outer hooks first)."""
    return ScopeHandle(ScopeConfig(before_hooks=(hook,)))


def after(hook: AfterHook) -> ScopeHandle:
    """Register a hook run after each command ends (inner hooks first)."""
    return ScopeHandle(ScopeConfig(after_hooks=(hook,)))


def observe(hook: ObserveHook) -> ScopeHandle:
    """Register an observer of every event (sync or ``async def``)."""
    return ScopeHandle(ScopeConfig(observe_hooks=(hook,)))


def env(overlay: Mapping[str, str] | None = None, /, **variables: str) -> ScopeHandle:
    """Overlay environment variables for commands run in this scope."""
    return ScopeHandle(ScopeConfig(env_overlay={**(overlay or {}), **variables}))
