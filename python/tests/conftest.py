"""Shared pytest configuration for Cuprum's unit tests."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# Deterministic, database-free Hypothesis runs: Bazel tests must not write
# state beside the sources, and a failure must reproduce from its seed.
settings.register_profile(
    "cuprum",
    database=None,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("cuprum")


@pytest.fixture
def selected_backend() -> str:
    """The backend this test target runs under (``python`` or ``rust``)."""
    return os.environ.get("CUPRUM_STREAM_BACKEND", "auto")
