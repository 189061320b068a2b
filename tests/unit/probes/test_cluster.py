"""The `cluster` row that verify and diagram show (tasks/probes/cluster.py)."""
from __future__ import annotations

from tasks.engine.plan import Item
from tasks.probes.cluster import cluster_results
from tasks.probes.consistency import Finding
from tests.unit.helpers import inventory


def test_cluster_row_drift_warnings_and_unreadable_nodes(monkeypatch):
    inv = inventory()
    drift = Item("f", "w", "a", "b")
    warn = Item("f", "h", "x", "127.0.0.1")
    monkeypatch.setattr("tasks.probes.cluster.run_checks",
                        lambda inv, facts: [Finding("esb-mgr", drift), Finding("esb-w1", warn, warning=True)])
    rows = {r.host: r for r in cluster_results(inv, {"esb-mgr": None, "esb-w1": None}, {"esb-w2": "unreachable"})}
    assert (rows["esb-mgr"].status, rows["esb-mgr"].items) == ("drift", [drift])
    assert (rows["esb-w1"].status, rows["esb-w1"].warnings) == ("ok", [warn])
    assert rows["esb-w2"].status == "failed" and "unreachable" in rows["esb-w2"].message
