"""Run pytest from a Bazel ``py_test``.

Arguments are the runfiles paths of the test files plus any extra pytest
flags. Results go to the JUnit XML file Bazel asks for.
"""

import os
import sys

import pytest

if __name__ == "__main__":
    args = [*sys.argv[1:], "-p", "no:cacheprovider", "-q"]
    if xml_path := os.environ.get("XML_OUTPUT_FILE"):
        args += ["--junitxml", xml_path]
    sys.exit(pytest.main(args))
