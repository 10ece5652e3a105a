"""The examples in the package's docstrings run and print what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import cuprum

# The adapters import optional libraries lazily; their docstrings hold no
# examples, and importing them must not be needed here.
MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(cuprum.__path__, prefix="cuprum.")
    if not info.name.startswith("cuprum._")
)


def test_every_module_is_found() -> None:
    assert "cuprum.engine.supervisor" in MODULES
    assert "cuprum.builders.validators" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert failures == 0, f"{failures} docstring example(s) failed in {name}"


def test_the_examples_are_not_vacuous() -> None:
    attempted = sum(doctest.testmod(importlib.import_module(name))[1] for name in MODULES)
    assert attempted >= 10
