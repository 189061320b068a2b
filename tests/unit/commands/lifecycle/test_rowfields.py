"""A lifecycle row's fields (tasks/commands/lifecycle/rowfields.py): action, states before and after,
pids, the worker's place in the balancer."""
from __future__ import annotations

import pytest

from tasks.commands.lifecycle.rowfields import balancer_place, node_fields, stop_action


def test_a_start_says_its_action_states_and_pids():
    f = node_fields("start", False, True, None, 4242, "in")
    assert f == {"action": "start", "state_before": "stopped", "state_after": "running", "pid_before": None,
                 "pid": 4242, "balancer": "in"}


def test_a_stopped_node_has_no_pid_after_and_more_fields_join():
    f = node_fields("kill", True, False, 77, 77, "out", forced=True)
    assert f["state_after"] == "stopped" and f["pid"] is None and f["pid_before"] == 77 and f["forced"] is True


@pytest.mark.parametrize("worker,lb,drained,out,want", [
    (False, True, False, False, None),  # the manager is behind no upstream
    (True, False, False, False, None),  # no lb host
    (True, True, True, False, "drained"),
    (True, True, False, True, "out"),
    (True, True, False, False, "in"),
])
def test_a_workers_place_in_the_balancer(worker, lb, drained, out, want):
    assert balancer_place(worker, lb, drained, out) == want


@pytest.mark.parametrize("message,want", [
    ("stopped (pid 12)", "stop"), ("killed (pid 12, still running 120 s after TERM)", "kill"),
    ("not running", "none"), ("not running (a stale pid file)", "none"),
])
def test_what_a_stop_did(message, want):
    assert stop_action(message) == want
