"""The cluster as verify and diagram read it: every step's check on every host, the ESB nodes'
facts (and the balancers' routes, and with --live the checks from each node), and the
`cluster` row of consistency findings."""
from __future__ import annotations

import posixpath

from ..config import Host, Inventory
from ..engine.report import Status, StepResult
from ..engine.runner import Session, in_parallel, prefetch, run_on_host
from ..formats.xmldoc import XmlError
from ..remote import HostFault
from ..rules import NGINX_FILES as LB_FILES, PID_FILE
from ..secrets import redact
from ..engine.step import Step, host_work
from .consistency import run_checks
from .facts import FACT_FILES, LbFacts, NodeFacts, read_facts, read_lb_facts
from .live import LIVE, live_result


CLUSTER = "cluster"


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
    """Run the steps' checks on every host (results to `emit` as they finish) and read the ESB
    nodes' facts (and, with_lb, the balancers' files): what verify and diagram both show."""
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
        except (HostFault, XmlError) as e:
            errors[host.name] = redact(str(e))
            if live and host.is_esb:
                emit(StepResult(host.name, LIVE, Status.FAILED,
                                message=f"cannot read the node's files: {redact(str(e))}"))

    in_parallel(hosts, one, inv.run.parallel)
    ordered = {h.name: facts[h.name] for h in hosts if h.name in facts}
    return ordered, errors, lbs
