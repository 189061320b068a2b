"""`fab verify`: every step (or --steps) on every target, read-only,
plus the cluster consistency checks.

Each host runs the steps that target it by default, in guide order, then (ESB
nodes) has its facts read for the `cluster` pseudo-step; hosts run in parallel.
The report is one table, host by step, then the drift items (Reporter.table).
"""
from __future__ import annotations

from ..config import ConfigError, Host, Inventory
from ..probes.cluster import CLUSTER, cluster_results, gather
from ..probes.live import LIVE
from ..probes.restart import UNKNOWN, restart_needed
from .nextsteps import command_list, with_fix
from ..engine.plan import Item
from ..engine.report import Reporter
from ..engine.runner import Session
from ..steps import STEPS
from ..engine.step import Step


def select_steps(spec: str | None, live: bool = False) -> tuple[list[Step], bool]:
    """--steps a,b: those steps in guide order, and whether the `cluster` checks run (no --steps:
    all). The row `live` may be named with --live (`--steps live`: the live checks alone)."""
    if not spec:
        return list(STEPS), True
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if LIVE in names and not live:
        raise ConfigError(f"--steps {LIVE}: the live checks run with --live (fab verify --live --steps {LIVE})")
    known = [s.name for s in STEPS] + [CLUSTER] + ([LIVE] if live else [])
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise ConfigError(f"--steps: unknown step {', '.join(map(repr, unknown)) or '(none given)'}; "
                          f"known steps: {', '.join(known)}")
    return [s for s in STEPS if s.name in names], CLUSTER in names


def verify(inv: Inventory, hosts: list[Host], steps: list[Step], with_cluster: bool, session: Session,
           reporter: Reporter, live: bool = False) -> None:
    """Run the checks (and, live, the checks from every node) and hand the reporter its table (steps x hosts)."""
    facts, errors, _ = gather(inv, hosts, steps, with_cluster, session, reporter.emit, live=live)
    if with_cluster:
        needed = restart_needed(session, [h for h in hosts if h.name in facts], STEPS)
        for r in cluster_results(inv, facts, errors):
            r.items = [with_fix(r.host, i) for i in r.items]
            if needed.get(r.host) == [UNKNOWN]:
                r.warnings.append(Item("restart needed", UNKNOWN, "a start record of its files",
                                       "none for this pid; fab rolling-restart --needed restarts it"))
            elif r.host in needed:
                r.warnings.append(Item("restart needed", ", ".join(needed[r.host]), "as the running server "
                                       "started with them", "changed since it started; fab rolling-restart --needed"))
            reporter.emit(r)
    reporter.table = ([s.name for s in steps] + ([CLUSTER] if with_cluster else []) + ([LIVE] if live else []),
                      [h.name for h in hosts])
    todo = command_list(reporter.results, STEPS, list(inv.hosts), {h.name: h.role for h in inv.hosts.values()})
    if todo:
        reporter.extra["next"] = todo
        reporter.footer += ["to bring the cluster in sync, run in this order:"] + [f"  {c}" for c in todo]
