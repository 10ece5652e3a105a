"""Steps for builders.feature: validated paths and refs, and a real tar round trip.

The round trip runs GNU tar, which every supported platform (and the Bazel
sysroot) provides; nothing here needs git or rsync installed.
"""

from __future__ import annotations

import shlex
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Final

from behave import given, then, when

from cuprum.builders import GitRef, InvalidPathError, InvalidRefError, SafePath, git, tar

if TYPE_CHECKING:
    from behave.runner import Context

    from cuprum import SafeCmd
    from cuprum.builders import Compression

COMPRESSIONS: Final[dict[str, Compression | None]] = {
    "no": None,
    "gzip": "gzip",
    "bzip2": "bzip2",
    "xz": "xz",
    "zstd": "zstd",
}
"""The feature's words for each compression."""

RUN_TIMEOUT: Final = 30.0
"""Every run gets this timeout: a hang fails the scenario instead of stalling it."""


def scratch(context: Context) -> Path:
    """A temporary directory for the scenario, removed after it."""
    if getattr(context, "builders_scratch", None) is None:
        context.builders_scratch = Path(tempfile.mkdtemp(prefix="cuprum-builders-"))
        context.cleanups.append(lambda: shutil.rmtree(context.builders_scratch, ignore_errors=True))
    return context.builders_scratch


def run_checked(cmd: SafeCmd) -> None:
    """Run a builder's command, failing the step if it fails."""
    result = cmd.run_sync(timeout=RUN_TIMEOUT)
    assert result.ok, f"{cmd} exited with {result.exit_code}: {result.stderr}"


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, by relative name."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()
    }


# --- given -------------------------------------------------------------------


@given('a directory holding files named "{first}", "{second}", "{third}" and "{fourth}"')
def step_awkward_directory(context: Context, first: str, second: str, third: str, fourth: str) -> None:
    source = scratch(context) / "source"
    source.mkdir()
    context.names = [first, second, third, fourth]
    for name in context.names:
        (source / name).write_text(f"contents of {name}\n", encoding="utf-8")
    context.source = source


# --- when --------------------------------------------------------------------


@when('a safe path is made from "{value}"')
def step_make_path(context: Context, value: str) -> None:
    context.path_error = None
    try:
        SafePath(value)
    except InvalidPathError as error:
        context.path_error = error


@when('a tar archive of the relative member "{member}" is built')
def step_build_tar(context: Context, member: str) -> None:
    context.command = tar.create(SafePath("/srv/out.tar"), [SafePath(member, allow_relative=True)])


@when('the branch "{branch}" is checked out with create in the repository "{repo}"')
def step_checkout_create(context: Context, branch: str, repo: str) -> None:
    context.command = None
    context.ref_error = None
    try:
        context.command = git.checkout(SafePath(repo), GitRef(branch), create=True)
    except InvalidRefError as error:
        context.ref_error = error


@when("the directory is archived with {compression} compression and extracted elsewhere")
def step_round_trip(context: Context, compression: str) -> None:
    chosen = COMPRESSIONS[compression]
    archive = SafePath(scratch(context)) / "archive.tar"
    members = [SafePath(name, allow_relative=True) for name in context.names]
    run_checked(tar.create(archive, members, compression=chosen, directory=SafePath(context.source)))
    destination = scratch(context) / "destination"
    destination.mkdir()
    run_checked(tar.extract(archive, SafePath(destination)))
    context.destination = destination


# --- then --------------------------------------------------------------------


@then("an InvalidPathError says the path {reason}")
def step_path_refused(context: Context, reason: str) -> None:
    error = context.path_error
    assert isinstance(error, InvalidPathError), error
    assert isinstance(error, ValueError)
    assert reason in str(error), str(error)


@then('the member follows "--" as "{member}"')
def step_member_after_separator(context: Context, member: str) -> None:
    argv: tuple[str, ...] = context.command.argv
    separator = argv.index("--")
    assert argv[separator + 1 :] == (member,), argv


@then('the archive is given as "{option}"')
def step_archive_option(context: Context, option: str) -> None:
    argv: tuple[str, ...] = context.command.argv
    assert option in argv[: argv.index("--")], argv


@then('an InvalidRefError names the rule "{rule}"')
def step_ref_refused(context: Context, rule: str) -> None:
    error = context.ref_error
    assert isinstance(error, InvalidRefError), error
    assert isinstance(error, ValueError)
    assert str(error.rule) == rule, (str(error.rule), rule)
    assert rule in str(error), str(error)


@then("no git command was built")
def step_no_git_command(context: Context) -> None:
    assert context.command is None, context.command


@then('the git command is "{line}"')
def step_git_command(context: Context, line: str) -> None:
    command: SafeCmd = context.command
    assert command.argv == tuple(shlex.split(line)), command.argv


@then("the extracted files match the originals")
def step_trees_match(context: Context) -> None:
    assert read_tree(context.destination) == read_tree(context.source)
    assert sorted(read_tree(context.destination)) == sorted(context.names)


@then('no file named "{name}" exists')
def step_no_such_file(context: Context, name: str) -> None:
    found = list(scratch(context).rglob(name))
    assert not found, f"a member name was run as a command: {found}"
