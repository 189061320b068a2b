"""tasks/remote/lockowner.py: a lock's holder is proved gone only on this machine (pid gone, a zombie, a pid
reused, a reboot), proved alive only by its own process; no time in the owner file decides anything, and a
planted or garbage owner file is named safely, never a crash."""
from __future__ import annotations

import os
import subprocess

import pytest

from tasks.remote.lockowner import (GONE, LIVE, UNKNOWN_START, UNPROVED, ThisMachine, owner_record, proc_start,
                                    run_order, same_machine, shown, this_machine, verdict, who)

FAR_FUTURE, FAR_PAST = 4_102_444_800, 0  # 2100-01-01 and 1970


def machine(procs: dict[int, int | None] | None = None, machine_id: str | None = "m-1",
            boot_id: str | None = "b-1") -> ThisMachine:
    """This machine, with the processes it knows (pid -> start tick; absent: no such process)."""
    table = procs or {}
    return ThisMachine("ops-laptop", machine_id, boot_id, lambda pid: table.get(pid))


def owner(**kw) -> dict:
    base = {"run_id": "20261207T101010.000001-42", "pid": 42, "node": "ops-laptop", "machine_id": "m-1",
            "boot_id": "b-1", "pid_start": 1000, "command": "fab patch-axis2", "time": FAR_PAST, "started": 5.0}
    return {**base, **kw}


@pytest.mark.parametrize("time_field", [FAR_PAST, FAR_FUTURE, -1, "garbage", None])
def test_another_machines_run_is_never_judged_by_a_time(time_field):
    """A machine two hours ahead, a planted far-future or far-past time: none proves anything."""
    kind, why = verdict(owner(node="ops-desktop", machine_id="m-2", time=time_field, started=time_field),
                        machine({42: 1000}))
    assert kind == UNPROVED and why == "it is a run of another machine (ops-desktop), which this machine cannot see end"


@pytest.mark.parametrize("time_field", [FAR_PAST, FAR_FUTURE])
def test_this_machines_run_is_judged_by_its_process_not_its_time(time_field):
    assert verdict(owner(time=time_field), machine({42: 1000}))[0] == LIVE
    assert verdict(owner(time=time_field), machine({})) == (GONE, "its process 42 is gone")
    assert verdict(owner(time=time_field), machine({42: 2000})) == (GONE, "process 42 is now another process")
    assert verdict(owner(time=time_field), machine({42: 1000}, boot_id="b-2")) == \
        (GONE, "this machine restarted since it was taken")


def test_a_live_pid_without_a_recorded_start_proves_nothing():
    """An owner file of an older release (or a planted one naming pid 1): the process lives, but is it that run?"""
    kind, why = verdict(owner(pid_start=None, pid=1), machine({1: 7}))
    assert kind == UNPROVED and "process 1 runs on this machine, but its owner file cannot prove it is that run" == why
    assert verdict(owner(), machine({42: UNKNOWN_START}))[0] == UNPROVED  # alive, start unreadable
    assert verdict(owner(pid_start=None), machine({}))[0] == GONE  # a gone pid is gone, start or none


def test_the_same_host_name_on_another_machine_id_is_another_machine():
    assert not same_machine(owner(machine_id="m-2"), machine())
    assert verdict(owner(machine_id="m-2"), machine({}))[0] == UNPROVED  # its pid gone HERE proves nothing
    assert same_machine(owner(machine_id=None), machine())  # an older owner file: the host name decides
    assert same_machine(owner(), machine(machine_id=None))


@pytest.mark.parametrize("holder,why", [
    (None, "its owner file is missing, unreadable or not a JSON object"),
    ({}, "it is a run of an unnamed machine, which this machine cannot see end"),
    (owner(node=["ops-laptop"]), "it is a run of an unnamed machine, which this machine cannot see end"),
    (owner(pid="42; rm -rf /"), "its owner file names no process id"),
    (owner(pid=True), "its owner file names no process id"),
    (owner(pid=-1), "its owner file names no process id"),
    (owner(pid=0), "its owner file names no process id"),
    (owner(pid=4.2), "its owner file names no process id"),
    (owner(pid_start="1000"), "process 42 runs on this machine, but its owner file cannot prove it is that run"),
    (owner(boot_id=7, pid_start=[1]), "process 42 runs on this machine, but its owner file cannot prove it is that run"),
])
def test_a_garbage_owner_file_is_unproved_never_an_error(holder, why):
    assert verdict(holder, machine({42: 1000})) == (UNPROVED, why)
    who(holder)  # always printable


def test_who_names_run_pid_machine_and_command_and_shows_nothing_unsafe():
    assert who(owner()) == "20261207T101010.000001-42, pid 42 on ops-laptop, `fab patch-axis2`"
    assert who(owner(command="")) == "20261207T101010.000001-42, pid 42 on ops-laptop"
    assert who(None) == "owner unknown"
    planted = who(owner(run_id="x\x1b[2J\nEVIL", pid={"a": 1}, node="n" * 500, command=5))
    assert planted == f"x?[2J?EVIL, pid <dict> on {'n' * 77}..."  # no escape, no line break, cut short
    assert shown(None) == "?" and shown(True) == "<bool>" and shown(3) == "3"


def test_run_order_orders_this_machines_runs_and_survives_garbage():
    assert run_order(owner(started=1.0)) < run_order(owner(started=2.0))
    assert run_order(owner(started="soon", run_id=["x"])) == (0, "<list>")
    assert run_order({}) == (0, "?")


def test_the_owner_record_proves_this_process_alive_here():
    here = this_machine()
    rec = owner_record("r1", 12.5, "fab patch-axis2", here)
    assert rec["pid"] == os.getpid() and rec["node"] == here.hostname and rec["command"] == "fab patch-axis2"
    assert rec["started"] == 12.5 and isinstance(rec["pid_start"], int)
    assert verdict(rec, here)[0] == LIVE


def test_proc_start_of_a_live_a_zombie_and_a_gone_process():
    assert proc_start(os.getpid()) == proc_start(os.getpid()) >= 0
    p = subprocess.Popen(["true"])
    while True:  # a zombie until reaped: a dead run all the same
        with open(f"/proc/{p.pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
    assert proc_start(p.pid) is None
    p.wait()
    assert proc_start(p.pid) is None
