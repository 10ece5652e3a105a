"""The package as installed: one version everywhere, read lazily from the metadata."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

import cuprum
from cuprum.stream_backend import rust_extension

# The checkout's root: the real one for plain pytest, the runfiles root under Bazel.
CARGO_TOML = Path(__file__).absolute().parents[2] / "rust" / "Cargo.toml"


def cargo_version() -> str:
    """The version written in rust/Cargo.toml, the one place that defines it."""
    manifest = tomllib.loads(CARGO_TOML.read_text(encoding="utf-8"))
    return str(manifest["workspace"]["package"]["version"])


def test_the_version_is_cargos() -> None:
    assert cuprum.__version__ == cargo_version()


def test_the_version_is_the_distributions() -> None:
    assert metadata.version("cuprum") == cuprum.__version__


@pytest.mark.rust
def test_the_extension_was_built_from_the_same_version() -> None:
    assert rust_extension().__version__ == cargo_version()


def test_import_does_not_read_the_metadata() -> None:
    code = "import sys, cuprum; print('importlib.metadata' in sys.modules, cuprum.__version__)"
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert completed.stdout.split() == ["False", cargo_version()]


def test_unknown_attributes_still_raise() -> None:
    name = "not_there"
    with pytest.raises(AttributeError, match="no attribute 'not_there'"):
        getattr(cuprum, name)
