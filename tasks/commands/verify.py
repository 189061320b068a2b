"""`fab verify`: every step (or --steps) on every target, read-only, plus the cluster consistency checks.

Each host runs the steps that target it by default, in guide order, then (ESB
nodes) has its facts read for the `cluster` pseudo-step; hosts run in parallel.
The report is one table, host by step, then the drift items (Reporter.table).
"""
from __future__ import annotations

import posixpath

from ..config import ConfigError, Host, Inventory
from ..probes.consistency import run_checks
from ..probes.facts import FACT_FILES, LbFacts, NodeFacts, read_facts, read_lb_facts
from .lifecycle.commands import restart_needed
from .lifecycle.server import PID_FILE
from ..probes.live import LIVE, live_result
from .nextsteps import command_list, with_fix
from ..engine.plan import Item
from ..remote import RemoteError
from ..engine.report import Reporter, Status, StepResult
from .rollout import host_work
from ..engine.runner import Session, in_parallel, prefetch, run_on_host
from ..secrets import redact
from ..steps import STEPS
from ..steps.base import Step
from ..engine.context import StepError
from ..steps.loadbalancer import FILES as LB_FILES
from ..formats.xmldoc import XmlError

CLUSTER = "cluster"


def select_steps(spec: str | None, live: bool = False) -> tuple[list[Step], bool]:
    """--steps a,b: those steps in guide order, and whether the `cluster` checks run (no --steps: all). The row
    `live` may be named with --live (`--steps live`: the live checks alone)."""
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


def cluster_results(inv: Inventory, facts: dict[str, NodeFacts], errors: dict[str, str]) -> list[StepResult]:
    """The `cluster` row: per ESB node, its consistency findings (drift items and warnings)."""
    findings = run_checks(inv, facts)
    out = [StepResult(h, CLUSTER, Status.FAILED, message=f"cannot read the node's files: {why}")
           for h, why in errors.items()]
    for h in facts:
        mine = [f for f in findings if f.host == h]
        items = [f.item for f in mine if not f.warning]
        out.append(StepResult(h, CLUSTER, Status.DRIFT if items else Status.OK, items,
                              warnings=[f.item for f in mine if f.warning]))
    return out


def gather(inv: Inventory, hosts: list[Host], steps: list[Step], with_cluster: bool, session: Session,
           emit, with_lb: bool = False,
           live: bool = False) -> tuple[dict[str, NodeFacts], dict[str, str], dict[str, LbFacts]]:
    """Run the steps' checks on every host (results to `emit` as they finish) and read the ESB nodes' facts
    (and, with_lb, the balancers' files): what verify and diagram both show."""
    work = dict((h.name, s) for h, s in host_work(hosts, steps, inv, enabled_only=False))
    facts: dict[str, NodeFacts] = {}
    errors: dict[str, str] = {}
    lbs: dict[str, LbFacts] = {}

    def one(host: Host) -> None:
        facts_files = tuple(posixpath.join(host.product_home, rel) for rel in FACT_FILES + (PID_FILE,)) \
            if (with_cluster or live) and host.is_esb else ()
        prefetch(work.get(host.name, []), host, session, facts_files)
        for step in work.get(host.name, []):
            emit(run_on_host(step, host, session, advise=not step.enabled(inv)))
        try:
            if (with_cluster or live) and host.is_esb:
                ctx = session.context(host)
                facts[host.name] = read_facts(ctx)
                if live:
                    emit(live_result(ctx, facts[host.name]))
            if with_lb and host.role == "lb":
                ctx = session.context(host)
                lbs[host.name] = read_lb_facts(ctx, inv.lb.conf_dir, LB_FILES)
        except (RemoteError, StepError, XmlError) as e:
            errors[host.name] = redact(str(e))
            if live and host.is_esb:
                emit(StepResult(host.name, LIVE, Status.FAILED,
                                message=f"cannot read the node's files: {redact(str(e))}"))

    in_parallel(hosts, one, inv.run.parallel)
    ordered = {h.name: facts[h.name] for h in hosts if h.name in facts}
    return ordered, errors, lbs


def verify(inv: Inventory, hosts: list[Host], steps: list[Step], with_cluster: bool, session: Session,
           reporter: Reporter, live: bool = False) -> None:
    """Run the checks (and, live, the checks from every node) and hand the reporter its table (steps x hosts)."""
    facts, errors, _ = gather(inv, hosts, steps, with_cluster, session, reporter.emit, live=live)
    if with_cluster:
        needed = restart_needed(inv, [h for h in hosts if h.name in facts], session)
        for r in cluster_results(inv, facts, errors):
            r.items = [with_fix(r.host, i) for i in r.items]
            if r.host in needed:
                r.warnings.append(Item("restart needed", ", ".join(needed[r.host]), "read by the running server",
                                       "changed after it started; fab rolling-restart --needed"))
            reporter.emit(r)
    reporter.table = ([s.name for s in steps] + ([CLUSTER] if with_cluster else []) + ([LIVE] if live else []),
                      [h.name for h in hosts])
    todo = command_list(reporter.results, STEPS, list(inv.hosts))
    if todo:
        reporter.extra["next"] = todo
        reporter.footer += ["to bring the cluster in sync, run in this order:"] + [f"  {c}" for c in todo]
