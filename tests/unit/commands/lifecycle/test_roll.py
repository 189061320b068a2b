"""tasks/commands/lifecycle/roll.py: the recovery a failed rolling restart prints, and why a peer does not serve."""
from __future__ import annotations

from tasks.commands.lifecycle.roll import Recovery, peer_state
from tasks.probes.server import ServerState


def test_nothing_failed_prints_nothing():
    assert Recovery("fab rolling-restart").footer() == []


def test_the_fixes_then_the_commands_in_order_each_once():
    rec = Recovery("fab rolling-restart --needed --dry-run")
    rec.fixes += ["esb-w2: java is Java 17", "esb-w2: java is Java 17", "lb1: make it reachable"]
    rec.starts += ["esb-w2", "esb-w2"]
    rec.rerun = True
    assert rec.footer() == ["to recover, first fix:", "  - esb-w2: java is Java 17", "  - lb1: make it reachable",
                            "then run, in this order:", "  fab -H esb-w2 start", "  fab rolling-restart --needed"]


def test_only_commands_when_there_is_nothing_to_fix_and_a_command_line_that_is_not_fab_is_not_echoed():
    rec = Recovery("pytest -k x")
    rec.starts.append("esb-w1")
    rec.rerun = True
    assert rec.footer() == ["to recover, run in this order:", "  fab -H esb-w1 start", "  fab rolling-restart"]


def test_a_peer_is_unreachable_marked_down_or_not_running():
    running = ServerState(pid=5, alive=True, ours=True)
    assert peer_state("esb-w2", {}) == "is unreachable"
    assert peer_state("esb-w2", {"esb-w2": running}) == "runs but is marked down"
    assert peer_state("esb-w2", {"esb-w2": ServerState()}) == "does not run"
