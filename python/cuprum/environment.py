"""Build a child's environment: live ``os.environ``, scope overlays, context.

Every key and value is checked before anything is spawned: both must be
``str``, neither may contain NUL, and a key may not be empty or contain
``=``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from cuprum.plain import plain_str


def validate_overlay(overlay: Mapping[str, str], what: str) -> dict[str, str]:
    """Return ``overlay`` as a plain dict, or raise ``ValueError`` naming the bad entry."""
    if not isinstance(overlay, Mapping):
        msg = f"{what} must be a mapping of str to str"
        raise ValueError(msg)  # noqa: TRY004 (documented as ValueError: an invalid environment)
    checked: dict[str, str] = {}
    for key, value in overlay.items():
        if not isinstance(key, str) or not key or "=" in key or "\0" in key:
            msg = (
                f"{what}: invalid environment variable name {key!r} (need a non-empty str without '=' or NUL)"
            )
            raise ValueError(msg)
        if not isinstance(value, str) or "\0" in value:
            msg = f"{what}: invalid value for {key} (need a str without NUL; the value is not shown)"
            raise ValueError(msg)
        checked[plain_str(key)] = plain_str(value)
    return checked


def build_environment(
    overlays: Iterable[Mapping[str, str]],
    context_env: Mapping[str, str] | None,
) -> dict[str, str] | None:
    """Return the child's environment, or ``None`` to inherit it unchanged.

    Parameters
    ----------
    overlays
        The scopes' overlays, outermost first (already validated).
    context_env
        ``ExecutionContext.env``, applied last.
    """
    layers = list(overlays)
    if context_env is not None:
        layers.append(validate_overlay(context_env, "ExecutionContext.env"))
    if not any(layers):
        return None
    environment = dict(os.environ)
    for layer in layers:
        environment.update(layer)
    return environment
