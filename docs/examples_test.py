"""The guide's worked examples (``docs/examples``) do what the guide says.

- ``count-errors.sh`` and its port ``count_errors.py`` give the same stdout,
  stderr, exit status and output file on every input, and the guide shows
  them as they are ("Porting shell scripts");
- the sort builder and the builder template build, validate and run as
  documented ("Writing a builder for your project");
- the sugar typing sample runs ("Attribute sugar");
- the guide's contents list names every chapter, in order.
"""

from __future__ import annotations

import doctest
import importlib.util
import inspect
import os
import re
import site
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import cuprum
from cuprum import (
    DEFAULT_CATALOGUE,
    ExecutionContext,
    Program,
    ProjectSettings,
    RunOutputOptions,
    UnknownProgramError,
    sh,
)

if TYPE_CHECKING:
    from types import ModuleType

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE / "examples"
SH = Program("sh")
PYTHON = Program(sys.executable)
CATALOGUE = DEFAULT_CATALOGUE.extended(ProjectSettings(name="docs-tests", programs=(SH, PYTHON)))
"""The default catalogue plus ``sh`` and this interpreter, to run the two versions."""


def _load(name: str) -> ModuleType:
    """Import ``docs/examples/<name>.py`` (``docs`` is not a package)."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# --- porting shell scripts -------------------------------------------------------------

LEVELS = ("INFO", "ERROR", "ERROR")
LOGS: dict[str, str] = {
    "empty": "",
    "no errors": "2024-05-01T10:00:00 INFO started\n2024-05-01T10:00:01 WARN slow disk\n",
    "a few errors": (
        "2024-05-01T10:00:00 ERROR disk full\n"
        "2024-05-01T10:00:01 INFO retrying\n"
        "2024-05-01T10:00:02 ERROR disk full\n"
        "2024-05-01T10:00:03 ERROR network down\n"
        "2024-05-01T10:00:04 ERROR -v is not an option here\n"
    ),
    "no final newline": "2024-05-01T10:00:00 ERROR last line\n2024-05-01T10:00:01 ERROR last line",
    # Enough distinct messages that sort is still writing when head leaves.
    "many errors": "".join(
        f"2024-05-01T10:{n // 60 % 60:02d}:{n % 60:02d} {LEVELS[n % 3]} code {n * 7919 % 5003}\n"
        for n in range(60_000)
    ),
}


def _run_both(arguments: list[str], cwd: Path) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """Run the script and its port with ``arguments``; return what each did."""
    context = ExecutionContext(cwd=cwd, env={"PYTHONPATH": os.pathsep.join(sys.path), "LC_ALL": "C"})
    outcomes: list[tuple[object, ...]] = []
    commands = (
        sh.make(SH, catalogue=CATALOGUE)(EXAMPLES / "count-errors.sh", *arguments),
        sh.make(PYTHON, catalogue=CATALOGUE)(EXAMPLES / "count_errors.py", *arguments),
    )
    for command in commands:
        result = command.run_sync(output=RunOutputOptions(text=False), context=context, timeout=60)
        out = cwd / arguments[1]
        written = out.read_bytes() if out.exists() else None
        outcomes.append((result.exit_code, result.stdout, result.stderr, written))
        out.unlink(missing_ok=True)
    return outcomes[0], outcomes[1]


@pytest.mark.parametrize("name", sorted(LOGS))
@pytest.mark.parametrize("top", [None, "1"])
def test_the_port_behaves_as_the_script(tmp_path: Path, name: str, top: str | None) -> None:
    (tmp_path / "app.log").write_text(LOGS[name], encoding="utf-8")
    arguments = ["app.log", "errors.txt", *([top] if top else [])]
    script, port = _run_both(arguments, tmp_path)
    assert port == script
    assert script[0] == 0


def test_a_missing_log_fails_alike(tmp_path: Path) -> None:
    script, port = _run_both(["missing.log", "errors.txt"], tmp_path)
    assert port == script
    status, stdout, stderr, written = script
    assert (status, stdout, written) == (2, b"", b"")
    assert isinstance(stderr, bytes)
    assert b"missing.log" in stderr


def test_the_guide_shows_the_script_and_the_port_as_they_are() -> None:
    guide = (HERE / "users-guide.md").read_text(encoding="utf-8")
    script = (EXAMPLES / "count-errors.sh").read_text(encoding="utf-8")
    assert f"```sh\n{script}```\n" in guide
    assert inspect.getsource(_load("count_errors").count_errors) in guide


def test_the_summary_is_what_the_guide_shows(tmp_path: Path) -> None:
    (tmp_path / "app.log").write_text(LOGS["a few errors"], encoding="utf-8")
    _, port = _run_both(["app.log", "errors.txt", "2"], tmp_path)
    assert port[1] == b"      2 disk full\n      1 network down\n4\n"


# --- writing a builder ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sort_builder", "builder_template"])
def test_the_builder_doctests_pass(name: str) -> None:
    results = doctest.testmod(_load(name))
    assert results.attempted > 0
    assert results.failed == 0


def test_the_sort_builder_runs_and_keeps_values_out_of_options(tmp_path: Path) -> None:
    builder: Any = _load("sort_builder")
    from cuprum.builders import SafePath  # noqa: PLC0415

    data = tmp_path / "-scores.csv"
    data.write_text("ann,7\nbob,12\ncy,9\n", encoding="utf-8")
    member = SafePath("-scores.csv", allow_relative=True)
    cmd = builder.sort([member], keys=[builder.SortKey("2,2nr")], separator=",")
    assert cmd.argv == ("sort", "--field-separator=,", "--key=2,2nr", "--", "./-scores.csv")
    context = ExecutionContext(cwd=tmp_path, env={"LC_ALL": "C"})
    assert cmd.run_sync(context=context, check=True).stdout == "bob,12\ncy,9\nann,7\n"
    in_place = builder.sort([member], output=member, unique=True)
    in_place.run_sync(context=context, check=True)
    assert data.read_text(encoding="utf-8") == "ann,7\nbob,12\ncy,9\n"
    for bad in ("0,1", "2,x", "-k1", "1 2", ""):
        with pytest.raises(builder.InvalidSortKeyError):
            builder.SortKey(bad)
    for separator in ("", "ab", "\n", "\0"):
        with pytest.raises(ValueError, match="separator"):
            builder.sort(separator=separator)
    with pytest.raises(TypeError):
        builder.sort(["-scores.csv"])
    with pytest.raises(TypeError):
        builder.sort(keys=["2,2n"])


def test_the_template_uses_its_own_catalogue() -> None:
    template: Any = _load("builder_template")
    from cuprum.builders import SafePath  # noqa: PLC0415

    with pytest.raises(UnknownProgramError):
        sh.make(template.DEPLOYCTL)
    with pytest.raises(template.InvalidServiceNameError):
        template.ServiceName("-rf")
    with pytest.raises(TypeError):
        template.deploy("billing", [SafePath("/srv/app")])
    with pytest.raises(ValueError, match="at least one"):
        template.deploy(template.ServiceName("billing"), [])


def test_the_sugar_sample_runs() -> None:
    sample: Any = _load("sugar_typing")
    assert sample.listing().argv == ("ls", "-l", "-a")


CHECKERS = {
    # mypy checks only the sample; Cuprum's own modules are read for their types.
    "mypy": ["-m", "mypy", "--strict", "--follow-imports=silent", "--no-incremental"],
    "basedpyright": ["-m", "basedpyright", "--level", "error", "--pythonpath", sys.executable],
}


@pytest.mark.parametrize("checker", sorted(CHECKERS))
def test_type_checkers_know_a_registered_name_is_a_builder(checker: str, tmp_path: Path) -> None:
    """The sample's ``assert_type(sh.ls, CommandBuilder)`` holds for both checkers, in strict mode."""
    package_root = str(Path(cuprum.__file__).parent.parent)
    # A copy in an empty directory: mypy walks up from a file while the
    # directories hold __init__.py, and a runfiles tree staged by copies
    # (remote execution) has one up to its root, which no package is named.
    sample = tmp_path / "sugar_typing.py"
    sample.write_bytes((EXAMPLES / "sugar_typing.py").read_bytes())
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "MYPY_CACHE_DIR": str(tmp_path / "mypy-cache"),
    }
    if package_root not in site.getsitepackages():
        # Bazel's runfiles: not an installed package, so mypy is told where.
        # (mypy refuses a site-packages directory in MYPYPATH: pip installs
        # are found through the interpreter, with their py.typed.)
        environment["MYPYPATH"] = package_root
    completed = subprocess.run(
        [sys.executable, *CHECKERS[checker], str(sample)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
        env=environment,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


# --- the guide ------------------------------------------------------------------------------


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_the_contents_list_every_chapter_in_order() -> None:
    guide = (HERE / "users-guide.md").read_text(encoding="utf-8")
    body = re.sub(r"^```.*?^```$", "", guide, flags=re.MULTILINE | re.DOTALL)
    headings: list[str] = re.findall(r"^## (.+)$", body, flags=re.MULTILINE)
    contents = headings.pop(0)
    assert contents == "Contents"
    listed = re.findall(r"^\d+\. \[(.+?)\]\(#(.+?)\)$", guide, flags=re.MULTILINE)
    assert [title for title, _ in listed] == headings
    assert [anchor for _, anchor in listed] == [_anchor(heading) for heading in headings]
