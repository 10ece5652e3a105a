"""The engine: everything that happens when a ``SafeCmd`` or ``Pipeline`` runs.

Read top-down:

* ``execute`` — ``run()``: a live process started, waited for, closed;
* ``live`` — ``LiveProcess``: the handle ``start()`` returns;
* ``plan`` — checks and resolution before anything happens (allowlist,
  sealed commands, executables, environment, timeout, events);
* ``supervisor`` — one run: spawning, the failure policy, the deadline,
  teardown and the result;
* ``stdio`` — the descriptors each process gets and what the parent keeps;
* ``streams`` — reading output (capture, echo, line events, live streams)
  and writing stdin, on the event loop;
* ``child`` — one child process: spawned in its own group, watched through
  a pidfd, kept as a zombie until its group is settled, then reaped;
* ``resolve`` — program name to absolute executable, on this process's PATH;
* ``sync`` — ``run_sync``: a loop per thread.
"""
