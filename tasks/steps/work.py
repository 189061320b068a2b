"""Which steps run where: the steps of a command line by name, and each host with the
steps that target it. Shared by the rollouts, verify and the lifecycle commands, so
that none of them imports another."""
from __future__ import annotations

from ..config import Host, Inventory
from . import STEPS
from .base import Step

#: the node steps in guide order (setup-manager / setup-worker): every step of the "nodes" phase
NODE_STEPS = tuple(s.name for s in STEPS if s.phase == "nodes")


def find_steps(names) -> tuple[list[Step], list[str]]:
    """The steps of STEPS with these names, in the given order, and the names not (yet) in STEPS."""
    known = {s.name: s for s in STEPS}
    return [known[n] for n in names if n in known], [n for n in names if n not in known]


def host_work(hosts: list[Host], steps: list[Step], inv: Inventory,
              enabled_only: bool = True) -> list[tuple[Host, list[Step]]]:
    """Each host with the steps that target it by default (hosts no step targets
    are left out); enabled_only (rollouts): a [security] step only when its switch
    is on (verify checks every step)."""
    if enabled_only:
        steps = [s for s in steps if s.enabled(inv)]
    out = []
    for h in hosts:
        mine = [s for s in steps if any(t.name == h.name for t in s.default_targets(inv))]
        if mine:
            out.append((h, mine))
    return out
