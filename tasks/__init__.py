"""WSO2 ESB 4.9.0 cluster guide as Fabric/Invoke tasks: one task per guide step, plus rollouts."""
from __future__ import annotations

from invoke import Collection

from .cli import UMBRELLA_TASKS, step_task
from .steps import STEPS


def build_collection() -> Collection:
    """The explicit task namespace `fab` shows."""
    ns = Collection()
    for step in STEPS:
        ns.add_task(step_task(step))
    for t in UMBRELLA_TASKS:
        ns.add_task(t)
    return ns


ns = build_collection()
