"""behave hooks shared by every Cuprum feature.

Scenarios tagged ``@rust``, and every scenario under
``CUPRUM_STREAM_BACKEND=rust``, need the Rust extension: without it they are
skipped, unless ``CUPRUM_REQUIRE_RUST=1`` (Bazel's test macro, CI), which
makes its absence an error.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from cuprum.stream_backend import ENV_VAR, rust_extension

if TYPE_CHECKING:
    from behave.model import Scenario
    from behave.runner import Context


def _rust_missing() -> str | None:
    """Why the Rust extension cannot be used, or ``None`` when it can."""
    try:
        rust_extension()
    except ImportError as error:
        return str(error)
    return None


def before_all(context: Context) -> None:
    """Where the extension is required (Bazel, CI), its absence fails the run."""
    del context
    if os.environ.get("CUPRUM_REQUIRE_RUST") == "1" and (reason := _rust_missing()):
        message = f"CUPRUM_REQUIRE_RUST=1, but the Rust extension is missing: {reason}"
        raise RuntimeError(message)


def before_scenario(context: Context, scenario: Scenario) -> None:
    """Skip what needs a missing extension; remember the environment, which a scenario may change."""
    context.saved_environ = dict(os.environ)
    context.cleanups = []
    backend = os.environ.get(ENV_VAR, "").strip().lower()
    if (backend == "rust" or "rust" in scenario.effective_tags) and (reason := _rust_missing()):
        scenario.skip(f"needs the Rust extension: {reason}")


def after_scenario(context: Context, scenario: Scenario) -> None:
    """Undo the scenario's changes to the environment and to modules."""
    del scenario
    for cleanup in reversed(context.cleanups):
        cleanup()
    os.environ.clear()
    os.environ.update(context.saved_environ)
