"""rotate-passwords' phases derive from the steps' declarations (pure)."""
from __future__ import annotations

from tasks.commands.lifecycle.rotation import ROTATED, node_steps
from tasks.steps import STEPS


def test_the_node_files_phase_is_every_node_step_that_writes_a_rotated_password_in_guide_order():
    names = [s.name for s in node_steps()]
    assert names == ["configure-datasources", "enable-depsync", "secure-vault"]
    order = [s.name for s in STEPS]
    assert names == sorted(names, key=order.index)
    assert all(set(s.secrets) & set(ROTATED) for s in node_steps())
