"""Scopes: allowlists, default timeouts, environment overlays, hooks and policy.

The current scope lives in a ``ContextVar``: each asyncio task and each
thread sees its own, and a task started inside a scope keeps the scope it
started with. A scope is a stack of layers, folded into one ``ScopeState``
whenever it changes.

The allowlist rule, in order of the layers:

* a root ``ScopeConfig()`` allows every catalogued program;
* ``ScopeConfig(allowlist=...)`` narrows: the effective allowlist becomes
  its intersection with the enclosing one;
* ``allow(*programs)`` extends: the programs are added to the effective
  allowlist for as long as the layer lives (a ``with`` block, or until
  ``detach()``), unless an enclosing scope is ``locked``, in which case
  ``allow()`` raises ``ScopeLockedError``.

Leaving a ``with`` block restores exactly the state before it: anything
registered inside and not detached (``allow``, ``before``, ``after``,
``observe``, ``env``, nested scopes) is dropped with it, also when an
exception leaves the block.

>>> from cuprum import ECHO, ScopeConfig, scoped
>>> with scoped(ScopeConfig(allowlist={ECHO}, timeout=5)):
...     pass
"""

from __future__ import annotations

import contextvars
import dataclasses
import inspect
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Self

from cuprum.catalogue import Program, ProgramCatalogue, exact_name
from cuprum.environment import validate_overlay
from cuprum.errors import ScopeLockedError
from cuprum.options import validate_timeout
from cuprum.redaction import DEFAULT_REDACTOR, Redactor

if TYPE_CHECKING:
    from types import TracebackType

    from cuprum.command import SafeCmd
    from cuprum.events import AsyncObserveHook, ObserveHook, SyncObserveHook
    from cuprum.result import CommandResult

type BeforeHook = Callable[[SafeCmd], object] | Callable[[SafeCmd], Awaitable[object]]
"""Called with the command before it starts; raising stops the run."""

type AfterHook = (
    Callable[[SafeCmd, CommandResult[Any]], object]
    | Callable[[SafeCmd, CommandResult[Any]], Awaitable[object]]
)
"""Called with the command and its result after the process is reaped."""

MIN_HOP_BUFFER: Final = 4096


def check_hop_buffer_size(size: object, what: str) -> None:
    """Reject a hop buffer size that is not a whole number of bytes >= 4096."""
    if size is None:
        return
    if isinstance(size, bool) or not isinstance(size, int):
        msg = f"{what} must be an int number of bytes, not {type(size).__name__}"
        raise TypeError(msg)
    if size < MIN_HOP_BUFFER:
        msg = f"{what} must be at least {MIN_HOP_BUFFER} bytes (one page), not {size}"
        raise ValueError(msg)


def _programs(value: Iterable[Program] | None, what: str) -> frozenset[Program] | None:
    if value is None:
        return None
    if isinstance(value, str):
        msg = f"{what} must be a collection of programs, not a string"
        raise TypeError(msg)
    programs: set[Program] = set()
    for program in value:
        if not isinstance(program, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            msg = f"{what} must hold program names, not {type(program).__name__}"
            raise TypeError(msg)
        programs.add(Program(exact_name(program)))
    return frozenset(programs)


@dataclasses.dataclass(frozen=True, slots=True)
class ScopeConfig:
    """One layer of scope.

    Parameters
    ----------
    allowlist
        Narrow the allowed programs to these (``None``: no narrowing).
    extend_allowlist
        Add these programs to the allowed ones (what ``allow()`` registers).
    timeout
        Default timeout in seconds for commands inside (``None``: inherit).
    env_overlay
        Environment variables layered over the enclosing scopes'.
    before_hooks, after_hooks, observe_hooks
        Hooks for commands run inside.
    redactor
        Secrets to hide from every event, exception and result ``repr``
        made inside (added to the enclosing scopes' redactors). A scope
        with none hides URL credentials.
    catalogue
        The catalogue ``sh.make`` uses inside when given none.
    locked
        Forbid ``allow()`` from extending the allowlist inside.
    echo
        The default of ``RunOutputOptions.echo`` inside.
    hop_buffer_size
        The default kernel buffer of each pipeline hop inside (bytes; see
        ``Pipeline.hop_buffer_size``).
    """

    allowlist: Iterable[Program] | None = None
    extend_allowlist: Iterable[Program] | None = None
    timeout: float | None = None
    # Not in the repr: its values may be secret.
    env_overlay: Mapping[str, str] | None = dataclasses.field(default=None, repr=False)
    before_hooks: Sequence[BeforeHook] = ()
    after_hooks: Sequence[AfterHook] = ()
    observe_hooks: Sequence[ObserveHook] = ()
    redactor: Redactor | None = None
    catalogue: ProgramCatalogue | None = None
    locked: bool = False
    echo: bool | None = None
    hop_buffer_size: int | None = None

    def __post_init__(self) -> None:
        """Validate and freeze the fields, so a bad scope fails on entry."""
        object.__setattr__(self, "allowlist", _programs(self.allowlist, "ScopeConfig.allowlist"))
        object.__setattr__(
            self, "extend_allowlist", _programs(self.extend_allowlist, "ScopeConfig.extend_allowlist")
        )
        validate_timeout(self.timeout, "ScopeConfig.timeout")
        if self.env_overlay is not None:
            object.__setattr__(
                self, "env_overlay", validate_overlay(self.env_overlay, "ScopeConfig.env_overlay")
            )
        for field in ("before_hooks", "after_hooks", "observe_hooks"):
            value = getattr(self, field)
            if callable(value) or isinstance(value, str):
                msg = f"ScopeConfig.{field} must be a sequence of callables"
                raise TypeError(msg)
            hooks = tuple(value)
            for hook in hooks:
                if not callable(hook):
                    msg = f"ScopeConfig.{field} must hold callables, not {type(hook).__name__}"
                    raise TypeError(msg)
            object.__setattr__(self, field, hooks)
        checks: tuple[tuple[str, object, type | tuple[type, ...]], ...] = (
            ("redactor", self.redactor, Redactor),
            ("catalogue", self.catalogue, ProgramCatalogue),
            ("locked", self.locked, bool),
            ("echo", self.echo, bool),
        )
        for name, value, kind in checks:
            if value is not None and not isinstance(value, kind):
                msg = f"ScopeConfig.{name} has the wrong type: {type(value).__name__}"
                raise TypeError(msg)
        check_hop_buffer_size(self.hop_buffer_size, "ScopeConfig.hop_buffer_size")


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


class _Layer:
    """One registered layer: whether it was detached, whether its ``with`` block is open."""

    __slots__ = ("config", "detached", "exited", "open_block")

    def __init__(self, config: ScopeConfig) -> None:
        self.config = config
        self.detached = False  # removed everywhere (detach())
        self.exited = False  # its with block ended (other contexts that copied it keep it)
        self.open_block = False


@dataclasses.dataclass(frozen=True, slots=True)
class ScopeState:
    """The effective scope: every live layer folded together once, when it changes."""

    layers: tuple[_Layer, ...] = ()
    allowlist: frozenset[Program] | None = None
    timeout: float | None = None
    env_overlays: tuple[Mapping[str, str], ...] = dataclasses.field(default=(), repr=False)
    before_hooks: tuple[Hook[BeforeHook], ...] = ()
    after_hooks: tuple[Hook[AfterHook], ...] = ()
    sync_observers: tuple[SyncObserveHook, ...] = ()
    async_observers: tuple[AsyncObserveHook, ...] = ()
    redactors: tuple[Redactor, ...] = (DEFAULT_REDACTOR,)
    catalogue: ProgramCatalogue | None = None
    locked: bool = False
    echo: bool = False
    hop_buffer_size: int | None = None
    generation: int = 0
    """``_Detaching.generation`` when this state was folded."""

    @classmethod
    def from_layers(cls, layers: Iterable[_Layer]) -> ScopeState:
        """Fold the live ``layers`` (outermost first) into one state."""
        live = tuple(layer for layer in layers if not layer.detached)
        allowlist: frozenset[Program] | None = None
        timeout: float | None = None
        overlays: list[Mapping[str, str]] = []
        before: list[Hook[BeforeHook]] = []
        after: list[Hook[AfterHook]] = []
        sync_observers: list[SyncObserveHook] = []
        async_observers: list[AsyncObserveHook] = []
        redactors: list[Redactor] = []
        catalogue: ProgramCatalogue | None = None
        locked = False
        echo = False
        hop_buffer_size: int | None = None
        for layer in live:
            config = layer.config
            if config.allowlist is not None:
                narrowed = frozenset(config.allowlist)
                allowlist = narrowed if allowlist is None else allowlist & narrowed
            if config.extend_allowlist is not None and allowlist is not None:
                allowlist = allowlist | frozenset(config.extend_allowlist)
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
            if config.redactor is not None:
                redactors.append(config.redactor)
            catalogue = config.catalogue or catalogue
            locked = locked or config.locked
            echo = echo if config.echo is None else config.echo
            hop_buffer_size = config.hop_buffer_size or hop_buffer_size
        return cls(
            layers=live,
            allowlist=allowlist,
            timeout=timeout,
            env_overlays=tuple(overlays),
            before_hooks=tuple(before),
            after_hooks=tuple(reversed(after)),
            sync_observers=tuple(sync_observers),
            async_observers=tuple(async_observers),
            redactors=tuple(redactors) or (DEFAULT_REDACTOR,),
            catalogue=catalogue,
            locked=locked,
            echo=echo,
            hop_buffer_size=hop_buffer_size,
            generation=_Detaching.generation,
        )

    @property
    def observed(self) -> bool:
        """Whether any observer is registered."""
        return bool(self.sync_observers or self.async_observers)

    def is_allowed(self, program: str) -> bool:
        """Whether the scope's allowlist admits ``program``."""
        return self.allowlist is None or exact_name(program) in self.allowlist


_EMPTY: Final = ScopeState()
_CURRENT: contextvars.ContextVar[ScopeState] = contextvars.ContextVar("cuprum_scope", default=_EMPTY)


class _Detaching:
    """Counts detaches, so a context can tell that one of its layers may have gone."""

    generation = 0


def current_scope() -> ScopeState:
    """The scope in effect for the calling task or thread.

    A layer detached from another thread or task is dropped here too: the
    state is folded again when any layer was detached since it was made.
    """
    state = _CURRENT.get()
    if state.generation != _Detaching.generation and state.layers:
        if any(layer.detached for layer in state.layers):
            state = ScopeState.from_layers(state.layers)
        else:
            state = dataclasses.replace(state, generation=_Detaching.generation)
        _CURRENT.set(state)
    return state


class ScopeHandle:
    """A registered scope layer.

    ``detach()`` removes the layer (idempotently). Used as a context manager,
    leaving the block restores the state from before the layer was
    registered (minus anything detached since), so nothing registered inside
    outlives it.
    """

    __slots__ = ("_before", "_layer")

    def __init__(self, config: ScopeConfig) -> None:
        state = current_scope()
        if config.extend_allowlist is not None and state.locked:
            msg = "this scope is locked: allow() cannot extend its allowlist"
            raise ScopeLockedError(msg)
        self._before = state
        self._layer = _Layer(config)
        _CURRENT.set(ScopeState.from_layers((*state.layers, self._layer)))

    def detach(self) -> None:
        """Remove this layer from the current context's scope; again is a no-op."""
        if self._layer.detached:
            return
        self._layer.detached = True
        _Detaching.generation += 1
        state = _CURRENT.get()
        if self._layer in state.layers:
            _CURRENT.set(ScopeState.from_layers(state.layers))

    def __enter__(self) -> Self:
        """Return the handle; the layer is already in effect."""
        self._layer.open_block = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Restore the state from before the layer, dropping whatever was added inside.

        Layers of ``with`` blocks that are still open stay (a block left out
        of order, such as a generator closed inside another block, does not
        take its neighbours with it).
        """
        layer = self._layer
        layer.open_block = False
        layer.exited = True
        before = [other for other in self._before.layers if not other.exited]
        still_open = [
            other
            for other in current_scope().layers
            if other not in before and other is not layer and other.open_block and not other.detached
        ]
        _CURRENT.set(ScopeState.from_layers((*before, *still_open)))


def scoped(config: ScopeConfig) -> ScopeHandle:
    """Enter a scope layer: ``with scoped(ScopeConfig(...)):``."""
    return ScopeHandle(config)


def allow(*programs: Program) -> ScopeHandle:
    """Extend the allowlist with ``programs`` while the layer lives.

    Raises
    ------
    ScopeLockedError
        When an enclosing scope is ``locked``.
    """
    return ScopeHandle(ScopeConfig(extend_allowlist=programs))


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


def is_finite_timeout(timeout: float | None) -> bool:
    """Whether ``timeout`` is a real limit (not ``None`` or infinity)."""
    return timeout is not None and not math.isinf(timeout)
