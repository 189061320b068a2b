"""--steps parsing and the cluster row of `fab verify` (tasks/commands/verify.py)."""
from __future__ import annotations

import pytest

from tasks.config import ConfigError
from tasks.probes.consistency import Finding
from tasks.engine.plan import Item
from tasks.steps import STEPS
from tasks.commands.verify import cluster_results, select_steps
from tests.unit.helpers import inventory


def test_no_steps_means_every_step_and_the_cluster_checks():
    steps, cluster = select_steps("")
    assert steps == list(STEPS) and cluster


def test_steps_in_guide_order_whatever_the_order_given():
    steps, cluster = select_steps("patch-axis2, map-hosts")
    assert [s.name for s in steps] == ["map-hosts", "patch-axis2"] and not cluster
    steps, cluster = select_steps("cluster")
    assert steps == [] and cluster


def test_unknown_step_lists_the_known_ones():
    with pytest.raises(ConfigError, match="unknown step 'nope'; known steps: create-certs, .*cluster"):
        select_steps("patch-axis2,nope")


def test_cluster_row_drift_warnings_and_unreadable_nodes(monkeypatch):
    inv = inventory()
    drift = Item("f", "w", "a", "b")
    warn = Item("f", "h", "x", "127.0.0.1")
    monkeypatch.setattr("tasks.commands.verify.run_checks",
                        lambda inv, facts: [Finding("esb-mgr", drift), Finding("esb-w1", warn, warning=True)])
    rows = {r.host: r for r in cluster_results(inv, {"esb-mgr": None, "esb-w1": None}, {"esb-w2": "unreachable"})}
    assert (rows["esb-mgr"].status, rows["esb-mgr"].items) == ("drift", [drift])
    assert (rows["esb-w1"].status, rows["esb-w1"].warnings) == ("ok", [warn])
    assert rows["esb-w2"].status == "failed" and "unreachable" in rows["esb-w2"].message
