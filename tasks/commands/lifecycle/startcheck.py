"""Before `start`: the node's own files as `fab verify` sees them. A node whose node steps show drift
(its files as shipped, or changed by hand since the project wrote them) would come up on settings
the cluster does not have (the shipped clustering, ports that collide), so `start` refuses it,
naming the steps and the fix (`fab -H <node> setup-worker`), unless `--force`.

The check is the engine's verify of the node steps (engine.runner.run_on_host in Mode.VERIFY): the
same plans, read-only, no second implementation; the steps are those setup-manager/setup-worker run
on the node ([security] steps only where switched on).
"""
from __future__ import annotations

from ...config import Host
from ...engine.mode import Mode
from ...engine.report import Status
from ...engine.runner import Session, prefetch, run_on_host
from ...engine.step import host_work
from ...steps import STEPS

#: the umbrella task that brings a node of a role back in line
SETUP = {"manager": "setup-manager", "worker": "setup-worker"}


def node_drift(session: Session, host: Host) -> list[str]:
    """The node steps whose verify on this node is not ok: `name` for drift, `name (why)` for a check that
    failed (a node the project cannot verify is not started on trust either)."""
    steps = [s for s in STEPS if s.phase == "nodes"]  # the node steps, in guide order
    out = []
    for h, mine in host_work([host], steps, session.inv):
        prefetch(mine, h, session)
        for step in mine:
            r = run_on_host(step, h, session, mode=Mode.VERIFY)
            if r.status is Status.DRIFT:
                out.append(step.name)
            elif r.status is Status.FAILED:
                out.append(f"{step.name} (cannot verify: {r.message})")
    return out


def drift_refusal(session: Session, host: Host) -> str | None:
    """Why `start` refuses this node (its drifted steps and the fix), or None when verify finds it in sync."""
    drifted = node_drift(session, host)
    if not drifted:
        return None
    fix = f"fab -H {host.name} {SETUP.get(host.role, 'setup-worker')}"
    return (f"its files differ from what the project writes (fab verify: {', '.join(drifted)}); it would come "
            f"up on other settings than the cluster's; fix: {fix}, or `fab -H {host.name} start --force` to start "
            f"it as it is")
