"""behave hooks shared by every Cuprum feature."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from behave.model import Scenario
    from behave.runner import Context


def before_scenario(context: Context, scenario: Scenario) -> None:
    """Remember the environment so each scenario can change it freely."""
    del scenario
    context.saved_environ = dict(os.environ)
    context.cleanups = []


def after_scenario(context: Context, scenario: Scenario) -> None:
    """Undo the scenario's changes to the environment and to modules."""
    del scenario
    for cleanup in reversed(context.cleanups):
        cleanup()
    os.environ.clear()
    os.environ.update(context.saved_environ)
