"""What an ``exit`` event says about how a run ended (shared by the adapters)."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Final

from cuprum.events import SIGPIPE_STATUSES, ExecOutcome

if TYPE_CHECKING:
    from cuprum.events import ExecEvent

_FAILURES: Final = frozenset({ExecOutcome.FAILED, ExecOutcome.TIMED_OUT, ExecOutcome.CANCELLED})


def is_failure(event: ExecEvent) -> bool:
    """Whether the ``exit`` event ``event`` reports a failure.

    The event's ``outcome`` applies the failure policy: a process that failed
    on its own (or never started), timed out or was cancelled is a failure; a
    pipeline stage forgiven its SIGPIPE, or terminated by Cuprum because
    another stage failed, is not (the stage that failed is blamed instead).
    """
    if event.outcome is not None:
        return event.outcome in _FAILURES
    # An exit event without an outcome (built by hand): judge by the status.
    code = event.exit_code
    if code is None:
        return True
    return code != 0 and not (event.stage is not None and code in SIGPIPE_STATUSES)


def failure_description(event: ExecEvent) -> str:
    """A short account of a failed ``exit`` event, for span statuses and logs."""
    if event.exit_code is None:
        return f"could not start: {event.error}" if event.error else "could not start"
    if event.exit_code < 0:
        try:
            name = signal.Signals(-event.exit_code).name
        except ValueError:
            name = f"signal {-event.exit_code}"
        return f"killed by {name}"
    return f"exit code {event.exit_code}"
