"""Bazel's wheel says what pip's build says: pyproject.toml's [project], Cargo's version."""

from __future__ import annotations

import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest

ROOT = Path.cwd()
"""The runfiles root of this workspace: Bazel runs the test from there."""


@pytest.fixture(scope="module")
def wheel() -> zipfile.ZipFile:
    (path,) = (ROOT / "python").glob("cuprum-*.whl")
    return zipfile.ZipFile(path)


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def dist_info(wheel: zipfile.ZipFile) -> str:
    (name,) = {entry.split("/", 1)[0] for entry in wheel.namelist() if ".dist-info/" in entry}
    return name


def test_metadata_matches_pyproject(wheel: zipfile.ZipFile, project: dict[str, Any]) -> None:
    metadata = Parser().parsestr(wheel.read(f"{dist_info(wheel)}/METADATA").decode())
    cargo = tomllib.loads((ROOT / "rust" / "Cargo.toml").read_text(encoding="utf-8"))
    assert metadata["Name"] == project["name"]
    assert metadata["Version"] == cargo["workspace"]["package"]["version"]
    assert metadata["Summary"] == project["description"]
    assert metadata["Requires-Python"] == project["requires-python"]
    assert metadata["License-Expression"] == project["license"] == cargo["workspace"]["package"]["license"]
    assert metadata.get_all("Classifier") == project["classifiers"]
    assert metadata.get_all("License-File") == project["license-files"]
    assert metadata.get_payload() == (ROOT / project["readme"]).read_text(encoding="utf-8")


def test_the_licence_is_shipped(wheel: zipfile.ZipFile) -> None:
    shipped = wheel.read(f"{dist_info(wheel)}/licenses/LICENSE")
    assert shipped == (ROOT / "LICENSE").read_bytes()
    assert shipped.startswith(b"MIT License")


def test_the_wheel_holds_the_package_and_nothing_else(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    assert {"cuprum/__init__.py", "cuprum/py.typed", "cuprum/_rust.abi3.so", "cuprum/_rust.pyi"} <= set(names)
    assert all(name.startswith(("cuprum/", dist_info(wheel) + "/")) for name in names)
