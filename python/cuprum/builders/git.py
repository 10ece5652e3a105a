"""Safe builders for ``git``: each function returns a ``SafeCmd``, nothing runs.

Every command starts ``git -C <repo>``, so it works on the repository you
name whatever the working directory. The rules that keep a value from ever
becoming an option or a command:

- repositories and paths are ``SafePath`` values and refs, branches, tags and
  remotes are ``GitRef`` values, so none begins with ``-``;
- each value is its own argv entry, or part of a ``--option=value``;
- path operands follow ``--`` and are taken literally
  (``--literal-pathspecs``), so ``*`` or ``:(top)`` is just a file name;
- a remote is a remote *name* configured in the repository, never a URL: a
  ``GitRef`` cannot contain ``:``, so transports such as ``ext::`` (which
  runs a command) cannot be named;
- no builder passes ``-c`` configuration, ``--upload-pack``,
  ``--receive-pack``, ``--exec`` or anything else that names a program, and
  none opens an editor (an annotated tag needs its message).

``rev_parse`` and ``describe`` also pass ``--end-of-options`` before the
ref, which ``git rev-parse`` understands from git 2.30.

What the builders cannot vouch for is the repository itself: git still
reads its configuration and runs its hooks (a ``post-checkout`` hook runs on
``checkout``), so point them only at repositories you trust.

>>> from cuprum.builders import GitRef, SafePath, git
>>> git.checkout(SafePath("/srv/app"), GitRef("release/1.2"), create=True).argv
('git', '-C', '/srv/app', 'checkout', '-b', 'release/1.2', '--')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from cuprum import sh
from cuprum.builders.validators import GitRef, SafePath
from cuprum.catalogue import DEFAULT_CATALOGUE, GIT, ProgramCatalogue

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cuprum.command import SafeCmd

type UntrackedFiles = Literal["no", "normal", "all"]
"""What ``git status --untracked-files`` shows."""

_UNTRACKED: frozenset[str] = frozenset(("no", "normal", "all"))


def status(
    repo: SafePath,
    *,
    porcelain: bool = True,
    branch: bool = False,
    untracked_files: UntrackedFiles | None = None,
    paths: Sequence[SafePath] = (),
    catalogue: ProgramCatalogue = DEFAULT_CATALOGUE,
) -> SafeCmd:
    """``git status``, machine-readable by default.

    Parameters
    ----------
    repo
        The repository (its work tree or any directory inside it).
    porcelain
        ``--porcelain`` (the stable format for scripts).
    branch
        ``--branch``: add the branch and its tracking state.
    untracked_files
        ``--untracked-files=no|normal|all``; git's default when ``None``.
    paths
        Limit the report to these paths (literal, after ``--``).
    catalogue
        The catalogue that must list ``git``.

    Raises
    ------
    TypeError
        When ``repo`` or a path is not a ``SafePath``.
    ValueError
        For an unknown ``untracked_files`` value.
    UnknownProgramError
        When ``catalogue`` does not list ``git``.
    """
    argv = _start(repo, paths)
    argv.append("status")
    if porcelain:
        argv.append("--porcelain")
    if branch:
        argv.append("--branch")
    if untracked_files is not None:
        if untracked_files not in _UNTRACKED:
            msg = f"untracked_files must be one of no, normal, all; got {untracked_files!r}"
            raise ValueError(msg)
        argv.append(f"--untracked-files={untracked_files}")
    argv.append("--")
    argv.extend(str(path) for path in paths)
    return _build(argv, catalogue)


def checkout(
    repo: SafePath,
    ref: GitRef,
    *,
    create: bool = False,
    detach: bool = False,
    force: bool = False,
    start_point: GitRef | None = None,
    catalogue: ProgramCatalogue = DEFAULT_CATALOGUE,
) -> SafeCmd:
    """``git checkout``: switch to ``ref``, or create the branch ``ref``.

    Parameters
    ----------
    repo
        The repository.
    ref
        The branch, tag or commit to check out; with ``create``, the new
        branch's name.
    create
        Create the branch ``ref`` (``-b``), at ``start_point`` or ``HEAD``.
    detach
        Check ``ref`` out with a detached ``HEAD`` (``--detach``).
    force
        With ``create``, reset the branch if it exists (``-B``); otherwise
        discard local changes (``--force``).
    start_point
        Where the new branch starts; only with ``create``.
    catalogue
        The catalogue that must list ``git``.

    Raises
    ------
    ValueError
        When ``create`` and ``detach`` are both set, or ``start_point`` is
        given without ``create``.
    TypeError
        When ``repo`` is not a ``SafePath`` or a ref not a ``GitRef``.
    """
    if create and detach:
        msg = "checkout: create and detach are mutually exclusive"
        raise ValueError(msg)
    if start_point is not None and not create:
        msg = "checkout: start_point only applies with create=True"
        raise ValueError(msg)
    argv = _start(repo)
    argv.append("checkout")
    if create:
        argv.extend(("-B" if force else "-b", _ref(ref, "ref")))
        if start_point is not None:
            argv.append(_ref(start_point, "start_point"))
    else:
        if force:
            argv.append("--force")
        if detach:
            argv.append("--detach")
        argv.append(_ref(ref, "ref"))
    # Whatever precedes ``--`` is a revision, never a path.
    argv.append("--")
    return _build(argv, catalogue)


def rev_parse(repo: SafePath, ref: GitRef, *, catalogue: ProgramCatalogue = DEFAULT_CATALOGUE) -> SafeCmd:
    """``git rev-parse --verify``: the object name ``ref`` points at.

    Raises
    ------
    TypeError
        When ``repo`` is not a ``SafePath`` or ``ref`` not a ``GitRef``.
    """
    argv = _start(repo)
    argv.extend(("rev-parse", "--verify", "--end-of-options", _ref(ref, "ref")))
    return _build(argv, catalogue)


def tag(
    repo: SafePath,
    name: GitRef,
    *,
    message: str | None = None,
    annotate: bool | None = None,
    target: GitRef | None = None,
    force: bool = False,
    catalogue: ProgramCatalogue = DEFAULT_CATALOGUE,
) -> SafeCmd:
    """``git tag``: create the tag ``name`` at ``target`` (or ``HEAD``).

    Parameters
    ----------
    repo
        The repository.
    name
        The tag's name.
    message
        The annotation (``--message=...``; any text, even one beginning
        with ``-``).
    annotate
        Make an annotated tag. ``None`` means annotated exactly when a
        message is given; ``True`` needs a message (git would otherwise open
        an editor) and ``False`` refuses one.
    target
        The commit to tag.
    force
        Replace an existing tag of that name (``--force``).
    catalogue
        The catalogue that must list ``git``.

    Raises
    ------
    ValueError
        For ``annotate=True`` without a message, ``annotate=False`` with
        one, or a message containing NUL.
    TypeError
        When ``repo`` is not a ``SafePath`` or a ref not a ``GitRef``.
    """
    annotated = message is not None if annotate is None else annotate
    if annotated and message is None:
        msg = "tag: an annotated tag needs a message (git would open an editor)"
        raise ValueError(msg)
    if not annotated and message is not None:
        msg = "tag: a lightweight tag (annotate=False) cannot carry a message"
        raise ValueError(msg)
    argv = _start(repo)
    argv.append("tag")
    if annotated:
        argv.extend(("--annotate", f"--message={message}"))
    if force:
        argv.append("--force")
    argv.extend(("--", _ref(name, "name")))
    if target is not None:
        argv.append(_ref(target, "target"))
    return _build(argv, catalogue)


def fetch(
    repo: SafePath,
    remote: GitRef | None = None,
    ref: GitRef | None = None,
    *,
    tags: bool = False,
    prune: bool = False,
    local: bool = False,
    catalogue: ProgramCatalogue = DEFAULT_CATALOGUE,
) -> SafeCmd:
    """``git fetch`` from a configured remote.

    Parameters
    ----------
    repo
        The repository.
    remote
        The remote's name (git's default, usually ``origin``, when
        ``None``); never a URL.
    ref
        Fetch only this ref; needs ``remote``.
    tags
        ``--tags``: fetch every tag too.
    prune
        ``--prune``: drop remote-tracking refs the remote no longer has.
    local
        Allow git's local transports, for a remote whose URL is a path on this
        machine. Off by default: git reads a name that is no configured remote
        as a path, so ``GitRef("evil")`` could fetch from a directory.
    catalogue
        The catalogue that must list ``git``.

    Raises
    ------
    ValueError
        When ``ref`` is given without ``remote``.
    TypeError
        When ``repo`` is not a ``SafePath`` or a ref not a ``GitRef``.
    """
    if ref is not None and remote is None:
        msg = "fetch: a ref needs the remote to fetch it from"
        raise ValueError(msg)
    argv = _start(repo)
    argv.extend((*_transport(local), "fetch"))
    if tags:
        argv.append("--tags")
    if prune:
        argv.append("--prune")
    argv.append("--")
    if remote is not None:
        argv.append(_remote(remote))
    if ref is not None:
        argv.append(_ref(ref, "ref"))
    return _build(argv, catalogue)


def push(
    repo: SafePath,
    remote: GitRef,
    ref: GitRef | None = None,
    *,
    tags: bool = False,
    set_upstream: bool = False,
    local: bool = False,
    catalogue: ProgramCatalogue = DEFAULT_CATALOGUE,
) -> SafeCmd:
    """``git push`` to a configured remote; never forced.

    Parameters
    ----------
    repo
        The repository.
    remote
        The remote's name; never a URL.
    ref
        The branch or tag to push (git's push default when ``None``). A
        ``GitRef`` cannot begin with ``+``, so it never forces the update.
    tags
        ``--tags``: push every tag as well.
    set_upstream
        ``--set-upstream``: make ``remote`` the branch's upstream.
    local
        Allow git's local transports (see :func:`fetch`).
    catalogue
        The catalogue that must list ``git``.

    Raises
    ------
    TypeError
        When ``repo`` is not a ``SafePath`` or a ref not a ``GitRef``.
    """
    argv = _start(repo)
    argv.extend((*_transport(local), "push"))
    if tags:
        argv.append("--tags")
    if set_upstream:
        argv.append("--set-upstream")
    argv.extend(("--", _remote(remote)))
    if ref is not None:
        argv.append(_ref(ref, "ref"))
    return _build(argv, catalogue)


def log(
    repo: SafePath,
    *,
    max_count: int | None = None,
    format: str | None = None,  # noqa: A002 (git's own name for the option)
    ref: GitRef | None = None,
    paths: Sequence[SafePath] = (),
    catalogue: ProgramCatalogue = DEFAULT_CATALOGUE,
) -> SafeCmd:
    """``git log``.

    Parameters
    ----------
    repo
        The repository.
    max_count
        At most this many commits (``--max-count=N``, ``N >= 0``).
    format
        The pretty format (``--format=...``), for example ``"%H %s"``.
    ref
        Start from this ref instead of ``HEAD``.
    paths
        Only commits touching these paths (literal, after ``--``).
    catalogue
        The catalogue that must list ``git``.

    Raises
    ------
    ValueError
        For a negative ``max_count`` or NUL in ``format``.
    TypeError
        For a ``max_count`` that is not an ``int``, or a value of the wrong
        validated type.
    """
    argv = _start(repo, paths)
    argv.append("log")
    if max_count is not None:
        argv.append(f"--max-count={_count(max_count, 'max_count')}")
    if format is not None:
        argv.append(f"--format={format}")
    if ref is not None:
        argv.append(_ref(ref, "ref"))
    argv.append("--")
    argv.extend(str(path) for path in paths)
    return _build(argv, catalogue)


def describe(
    repo: SafePath,
    ref: GitRef | None = None,
    *,
    tags: bool = False,
    always: bool = False,
    dirty: bool = False,
    abbrev: int | None = None,
    catalogue: ProgramCatalogue = DEFAULT_CATALOGUE,
) -> SafeCmd:
    """``git describe``: name a commit after the nearest tag (a version string).

    Parameters
    ----------
    repo
        The repository.
    ref
        The commit to describe (``HEAD`` when ``None``).
    tags
        ``--tags``: lightweight tags count too.
    always
        ``--always``: fall back to the abbreviated hash.
    dirty
        ``--dirty``: mark a modified work tree; git only allows it for
        ``HEAD``, so not with ``ref``.
    abbrev
        ``--abbrev=N`` hex digits (``0`` shows only the tag).
    catalogue
        The catalogue that must list ``git``.

    Raises
    ------
    ValueError
        For ``dirty`` with a ``ref`` or a negative ``abbrev``.
    TypeError
        For an ``abbrev`` that is not an ``int``, or a value of the wrong
        validated type.
    """
    if dirty and ref is not None:
        msg = "describe: dirty only applies to HEAD, not to a given ref"
        raise ValueError(msg)
    argv = _start(repo)
    argv.append("describe")
    if tags:
        argv.append("--tags")
    if always:
        argv.append("--always")
    if dirty:
        argv.append("--dirty")
    if abbrev is not None:
        argv.append(f"--abbrev={_count(abbrev, 'abbrev')}")
    if ref is not None:
        argv.extend(("--end-of-options", _ref(ref, "ref")))
    return _build(argv, catalogue)


def _start(repo: SafePath, paths: Sequence[SafePath] = ()) -> list[str]:
    """``git -C <repo>``, with ``--literal-pathspecs`` when paths follow."""
    if not isinstance(repo, SafePath):
        msg = f"repo must be a SafePath, not {type(repo).__name__}; wrap it: SafePath(...)"
        raise TypeError(msg)
    if isinstance(paths, str | bytes):
        msg = "paths must be a sequence of SafePath, not a single string"
        raise TypeError(msg)
    argv = ["-C", str(repo)]
    for index, path in enumerate(paths):
        if not isinstance(path, SafePath):
            msg = f"paths[{index}] must be a SafePath, not {type(path).__name__}"
            raise TypeError(msg)
    if paths:
        argv.append("--literal-pathspecs")
    return argv


_NO_LOCAL_TRANSPORT = ("-c", "protocol.file.allow=never")
"""A name that is no configured remote is read by git as a path or a URL: git
then refuses the local ones (paths, ``file://``, bundles), so a remote can
only ever be a configured remote over the network."""


def _transport(local: bool) -> tuple[str, ...]:  # noqa: FBT001 (private helper)
    return () if local else _NO_LOCAL_TRANSPORT


def _remote(value: GitRef) -> str:
    """A remote's *name*: a slash would let git read it as a repository path."""
    text = _ref(value, "remote")
    if "/" in text:
        msg = f"remote {text!r} is not a remote's name (a name has no '/'; git would read it as a path)"
        raise ValueError(msg)
    return text


def _ref(value: GitRef, what: str) -> str:
    if not isinstance(value, GitRef):
        msg = f"{what} must be a GitRef, not {type(value).__name__}; wrap it: GitRef(...)"
        raise TypeError(msg)
    return str(value)


def _count(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{what} must be an int, not {type(value).__name__}"
        raise TypeError(msg)
    if value < 0:
        msg = f"{what} must not be negative; got {value}"
        raise ValueError(msg)
    return value


def _build(argv: list[str], catalogue: ProgramCatalogue) -> SafeCmd:
    return sh.make(GIT, catalogue=catalogue)(*argv)
