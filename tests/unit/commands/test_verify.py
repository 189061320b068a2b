"""--steps parsing of `fab verify` (tasks/commands/verify.py)."""
from __future__ import annotations

import pytest

from tasks.config import ConfigError
from tasks.steps import STEPS
from tasks.commands.verify import select_steps


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
