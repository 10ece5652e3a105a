"""Tests for the safe builders (``cuprum.builders``): validators, argv shapes, real runs.

The property tests throw hostile text at every validator and builder: each
value must either be refused with the right error (naming the rule it
breaks) or reach the argv as an operand no program can read as an option —
after ``--``, inside ``--option=value``, or as the argument of ``-C`` and
never beginning with ``-``. The real runs use tar (always present) and git
and rsync where they are installed.
"""

from __future__ import annotations

import doctest
import inspect
import os
import pathlib
import shutil
import string
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import TEST_CATALOGUE

import cuprum.builders
from cuprum import (
    DEFAULT_CATALOGUE,
    GIT,
    TAR,
    CommandFailed,
    ExecutionContext,
    ProgramCatalogue,
    ProjectSettings,
    UnknownProgramError,
    sh,
)
from cuprum.builders import (
    GitRef,
    InvalidPathError,
    InvalidRefError,
    PathRule,
    RefRule,
    SafePath,
    git,
    rsync,
    tar,
    validators,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from cuprum import CommandResult, SafeCmd

REPO = SafePath("/srv/repo")
MAIN = GitRef("main")
ORIGIN = GitRef("origin")
NO_LOCAL = ("-c", "protocol.file.allow=never")

HAVE_GIT = shutil.which("git") is not None
HAVE_RSYNC = shutil.which("rsync") is not None
needs_git = pytest.mark.skipif(not HAVE_GIT, reason="git is not installed here")
needs_rsync = pytest.mark.skipif(not HAVE_RSYNC, reason="rsync is not installed here")

RUN_TIMEOUT = 30.0

HOSTILE_PIECES = st.sampled_from(
    [
        "-",
        "--",
        "-e",
        "-rf",
        "--rsh=sh",
        "-I",
        "--to-command=sh",
        "--upload-pack=touch x",
        "-c",
        "+",
        "/",
        "//",
        "./",
        "../",
        "..",
        ".",
        "~",
        " ",
        "\t",
        "\n",
        "\0",
        "\x7f",
        ":",
        "host:",
        "rsync://",
        "ext::sh -c",
        "*",
        "?",
        "[",
        "\\",
        "^",
        "@{",
        "@",
        ".lock",
        "é",
        "\u202e",
        "\ud800",
        "\udcff",
        "😀",
        "$(rm -rf /)",
        ";",
        "|",
    ]
)


def _repeat(piece: str, count: int) -> str:
    return piece * count


HOSTILE = st.one_of(
    st.lists(HOSTILE_PIECES | st.text(max_size=4), max_size=8).map("".join),
    st.text(),
    st.builds(_repeat, HOSTILE_PIECES, st.integers(500, 5000)),
)
"""Text built to look like options, escapes, remotes and traversals, or just to be long."""


def run(cmd: SafeCmd, **context: Any) -> CommandResult:
    """Run a builder's command, checked, with a timeout so a hang fails."""
    ctx = ExecutionContext(**context) if context else None
    return cmd.run_sync(timeout=RUN_TIMEOUT, check=True, context=ctx)


def relative(value: str) -> SafePath:
    return SafePath(value, allow_relative=True)


# --- SafePath ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["/", "/srv/app", "/srv/app/", "/a b/ c ", "/caf\u00e9/\u00e9t\u00e9", "/.../a..b/.x", "/-x"]
)
def test_absolute_paths_are_kept_exactly(value: str) -> None:
    path = SafePath(value)
    assert str(path) == os.fspath(path) == value
    assert path.is_absolute


def test_path_like_values_are_accepted() -> None:
    assert str(SafePath(pathlib.Path("/srv/app"))) == "/srv/app"
    assert str(SafePath(pathlib.PurePosixPath("rel/x"), allow_relative=True)) == "rel/x"


class BytesPath:
    def __init__(self, path: bytes) -> None:
        self._path = path

    def __fspath__(self) -> bytes:
        return self._path


def test_bytes_path_like_is_decoded_with_the_file_system_encoding() -> None:
    raw = os.fsencode("/caf\u00e9/x")
    assert str(SafePath(BytesPath(raw))) == os.fsdecode(raw)


@pytest.mark.parametrize("value", [b"/srv", 3, None, ["/srv"], object()])
def test_other_types_are_type_errors(value: object) -> None:
    with pytest.raises(TypeError, match=r"a path must be a str or os\.PathLike"):
        SafePath(value)  # pyright: ignore[reportArgumentType]


def test_empty_is_refused() -> None:
    with pytest.raises(InvalidPathError, match="must not be empty") as caught:
        SafePath("", allow_relative=True)
    assert caught.value.rule is PathRule.EMPTY


@pytest.mark.parametrize("value", ["/a\0b", "\0", "/srv/\0"])
def test_nul_is_refused(value: str) -> None:
    with pytest.raises(InvalidPathError, match="NUL") as caught:
        SafePath(value, allow_relative=True)
    assert caught.value.rule is PathRule.NUL
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("value", ["..", "../x", "/..", "/srv/../etc", "/srv/..", "a/../b", "a/..//b"])
def test_parent_segments_are_refused(value: str) -> None:
    with pytest.raises(InvalidPathError, match=r"'\.\.' segment") as caught:
        SafePath(value, allow_relative=True)
    assert caught.value.rule is PathRule.PARENT
    assert caught.value.value == value


@pytest.mark.parametrize("value", ["...", "a..", "..a", "/srv/a..b", "/x/.../y"])
def test_dots_that_are_not_a_parent_segment_are_fine(value: str) -> None:
    assert str(SafePath(value, allow_relative=True)) == value


@pytest.mark.parametrize("value", ["srv", "./x", "x/", " /srv", "~/x", "host:path"])
def test_relative_paths_need_allow_relative(value: str) -> None:
    with pytest.raises(InvalidPathError, match="must be absolute") as caught:
        SafePath(value)
    assert caught.value.rule is PathRule.RELATIVE
    assert not relative(value).is_absolute


@pytest.mark.parametrize(
    ("value", "rendered"),
    [("-", "./-"), ("-rf", "./-rf"), ("--to-command=sh", "./--to-command=sh"), ("-x/y", "./-x/y")],
)
def test_a_relative_path_that_looks_like_an_option_is_rendered_with_dot_slash(
    value: str, rendered: str
) -> None:
    path = relative(value)
    assert str(path) == os.fspath(path) == rendered
    with pytest.raises(InvalidPathError, match="must be absolute"):
        SafePath(value)


@pytest.mark.parametrize("value", ["/\ud800", "rel/\udbff\udfff\ud800"])
def test_unencodable_text_is_refused(value: str) -> None:
    with pytest.raises(InvalidPathError, match="file-system encoding") as caught:
        SafePath(value, allow_relative=True)
    assert caught.value.rule is PathRule.UNENCODABLE


def test_surrogate_escaped_bytes_round_trip() -> None:
    value = os.fsdecode(b"/srv/\xff")
    assert os.fsencode(SafePath(value)) == b"/srv/\xff"


def test_paths_longer_than_path_max_are_refused() -> None:
    assert str(SafePath("/" + "a" * 4094)) == "/" + "a" * 4094
    with pytest.raises(InvalidPathError, match="PATH_MAX") as caught:
        SafePath("/" + "a" * 4095)
    assert caught.value.rule is PathRule.TOO_LONG
    assert len(str(caught.value)) < 300, "a huge value must not flood the message"


def test_safe_paths_compare_hash_and_repr_by_text() -> None:
    assert SafePath("/a") == SafePath("/a")
    assert SafePath("/a") != SafePath("/b")
    assert SafePath("/a") != "/a"
    assert len({SafePath("/a"), SafePath("/a"), relative("a")}) == 2
    assert repr(SafePath("/a")) == "SafePath('/a')"
    assert repr(relative("-a")) == "SafePath('./-a', allow_relative=True)"


def test_safe_paths_are_immutable() -> None:
    path = SafePath("/a")
    with pytest.raises(AttributeError, match="immutable"):
        path.is_absolute = False  # pyright: ignore[reportAttributeAccessIssue]
    with pytest.raises(AttributeError, match="immutable"):
        path.anything = "/etc"  # pyright: ignore[reportAttributeAccessIssue]
    with pytest.raises(AttributeError, match="immutable"):
        del path.anything  # pyright: ignore[reportAttributeAccessIssue]
    assert str(path) == "/a"


def test_joining_validates_the_result() -> None:
    assert SafePath("/srv") / "app" / "releases" == SafePath("/srv/app/releases")
    assert (SafePath("/srv") / pathlib.PurePosixPath("x.tar")).is_absolute
    assert relative("a") / "b" == relative("a/b")
    with pytest.raises(InvalidPathError, match="stay below its base"):
        _ = relative("a") / "/abs"
    with pytest.raises(InvalidPathError, match=r"'\.\.' segment"):
        _ = SafePath("/srv") / ".."
    with pytest.raises(InvalidPathError, match="NUL"):
        _ = SafePath("/srv") / "a\0"


def test_a_safe_path_opens_like_any_path(tmp_path: pathlib.Path) -> None:
    target = SafePath(tmp_path) / "file.txt"
    pathlib.Path(target).write_text("ok", encoding="utf-8")
    with open(target, encoding="utf-8") as handle:  # noqa: PTH123 (os.PathLike is the point)
        assert handle.read() == "ok"


# --- GitRef -------------------------------------------------------------------

VALID_REFS = [
    "main",
    "HEAD",
    "v1.0",
    "release/1.2.3",
    "feature/caf\u00e9",
    "a-b_c",
    "refs/heads/main",
    "0123456789abcdef0123456789abcdef01234567",
    "a@b",
    "a.b/c.d",
    "x.lockx",
    "na\u00efve-\U0001f600",
    "a!b",
    "a{b}",
    "a#b",
]

INVALID_REFS = [
    ("", RefRule.EMPTY),
    ("a..b", RefRule.DOUBLE_DOT),
    ("..", RefRule.DOUBLE_DOT),
    ("a b", RefRule.CONTROL),
    ("a\tb", RefRule.CONTROL),
    ("a\nb", RefRule.CONTROL),
    ("a\x7fb", RefRule.CONTROL),
    ("a\0b", RefRule.CONTROL),
    ("a~1", RefRule.SPECIAL),
    ("a^", RefRule.SPECIAL),
    ("a:b", RefRule.SPECIAL),
    ("ext::sh", RefRule.SPECIAL),
    ("a?", RefRule.SPECIAL),
    ("a*", RefRule.SPECIAL),
    ("a[b", RefRule.SPECIAL),
    ("a\\b", RefRule.SPECIAL),
    ("a@{1}", RefRule.AT_BRACE),
    ("@", RefRule.AT_ALONE),
    ("-b", RefRule.LEADING_DASH),
    ("--upload-pack=x", RefRule.LEADING_DASH),
    ("+main", RefRule.LEADING_PLUS),
    ("/main", RefRule.SLASH_EDGE),
    ("main/", RefRule.SLASH_EDGE),
    ("a//b", RefRule.EMPTY_COMPONENT),
    (".hidden", RefRule.DOT_COMPONENT),
    ("a/.b", RefRule.DOT_COMPONENT),
    ("main.lock", RefRule.LOCK_COMPONENT),
    ("a.lock/b", RefRule.LOCK_COMPONENT),
    ("main.", RefRule.TRAILING_DOT),
    ("a\ud800", RefRule.UNENCODABLE),
]


@pytest.mark.parametrize("value", VALID_REFS)
def test_valid_refs_are_accepted(value: str) -> None:
    assert str(GitRef(value)) == value


@pytest.mark.parametrize(("value", "rule"), INVALID_REFS)
def test_invalid_refs_name_the_rule_they_break(value: str, rule: RefRule) -> None:
    with pytest.raises(InvalidRefError) as caught:
        GitRef(value)
    assert caught.value.rule is rule
    assert caught.value.value == value
    assert str(rule) in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_double_dot_message_says_where() -> None:
    with pytest.raises(InvalidRefError, match=r"invalid git ref 'feature/a\.\.b': must not contain '\.\.' "):
        GitRef("feature/a..b")


@pytest.mark.parametrize("value", [b"main", 1, None, SafePath("/main")])
def test_a_ref_must_be_a_str(value: object) -> None:
    with pytest.raises(TypeError, match="a git ref must be a str"):
        GitRef(value)  # pyright: ignore[reportArgumentType]


def test_refs_compare_hash_repr_and_are_immutable() -> None:
    assert GitRef("main") == GitRef("main")
    assert GitRef("main") != "main"
    assert len({GitRef("a"), GitRef("a"), GitRef("b")}) == 2
    assert repr(GitRef("main")) == "GitRef('main')"
    ref = GitRef("main")
    with pytest.raises(AttributeError, match="immutable"):
        ref.anything = "-x"  # pyright: ignore[reportAttributeAccessIssue]
    with pytest.raises(AttributeError, match="immutable"):
        del ref.anything  # pyright: ignore[reportAttributeAccessIssue]


def _check_ref_format(value: str) -> bool:
    cmd = sh.make(GIT)("check-ref-format", "--allow-onelevel", value)
    return cmd.run_sync(timeout=RUN_TIMEOUT).exit_code == 0


@needs_git
@pytest.mark.parametrize("value", VALID_REFS)
def test_git_agrees_with_every_valid_ref(value: str) -> None:
    assert _check_ref_format(value)


@needs_git
@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (value, rule)
        for value, rule in INVALID_REFS
        # git itself allows these (Cuprum's own rules), and argv cannot hold NUL
        # or unencodable text at all.
        if rule not in {RefRule.LEADING_DASH, RefRule.LEADING_PLUS, RefRule.UNENCODABLE} and "\0" not in value
    ],
)
def test_git_agrees_with_every_invalid_ref(value: str, rule: RefRule) -> None:
    del rule
    assert not _check_ref_format(value)


@needs_git
@settings(max_examples=40)
@given(st.text(alphabet=string.ascii_letters + "./-@{}~^:?*[\\ +_", max_size=12))
def test_whatever_git_ref_accepts_git_accepts_too(value: str) -> None:
    try:
        GitRef(value)
    except InvalidRefError:
        return
    assert _check_ref_format(value), f"GitRef accepted {value!r} but git refuses it"


# --- git builders -------------------------------------------------------------


def test_status_defaults_to_porcelain() -> None:
    assert git.status(REPO).argv == ("git", "-C", "/srv/repo", "status", "--porcelain", "--")


def test_status_options_and_literal_paths() -> None:
    cmd = git.status(
        REPO, porcelain=False, branch=True, untracked_files="no", paths=[relative("*"), relative("-x")]
    )
    assert cmd.argv == (
        "git",
        "-C",
        "/srv/repo",
        "--literal-pathspecs",
        "status",
        "--branch",
        "--untracked-files=no",
        "--",
        "*",
        "./-x",
    )


def test_status_refuses_an_unknown_untracked_mode() -> None:
    with pytest.raises(ValueError, match="untracked_files must be one of no, normal, all"):
        git.status(REPO, untracked_files="-c core.pager=sh")  # pyright: ignore[reportArgumentType]


def test_checkout_switches_with_the_ref_before_the_separator() -> None:
    assert git.checkout(REPO, MAIN).argv == ("git", "-C", "/srv/repo", "checkout", "main", "--")


@pytest.mark.parametrize(
    ("flags", "tail"),
    [
        ({"create": True}, ("-b", "feature/x", "--")),
        ({"create": True, "force": True}, ("-B", "feature/x", "--")),
        ({"create": True, "start_point": GitRef("v1.0")}, ("-b", "feature/x", "v1.0", "--")),
        ({"detach": True}, ("--detach", "feature/x", "--")),
        ({"force": True}, ("--force", "feature/x", "--")),
        ({"force": True, "detach": True}, ("--force", "--detach", "feature/x", "--")),
    ],
)
def test_checkout_flags(flags: dict[str, Any], tail: tuple[str, ...]) -> None:
    cmd = git.checkout(REPO, GitRef("feature/x"), **flags)
    assert cmd.argv == ("git", "-C", "/srv/repo", "checkout", *tail)


def test_checkout_create_and_detach_are_mutually_exclusive() -> None:
    with pytest.raises(ValueError, match="create and detach are mutually exclusive"):
        git.checkout(REPO, MAIN, create=True, detach=True)


def test_checkout_start_point_needs_create() -> None:
    with pytest.raises(ValueError, match="start_point only applies with create=True"):
        git.checkout(REPO, MAIN, start_point=GitRef("v1"))


def test_rev_parse_verifies_after_end_of_options() -> None:
    assert git.rev_parse(REPO, GitRef("HEAD")).argv == (
        "git",
        "-C",
        "/srv/repo",
        "rev-parse",
        "--verify",
        "--end-of-options",
        "HEAD",
    )


def test_tag_lightweight_annotated_and_forced() -> None:
    v1 = GitRef("v1.0")
    assert git.tag(REPO, v1).argv[3:] == ("tag", "--", "v1.0")
    assert git.tag(REPO, v1, message="-rf; $(x)", target=MAIN, force=True).argv[3:] == (
        "tag",
        "--annotate",
        "--message=-rf; $(x)",
        "--force",
        "--",
        "v1.0",
        "main",
    )
    assert git.tag(REPO, v1, message="m", annotate=True).argv[3:] == (
        "tag",
        "--annotate",
        "--message=m",
        "--",
        "v1.0",
    )


def test_tag_annotation_rules() -> None:
    with pytest.raises(ValueError, match="needs a message"):
        git.tag(REPO, GitRef("v1"), annotate=True)
    with pytest.raises(ValueError, match="cannot carry a message"):
        git.tag(REPO, GitRef("v1"), message="m", annotate=False)
    with pytest.raises(ValueError, match="NUL"):
        git.tag(REPO, GitRef("v1"), message="a\0b")


def test_fetch_and_push_name_remotes_after_the_separator() -> None:
    assert git.fetch(REPO).argv[3:] == (*NO_LOCAL, "fetch", "--")
    assert git.fetch(REPO, local=True).argv[3:] == ("fetch", "--")
    assert git.fetch(REPO, ORIGIN, MAIN, tags=True, prune=True).argv[3:] == (
        *NO_LOCAL,
        "fetch",
        "--tags",
        "--prune",
        "--",
        "origin",
        "main",
    )
    assert git.push(REPO, ORIGIN).argv[3:] == (*NO_LOCAL, "push", "--", "origin")
    assert git.push(REPO, ORIGIN, GitRef("v1.0"), tags=True, set_upstream=True).argv[3:] == (
        *NO_LOCAL,
        "push",
        "--tags",
        "--set-upstream",
        "--",
        "origin",
        "v1.0",
    )


def test_fetch_ref_needs_a_remote() -> None:
    with pytest.raises(ValueError, match="needs the remote"):
        git.fetch(REPO, ref=MAIN)


@pytest.mark.parametrize(
    "remote", ["ext::sh -c touch% /tmp/x", "host:repo", "https://h/r", "+main", "--exec=x"]
)
def test_urls_and_option_like_remotes_cannot_be_refs(remote: str) -> None:
    with pytest.raises(InvalidRefError):
        GitRef(remote)


def test_log_options() -> None:
    assert git.log(REPO).argv[3:] == ("log", "--")
    cmd = git.log(REPO, max_count=5, format="%H %s", ref=MAIN, paths=[SafePath("/srv/repo/src")])
    assert cmd.argv == (
        "git",
        "-C",
        "/srv/repo",
        "--literal-pathspecs",
        "log",
        "--max-count=5",
        "--format=%H %s",
        "main",
        "--",
        "/srv/repo/src",
    )


@pytest.mark.parametrize(("value", "error"), [(-1, ValueError), (True, TypeError), ("3", TypeError)])
def test_counts_must_be_non_negative_ints(value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="max_count"):
        git.log(REPO, max_count=value)  # pyright: ignore[reportArgumentType]
    with pytest.raises(error, match="abbrev"):
        git.describe(REPO, abbrev=value)  # pyright: ignore[reportArgumentType]


def test_describe_options() -> None:
    assert git.describe(REPO).argv[3:] == ("describe",)
    assert git.describe(REPO, tags=True, always=True, dirty=True, abbrev=0).argv[3:] == (
        "describe",
        "--tags",
        "--always",
        "--dirty",
        "--abbrev=0",
    )
    assert git.describe(REPO, MAIN).argv[3:] == ("describe", "--end-of-options", "main")
    with pytest.raises(ValueError, match="dirty only applies to HEAD"):
        git.describe(REPO, MAIN, dirty=True)


GIT_BUILDS: list[Callable[[], SafeCmd]] = [
    lambda: git.status("/srv"),  # pyright: ignore[reportArgumentType]
    lambda: git.status(REPO, paths="/srv"),  # pyright: ignore[reportArgumentType]
    lambda: git.status(REPO, paths=["/srv"]),  # pyright: ignore[reportArgumentType]
    lambda: git.checkout(REPO, "main"),  # pyright: ignore[reportArgumentType]
    lambda: git.checkout(REPO, MAIN, create=True, start_point="v1"),  # pyright: ignore[reportArgumentType]
    lambda: git.rev_parse(REPO, "--output=x"),  # pyright: ignore[reportArgumentType]
    lambda: git.tag(REPO, "v1"),  # pyright: ignore[reportArgumentType]
    lambda: git.push(REPO, "origin"),  # pyright: ignore[reportArgumentType]
    lambda: git.fetch(REPO, ORIGIN, "main"),  # pyright: ignore[reportArgumentType]
    lambda: git.describe(REPO, "main"),  # pyright: ignore[reportArgumentType]
    lambda: rsync.rsync("/a", SafePath("/b")),  # pyright: ignore[reportArgumentType]
    lambda: tar.create(SafePath("/a.tar"), ["x"]),  # pyright: ignore[reportArgumentType, reportArgumentType]
    lambda: tar.create(SafePath("/a.tar"), "x"),  # pyright: ignore[reportArgumentType]
    lambda: tar.create(SafePath("/a.tar"), SafePath("/x")),  # pyright: ignore[reportArgumentType]
    lambda: tar.extract(SafePath("/a.tar"), "/dest"),  # pyright: ignore[reportArgumentType]
    lambda: tar.list_contents("/a.tar"),  # pyright: ignore[reportArgumentType]
]


@pytest.mark.parametrize("build", GIT_BUILDS)
def test_unvalidated_values_are_type_errors(build: Callable[[], SafeCmd]) -> None:
    with pytest.raises(TypeError, match=r"SafePath|GitRef"):
        build()


def test_builders_use_the_given_catalogue() -> None:
    cmd = git.status(REPO, catalogue=TEST_CATALOGUE)
    assert cmd.project is TEST_CATALOGUE.lookup(GIT)
    tar_only = ProgramCatalogue([ProjectSettings(name="tar-only", programs=(TAR,))])
    assert tar.list_contents(SafePath("/a.tar"), catalogue=tar_only).project.name == "tar-only"
    with pytest.raises(UnknownProgramError):
        git.rev_parse(REPO, MAIN, catalogue=tar_only)
    with pytest.raises(UnknownProgramError):
        rsync.rsync(SafePath("/a"), SafePath("/b"), catalogue=tar_only)
    assert git.status(REPO).project is DEFAULT_CATALOGUE.lookup(GIT)


FORBIDDEN_PARAMETERS = {
    "config",
    "c",
    "e",
    "rsh",
    "rsync_path",
    "upload_pack",
    "receive_pack",
    "exec",
    "to_command",
    "use_compress_program",
    "checkpoint_action",
    "info_script",
    "rsh_command",
    "options",
    "extra_args",
}


@pytest.mark.parametrize(
    "builder",
    [
        git.status,
        git.checkout,
        git.rev_parse,
        git.tag,
        git.fetch,
        git.push,
        git.log,
        git.describe,
        rsync.rsync,
        tar.create,
        tar.extract,
        tar.list_contents,
    ],
)
def test_no_builder_exposes_an_option_that_runs_a_program(builder: Callable[..., SafeCmd]) -> None:
    parameters = inspect.signature(builder).parameters
    assert not FORBIDDEN_PARAMETERS & set(parameters), builder
    assert all(p.kind is not inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    assert all(p.kind is not inspect.Parameter.VAR_POSITIONAL for p in parameters.values())


# --- rsync --------------------------------------------------------------------


def test_rsync_defaults() -> None:
    assert rsync.rsync(SafePath("/a/"), SafePath("/b")).argv == ("rsync", "--", "/a/", "/b")


def test_rsync_flags_and_excludes() -> None:
    cmd = rsync.rsync(
        SafePath("/a/"),
        SafePath("/b/"),
        archive=True,
        delete=True,
        dry_run=True,
        verbose=True,
        compress=True,
        exclude=["*.pyc", "-e sh"],
    )
    assert cmd.argv == (
        "rsync",
        "--archive",
        "--delete",
        "--dry-run",
        "--verbose",
        "--compress",
        "--exclude=*.pyc",
        "--exclude=-e sh",
        "--",
        "/a/",
        "/b/",
    )


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("host:path", "./host:path"),
        ("host::module", "./host::module"),
        ("rsync://host/x", "./rsync://host/x"),
        ("-e", "./-e"),
        ("./x", "./x"),
        ("dir/", "./dir/"),
    ],
)
def test_rsync_relative_operands_can_only_be_local(value: str, rendered: str) -> None:
    cmd = rsync.rsync(relative(value), relative(value))
    assert cmd.argv == ("rsync", "--", rendered, rendered)


@pytest.mark.parametrize(("exclude", "error"), [("*.pyc", TypeError), ([3], TypeError), ([""], ValueError)])
def test_rsync_refuses_malformed_excludes(exclude: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="exclude"):
        rsync.rsync(SafePath("/a"), SafePath("/b"), exclude=exclude)  # pyright: ignore[reportArgumentType]


# --- tar ----------------------------------------------------------------------


def test_tar_create_argv() -> None:
    cmd = tar.create(SafePath("/out.tar"), [relative("a"), relative("-v"), SafePath("/abs")])
    assert cmd.argv == (
        "tar",
        "--create",
        "--force-local",
        "--file=/out.tar",
        "--no-unquote",
        "--no-wildcards",
        "--",
        "a",
        "./-v",
        "/abs",
    )


@pytest.mark.parametrize(
    ("compression", "flag"), [("gzip", "--gzip"), ("bzip2", "--bzip2"), ("xz", "--xz"), ("zstd", "--zstd")]
)
def test_tar_compressions(compression: tar.Compression, flag: str) -> None:
    archive = SafePath("/a.tar")
    created = tar.create(archive, [relative("x")], compression=compression, directory=SafePath("/src"))
    assert created.argv[1:6] == ("--create", "--force-local", "--file=/a.tar", flag, "--directory=/src")
    extracted = tar.extract(archive, SafePath("/dest"), compression=compression)
    assert extracted.argv == (
        "tar",
        "--extract",
        "--force-local",
        "--file=/a.tar",
        flag,
        "--directory=/dest",
        "--no-same-owner",
    )
    listed = tar.list_contents(archive, compression=compression)
    assert listed.argv == ("tar", "--list", "--force-local", "--file=/a.tar", flag)


@pytest.mark.parametrize(
    "compression", ["lz4", "GZIP", "", ("gzip", "xz"), ["gzip"], "--use-compress-program=sh"]
)
def test_tar_refuses_anything_but_one_known_compression(compression: object) -> None:
    with pytest.raises(ValueError, match="compression must be one of gzip, bzip2, xz, zstd"):
        tar.create(SafePath("/a.tar"), [relative("x")], compression=compression)  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match="compression must be one of"):
        tar.extract(SafePath("/a.tar"), SafePath("/d"), compression=compression)  # pyright: ignore[reportArgumentType]


def test_tar_refuses_an_empty_member_list() -> None:
    with pytest.raises(ValueError, match="at least one member"):
        tar.create(SafePath("/a.tar"), [])


def test_tar_archive_named_dash_is_a_file_not_stdout() -> None:
    assert tar.list_contents(relative("-")).argv[-1] == "--file=./-"


def test_module_doctests_pass() -> None:
    for module in (cuprum.builders, validators, git, rsync, tar):
        failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert attempted > 0, module
        assert failed == 0, module


# --- properties: hostile input ------------------------------------------------


def _outcome[T, E: Exception](build: Callable[[], T], error: type[E]) -> T | E:
    """What ``build`` returns, or the ``error`` it raises."""
    try:
        return build()
    except error as raised:
        return raised


def _path_rule_holds(value: str, rule: PathRule, *, allow_relative: bool) -> bool:
    rendered = "./" + value if value.startswith("-") else value
    checks: dict[PathRule, Callable[[], bool]] = {
        PathRule.EMPTY: lambda: value == "",
        PathRule.NUL: lambda: "\0" in value,
        PathRule.PARENT: lambda: ".." in value.split("/"),
        PathRule.RELATIVE: lambda: not allow_relative and not value.startswith("/"),
        PathRule.UNENCODABLE: lambda: _unencodable(rendered),
        PathRule.TOO_LONG: lambda: len(os.fsencode(rendered)) >= validators.PATH_MAX,
    }
    return checks[rule]()


def _unencodable(text: str) -> bool:
    try:
        os.fsencode(text)
    except UnicodeError:
        return True
    return False


def _assert_plain_path(text: str) -> None:
    assert text
    assert not text.startswith("-")
    assert "\0" not in text
    assert ".." not in text.split("/")
    os.fsencode(text)


@given(HOSTILE, st.booleans())
def test_a_hostile_path_is_refused_or_safe_everywhere(value: str, allow_relative: bool) -> None:
    path = _outcome(lambda: SafePath(value, allow_relative=allow_relative), InvalidPathError)
    if isinstance(path, InvalidPathError):
        assert _path_rule_holds(value, path.rule, allow_relative=allow_relative), (value, path.rule)
        return
    text = str(path)
    _assert_plain_path(text)
    assert text in {value, "./" + value}
    assert path.is_absolute == text.startswith("/")

    # git: the repository is the argument of -C, a path operand follows "--".
    status = git.status(path, paths=[path])
    assert status.argv == ("git", "-C", text, "--literal-pathspecs", "status", "--porcelain", "--", text)

    # rsync: operands follow "--" and are local paths ("/..." or "./...").
    local = text if text.startswith(("/", "./")) else "./" + text
    assert rsync.rsync(path, path).argv == ("rsync", "--", local, local)

    # tar: the archive and directory are --opt=value, members follow "--".
    created = tar.create(path, [path], directory=path)
    assert created.argv == (
        "tar",
        "--create",
        "--force-local",
        f"--file={text}",
        f"--directory={text}",
        "--no-unquote",
        "--no-wildcards",
        "--",
        text,
    )


NO_NUL = st.text(alphabet=st.characters(exclude_characters="\0"))


@given(NO_NUL, NO_NUL, st.booleans())
def test_nul_anywhere_is_refused_by_both_validators(before: str, after: str, allow_relative: bool) -> None:
    poisoned = f"/{before}\0{after}"
    with pytest.raises(InvalidPathError) as caught:
        SafePath(poisoned, allow_relative=allow_relative)
    assert caught.value.rule is PathRule.NUL
    with pytest.raises(InvalidRefError) as refused:
        GitRef(poisoned[1:])
    assert refused.value.rule in {RefRule.CONTROL, RefRule.SPECIAL}


@given(st.lists(NO_NUL.filter(lambda part: "/" not in part), max_size=4), st.integers(0, 4), st.booleans())
def test_a_parent_segment_anywhere_is_refused(parts: list[str], at: int, absolute: bool) -> None:
    parts.insert(min(at, len(parts)), "..")
    value = ("/" if absolute else "") + "/".join(parts)
    with pytest.raises(InvalidPathError) as caught:
        SafePath(value, allow_relative=True)
    assert caught.value.rule is PathRule.PARENT


def _ref_rule_holds(value: str, rule: RefRule) -> bool:
    checks: dict[RefRule, Callable[[], bool]] = {
        RefRule.EMPTY: lambda: value == "",
        RefRule.DOUBLE_DOT: lambda: ".." in value,
        RefRule.CONTROL: lambda: any(c <= " " or c == "\x7f" for c in value),
        RefRule.SPECIAL: lambda: any(c in "~^:?*[\\" for c in value),
        RefRule.AT_BRACE: lambda: "@{" in value,
        RefRule.AT_ALONE: lambda: value == "@",
        RefRule.SLASH_EDGE: lambda: value.startswith("/") or value.endswith("/"),
        RefRule.EMPTY_COMPONENT: lambda: "//" in value,
        RefRule.DOT_COMPONENT: lambda: any(part.startswith(".") for part in value.split("/")),
        RefRule.LOCK_COMPONENT: lambda: any(part.endswith(".lock") for part in value.split("/")),
        RefRule.TRAILING_DOT: lambda: value.endswith("."),
        RefRule.LEADING_DASH: lambda: value.startswith("-"),
        RefRule.LEADING_PLUS: lambda: value.startswith("+"),
        RefRule.UNENCODABLE: lambda: _unencodable(value),
    }
    return checks[rule]()


@given(HOSTILE)
def test_a_hostile_ref_is_refused_or_safe_everywhere(value: str) -> None:
    ref = _outcome(lambda: GitRef(value), InvalidRefError)
    if isinstance(ref, InvalidRefError):
        assert _ref_rule_holds(value, ref.rule), (value, ref.rule)
        return
    # Nothing that could make it an option, a refspec, a URL or a revision expression.
    assert value
    assert value[0] not in "-+/"
    assert not any(c in value for c in "\0 :~^?*[\\\n\t")
    assert ".." not in value
    assert "@{" not in value

    head = ("git", "-C", "/srv/repo")
    assert git.checkout(REPO, ref).argv == (*head, "checkout", value, "--")
    assert git.checkout(REPO, ref, create=True, start_point=ref).argv == (
        *head,
        "checkout",
        "-b",
        value,
        value,
        "--",
    )
    assert git.rev_parse(REPO, ref).argv == (*head, "rev-parse", "--verify", "--end-of-options", value)
    assert git.tag(REPO, ref, target=ref).argv == (*head, "tag", "--", value, value)
    if "/" in value:  # a path, as far as git's remote argument is concerned
        with pytest.raises(ValueError, match="not a remote's name"):
            git.push(REPO, ref, ref)
        with pytest.raises(ValueError, match="not a remote's name"):
            git.fetch(REPO, ref, ref)
    else:
        assert git.push(REPO, ref, ref).argv == (*head, *NO_LOCAL, "push", "--", value, value)
        assert git.fetch(REPO, ref, ref).argv == (*head, *NO_LOCAL, "fetch", "--", value, value)
    assert git.log(REPO, ref=ref).argv == (*head, "log", value, "--")
    assert git.describe(REPO, ref).argv == (*head, "describe", "--end-of-options", value)


@given(HOSTILE)
def test_free_text_only_ever_travels_inside_an_option(text: str) -> None:
    if "\0" in text:
        with pytest.raises(ValueError, match="NUL"):
            git.tag(REPO, GitRef("v1"), message=text)
        return
    tagged = git.tag(REPO, GitRef("v1"), message=text)
    assert tagged.argv[3:] == ("tag", "--annotate", f"--message={text}", "--", "v1")
    logged = git.log(REPO, format=text)
    assert logged.argv[3:] == ("log", f"--format={text}", "--")
    if text:
        assert rsync.rsync(SafePath("/a"), SafePath("/b"), exclude=[text]).argv[1:3] == (
            f"--exclude={text}",
            "--",
        )


# --- real runs: tar -----------------------------------------------------------

AWKWARD_NAMES = [
    "plain.txt",
    "-v",
    "--to-command=touch pwned",
    "--checkpoint-action=exec=touch pwned",
    "a b",
    "*",
    "a\\nb",
    "new\nline",
    "z\u00fcrich \U0001f600",
    "host:file",
]


def _populate(root: pathlib.Path) -> dict[str, bytes]:
    root.mkdir()
    contents = {name: f"contents of {name!r}\n".encode() for name in AWKWARD_NAMES}
    for name, data in contents.items():
        (root / name).write_bytes(data)
    (root / "sub").mkdir()
    (root / "sub" / "deep.txt").write_bytes(b"deep\n")
    contents["sub/deep.txt"] = b"deep\n"
    return contents


def _read_tree(root: pathlib.Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()
    }


COMPRESSIONS = [
    None,
    "gzip",
    "bzip2",
    "xz",
    pytest.param(
        "zstd", marks=pytest.mark.skipif(shutil.which("zstd") is None, reason="zstd is not installed here")
    ),
]


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_tar_round_trip_keeps_awkward_names(
    tmp_path: pathlib.Path, compression: tar.Compression | None
) -> None:
    expected = _populate(tmp_path / "src")
    archive = SafePath(tmp_path) / "out.tar"
    members = [relative(name) for name in (*AWKWARD_NAMES, "sub")]
    run(tar.create(archive, members, compression=compression, directory=SafePath(tmp_path / "src")))
    destination = tmp_path / "dest"
    destination.mkdir()
    run(tar.extract(archive, SafePath(destination)))
    assert _read_tree(destination) == expected
    assert not list(tmp_path.rglob("pwned")), "a member name was run as a command"

    listing = run(tar.list_contents(archive)).stdout
    assert listing is not None
    lines = listing.splitlines()
    # One line per member (plus the directory), a newline in a name escaped.
    assert len(lines) == len(members) + 1
    assert "./-v" in lines
    assert "new\\nline" in lines


def test_tar_archive_names_that_look_special_are_local_files(tmp_path: pathlib.Path) -> None:
    (tmp_path / "data.txt").write_bytes(b"x")
    for name in ("-", "host:archive.tar"):
        run(tar.create(relative(name), [relative("data.txt")]), cwd=tmp_path)
        assert (tmp_path / name).is_file(), name
        listing = run(tar.list_contents(relative(name)), cwd=tmp_path)
        assert listing.stdout == "data.txt\n"


def test_tar_extract_refuses_to_escape_the_destination(tmp_path: pathlib.Path) -> None:
    # An archive whose member climbs out with "..": GNU tar skips it.
    (tmp_path / "inside").mkdir()
    (tmp_path / "evil.txt").write_bytes(b"evil")
    archive = tmp_path / "evil.tar"
    raw_tar = sh.make(TAR)
    run(
        raw_tar("--create", "--absolute-names", f"--file={archive}", "--directory=inside", "../evil.txt"),
        cwd=tmp_path,
    )
    (tmp_path / "evil.txt").unlink()
    destination = tmp_path / "inside" / "dest"
    destination.mkdir()
    result = tar.extract(SafePath(archive), SafePath(destination)).run_sync(timeout=RUN_TIMEOUT)
    assert not result.ok
    assert result.stderr is not None
    assert "Member name contains '..'" in result.stderr
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "inside" / "evil.txt").exists()


# --- real runs: git and rsync --------------------------------------------------

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Cuprum Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.org",
    "GIT_COMMITTER_NAME": "Cuprum Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.org",
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
}


def _git(cmd: SafeCmd) -> str:
    stdout = run(cmd, env=GIT_ENV).stdout
    assert stdout is not None
    return stdout


@pytest.fixture
def repo(tmp_path: pathlib.Path) -> SafePath:
    """A fresh repository with one commit on ``main``."""
    path = SafePath(tmp_path) / "repo"
    raw = sh.make(GIT)
    _git(raw("init", "--quiet", "--initial-branch=main", "--", path))
    pathlib.Path(path, "README").write_text("hello\n", encoding="utf-8")
    _git(raw("-C", path, "add", "--", "README"))
    _git(raw("-C", path, "commit", "--quiet", "--message=first"))
    return path


@needs_git
def test_git_status_rev_parse_and_checkout_on_a_real_repository(repo: SafePath) -> None:
    assert _git(git.status(repo)) == ""
    for name in ("*", "-rf", "a.txt"):
        pathlib.Path(repo, name).write_text("x", encoding="utf-8")
    assert sorted(_git(git.status(repo)).splitlines()) == ["?? *", "?? -rf", "?? a.txt"]
    # The pathspec "*" is literal: only the file named "*", not every file.
    assert _git(git.status(repo, paths=[relative("*")])) == "?? *\n"
    assert _git(git.status(repo, paths=[relative("-rf")])) == "?? -rf\n"

    head = _git(git.rev_parse(repo, GitRef("HEAD"))).strip()
    assert len(head) == 40
    assert all(c in string.hexdigits for c in head)

    _git(git.checkout(repo, GitRef("feature/x"), create=True))
    assert _git(git.status(repo, branch=True, untracked_files="no")) == "## feature/x\n"
    assert _git(git.rev_parse(repo, GitRef("feature/x"))).strip() == head
    _git(git.checkout(repo, MAIN))
    assert _git(git.status(repo, branch=True, untracked_files="no")) == "## main\n"
    _git(git.checkout(repo, GitRef("feature/x"), detach=True))
    assert _git(git.status(repo, branch=True, untracked_files="no")).startswith("## HEAD (no branch)")


@needs_git
def test_git_release_flow_tag_describe_log_push_fetch(repo: SafePath, tmp_path: pathlib.Path) -> None:
    _git(git.tag(repo, GitRef("v1.0"), message="--first release"))
    assert _git(git.describe(repo)) == "v1.0\n"
    assert _git(git.log(repo, max_count=1, format="%s", ref=GitRef("v1.0"))) == "first\n"
    assert _git(git.log(repo, format="%s", paths=[relative("README")])) == "first\n"

    remote = SafePath(tmp_path) / "remote.git"
    raw = sh.make(GIT)
    _git(raw("init", "--quiet", "--bare", "--", remote))
    _git(raw("-C", repo, "remote", "add", "--", "origin", remote))
    with pytest.raises(CommandFailed, match="transport 'file' not allowed"):
        run(git.push(repo, ORIGIN, MAIN), env=GIT_ENV)  # local transports need local=True
    _git(git.push(repo, ORIGIN, MAIN, set_upstream=True, local=True))
    _git(git.push(repo, ORIGIN, tags=True, local=True))
    assert _git(raw("-C", remote, "tag", "--list")) == "v1.0\n"
    _git(git.fetch(repo, ORIGIN, MAIN, prune=True, local=True))
    assert _git(git.rev_parse(repo, GitRef("origin/main"))) == _git(git.rev_parse(repo, MAIN))


@needs_git
def test_git_reports_a_missing_ref_without_running_anything_else(repo: SafePath) -> None:
    result = git.rev_parse(repo, GitRef("no-such-branch")).run_sync(
        timeout=RUN_TIMEOUT, context=ExecutionContext(env=GIT_ENV)
    )
    assert not result.ok


@needs_rsync
def test_rsync_copies_awkward_names_locally(tmp_path: pathlib.Path) -> None:
    expected = _populate(tmp_path / "src")
    destination = tmp_path / "dest"
    run(rsync.rsync(SafePath(tmp_path / "src") / "", SafePath(destination), archive=True))
    assert _read_tree(destination) == expected
    assert not list(tmp_path.rglob("pwned"))
