"""tasks/steps/__init__.py: every step of STEPS has plan tests on a node in memory (tests/memnode.py) in the test
module mirroring its own, so a new step cannot arrive without one."""
from __future__ import annotations

from pathlib import Path

import pytest

from tasks.steps import STEPS

HERE = Path(__file__).parent


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.name)
def test_every_step_has_plan_tests_on_a_memory_node_in_its_mirror_module(step):
    module = type(step).__module__.rsplit(".", 1)[1]
    path = HERE / f"test_{module}.py"
    assert path.exists(), f"{step.name}: no {path.name}"
    text = path.read_text()
    assert f"{type(step).__name__}()" in text and ("plan_on(" in text or "node_context(" in text), \
        f"{step.name}: {path.name} does not plan {type(step).__name__} on a MemoryNode"


def test_rotate_keystore_step_is_a_new_rotating_create_keystore_per_call():
    """rotate-keystore's step, as the command line takes it from the registry: `force` is the call's own, and a
    second call (another run in the same process) does not inherit it."""
    from tasks.steps import rotate_keystore_step
    from tasks.steps.keystore import CreateKeystore, RotateKeystore
    forced, plain = rotate_keystore_step(force=True), rotate_keystore_step()
    assert isinstance(forced, RotateKeystore) and isinstance(forced, CreateKeystore) and forced.rotate
    assert forced.name == "rotate-keystore" and forced not in STEPS
    assert forced.force is True and plain.force is False and forced is not plain
