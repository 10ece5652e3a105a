"""Run pytest from a Bazel ``py_test``.

Arguments are the runfiles paths of the test files plus any extra pytest
flags. Results go to the JUnit XML file Bazel asks for, and Bazel's test
sharding (``shard_count``) is honoured: shard *i* of *n* runs every *n*-th
collected test, starting at the *i*-th.
"""

import os
import sys
from pathlib import Path

import pytest


class BazelSharding:
    """A pytest plugin that keeps only this shard's share of the tests."""

    def __init__(self, index: int, total: int) -> None:
        self.index = index
        self.total = total

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        """Deselect the tests other shards run."""
        mine = [item for position, item in enumerate(items) if position % self.total == self.index]
        others = [item for position, item in enumerate(items) if position % self.total != self.index]
        if others:
            config.hook.pytest_deselected(items=others)
        items[:] = mine


def main() -> int:
    """Run pytest with Bazel's conventions."""
    args = [*sys.argv[1:], "-p", "no:cacheprovider", "-q"]
    if xml_path := os.environ.get("XML_OUTPUT_FILE"):
        args += ["--junitxml", xml_path]
    plugins: list[object] = []
    if (total := int(os.environ.get("TEST_TOTAL_SHARDS", "1"))) > 1:
        plugins.append(BazelSharding(int(os.environ["TEST_SHARD_INDEX"]), total))
        if status := os.environ.get("TEST_SHARD_STATUS_FILE"):
            Path(status).touch()  # tells Bazel this runner understands sharding
    return int(pytest.main(args, plugins=plugins))


if __name__ == "__main__":
    sys.exit(main())
