"""The run's lock bookkeeping (tasks/remote/runlocks.py): per run, no module state."""
from __future__ import annotations

from tasks.remote import RunLocks


def test_others_held_counts_only_other_hosts_of_the_same_run():
    a, b = object(), object()
    run, other_run = RunLocks(), RunLocks()
    assert not run.others_held(a)
    run.hold(a)
    assert not run.others_held(a) and run.others_held(b)
    assert not other_run.others_held(b)  # another run (session) knows nothing of it
    run.release(a)
    assert not run.others_held(b)
    assert RunLocks(started=5.0).started == 5.0
