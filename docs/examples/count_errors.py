"""The Cuprum port of ``count-errors.sh`` (users' guide, "Porting shell scripts").

Usage: ``python count_errors.py LOG OUT [TOP]``. It copies the ERROR lines of
``LOG`` into ``OUT``, prints the ``TOP`` (default 3) commonest error
messages with their counts, then the number of error lines, exactly as the
shell script does: same stdout, same stderr, same exit status.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cuprum import CUT, GREP, HEAD, INHERIT, SORT, UNIQ, WC, RunOutputOptions, StdinInput, sh

USAGE = "usage: count_errors.py LOG OUT [TOP]"
USAGE_STATUS = 2


def count_errors(log: Path, out: Path, top: int = 3, *, stdout: int = 1) -> int:
    """Summarise the errors of ``log``; return the exit status.

    Parameters
    ----------
    log
        The log file to read.
    out
        Where to copy its error lines (truncated first, as ``>`` does).
    top
        How many messages to print.
    stdout
        The descriptor the report goes to (1: this process's stdout).

    Returns
    -------
    int
        0, or the status of the command that failed (grep's 2 when it
        cannot read ``log``).
    """
    # grep -e ' ERROR ' -- "$log" > "$out", where status 1 (no match) is fine.
    # stderr=INHERIT: grep's complaints reach our stderr untouched.
    grep = sh.make(GREP)("--", log, e=" ERROR ").with_ok_codes(0, 1)
    found = grep.run_sync(output=RunOutputOptions(stdout=out, stderr=INHERIT))
    if not found.ok:
        return found.exit_code

    # cut -d ' ' -f 3- < "$out" | sort | uniq -c | sort -rn | head -n "$top"
    summary = (
        sh.make(CUT)(d=" ", f="3-")
        | sh.make(SORT)()
        | sh.make(UNIQ)(c=True)
        | sh.make(SORT)(r=True, n=True)
        | sh.make(HEAD)(n=top)
    )
    report = RunOutputOptions(stdout=stdout, stderr=INHERIT)
    shown = summary.run_sync(stdin=StdinInput(path=out), output=report)
    if not shown.ok:  # pipefail, with the SIGPIPE of a stage head left early forgiven
        return shown.exit_code

    # wc -l < "$out"
    counted = sh.make(WC)(l=True).run_sync(stdin=StdinInput(path=out), output=report)
    return counted.exit_code


def main(argv: list[str]) -> int:
    """Parse ``LOG OUT [TOP]`` and run; return the exit status."""
    if len(argv) not in {2, 3} or (len(argv) == 3 and not argv[2].isdigit()):  # noqa: PLR2004
        sys.stderr.write(USAGE + "\n")
        return USAGE_STATUS
    top = int(argv[2]) if len(argv) == 3 else 3  # noqa: PLR2004
    return count_errors(Path(argv[0]), Path(argv[1]), top)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
