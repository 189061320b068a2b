"""tasks/remote/lock.py on a real sshd: the node's lock names its run, a second run waits then refuses, a dead
run's lock is broken at once, and unlock leaves nothing behind."""
from __future__ import annotations

import json
import socket
import subprocess

import pytest

from tasks.remote import RemoteError


def _state(lab, name="esb-w1"):
    return lab.state_dir(name)


def test_the_lock_names_its_run_and_a_second_run_refuses_after_lock_wait(lab, remote):
    first, second = remote(), remote()
    first.lock(wait=0)
    owner = json.loads((_state(lab) / "lock" / "owner").read_text())
    assert owner["run_id"] == first.run_id and first.locked
    with pytest.raises(RemoteError, match=rf"esb-w1 is locked by another run \({first.run_id}, pid \d+ on .+\); "
                                          r"gave up after 0s \(\[run\]\.lock_wait\)"):
        second.lock(wait=0)
    assert not second.locked
    first.unlock()
    assert not (_state(lab) / "lock").exists()
    second.lock(wait=0)  # free again
    assert second.locked and not [p for p in _state(lab).iterdir() if p.name.startswith("lock.")]


def test_a_dead_runs_lock_is_broken_at_once(lab, remote):
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that no longer runs
    lock = _state(lab) / "lock"
    lock.mkdir(parents=True)
    (lock / "owner").write_text(json.dumps({"run_id": "20260101T000000.000000-1", "pid": dead.pid,
                                            "node": socket.gethostname(), "time": 0, "started": 0}))
    r = remote()
    r.lock(wait=0)
    assert json.loads((lock / "owner").read_text())["run_id"] == r.run_id
