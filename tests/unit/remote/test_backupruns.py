"""tasks/remote/backupruns.py: a node's backup runs are ordered by the node's own sequence, never by the clock
names of their run ids (pruning and the originals on a real sshd: test_journal.py, as a run writes them)."""
from __future__ import annotations

from tasks.remote.backupruns import run_order


def test_runs_are_ordered_by_the_nodes_sequence_not_by_their_clock_names():
    names = ["000002-20250101T000000.000000-1", "000010-20240101T000000.000000-9", "20991231T235959.000000-5",
             "000001-20991231T000000.000000-2"]
    assert sorted(names, key=run_order) == ["20991231T235959.000000-5",  # a folder of an older release first
                                            "000001-20991231T000000.000000-2", "000002-20250101T000000.000000-1",
                                            "000010-20240101T000000.000000-9"]
    assert run_order("000010-20240101T000000.000000-9") == (10, "20240101T000000.000000-9")
