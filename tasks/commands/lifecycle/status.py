"""The status task (CONTRACT §10): read-only, every node's server against the inventory (exit 2 on drift).

A running node that does not see every other running ESB node is drift, and so is a node that should run
and does not (started by fab and not stopped by it, or a stale pid file: fix `fab -H <node> start`) and a
password-tmp left behind; a running node whose managed files hold other bytes than it started with (or that
fab has no start record of) gets a `restart needed` warning. In JSON each row's `fields` carry the same as
data, with the balancer's view of each worker and its DepSync revision.
"""
from __future__ import annotations

import time

from ...config import Host, Inventory
from ...engine.context import Nodes
from ...engine.plan import Item
from ...engine.report import Reporter, Status, StepResult
from ...engine.runner import Session, in_parallel
from ...formats import carbonlog as logs
from ...probes.depsync import describe_revision, revisions
from ...probes.restart import UNKNOWN, health_items, stale_files
from ...probes.startrecord import read_record
from ...remote import HostFault
from ...secrets import redact
from ...steps import STEPS
from .balancer import Balancer
from .commands import server
from .server import NodeServer, ServerState


def expected_members(inv: Inventory, host: Host, running: set[str]) -> dict[tuple[str, int | None], str]:
    """(member_host, member_port) -> name of every other running ESB node: what a running node must see."""
    return {(h.member_host, h.member_port): h.name for h in inv.esb_nodes if h.name != host.name and h.name in running}


def status_of(inv: Inventory, h: Host, srv: NodeServer, st: ServerState, running: set[str]) -> StepResult:
    """One node's status row: running or stopped, pid and since when, ports, members seen against
    the inventory (drift), restart needed (a warning); the same as data in `fields`."""
    srv.refuse_foreign(st)
    record = read_record(srv.remote, h)
    health = health_items(srv.remote, h, inv, st, record)
    if not st.running:
        stopped: dict[str, object] = {"state": "should run" if health else "stopped", "pid": None, "since": None,
                                      "stopped_by_fab": bool(record is not None and record.stopped)}
        if health:
            return StepResult(h.name, "status", Status.DRIFT, health, fields=stopped,
                              message="; ".join(f"{i.what}: {i.actual}; fix: {i.fix}" for i in health))
        return StepResult(h.name, "status", Status.OK, fields=stopped, message="stopped"
                          + (" by fab stop" if record is not None and record.stopped else "")
                          + (f" ({st.notes[0]})" if st.notes else ""))
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(st.since))
    ports = srv.accepting()
    items, warnings = list(health), []
    for p, up in ports.items():
        if not up:
            items.append(Item("ports", f"{h.member_host}:{p}", "accepting", "refused"))
    text = srv.log_tail()
    seen = logs.members(text)
    want = expected_members(inv, h, running)
    for (mh, mp), name in sorted(want.items(), key=lambda kv: kv[1]):
        if (mh, mp) not in seen:
            items.append(Item("members", f"{name} ({mh}:{mp})", "seen (it runs)", "not seen"))
    known = {k for k in want}
    strangers = sorted(f"{a}:{p}" for a, p in seen - known)
    if strangers:
        items.append(Item("members", "members no running node of hosts.toml is",
                          "none", ", ".join(strangers)))
    changed = stale_files(srv.remote, h, inv, st, record, STEPS)
    if changed == [UNKNOWN]:
        warnings.append(Item("restart needed", UNKNOWN, "a start record of its files",
                             "none for this pid; fab rolling-restart --needed restarts it"))
    elif changed:
        warnings.append(Item("restart needed", ", ".join(changed), "as the running server started with them",
                             f"changed since it started ({since}); fab rolling-restart --needed"))
    names = sorted(want[k] for k in want if k in seen)
    message = (f"running, pid {st.pid} since {since}; ports {', '.join(str(p) for p in ports)}; sees "
               f"{', '.join(names) or 'no other member'}")
    fields: dict[str, object] = {"state": "running", "pid": st.pid,
              "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(st.since)),
              "ports": {str(p): up for p, up in ports.items()},
              "members_seen": names, "members_missing": sorted(n for k, n in want.items() if k not in seen),
              "members_unknown": strangers,
              "restart_needed": "unknown" if changed == [UNKNOWN] else changed}
    return StepResult(h.name, "status", Status.DRIFT if items else Status.OK, items, message=message,
                      warnings=warnings, fields=fields)


def status(inv: Inventory, hosts: list[Host], session: Session, reporter: Reporter) -> None:
    """Read-only: every node's server against the inventory (exit 2 on drift); in JSON each row's
    `fields` carry the same as data, with the balancer's view of each worker and its DepSync revision."""
    states = {}
    errors = {}

    def gather(h: Host):
        try:
            srv = server(session, h)
            states[h.name] = (srv, srv.state())
        except HostFault as e:
            errors[h.name] = redact(str(e))
    in_parallel(inv.esb_nodes, gather, inv.run.parallel)  # membership needs every node's state
    running = {n for n, (_, st) in states.items() if st.running}
    synced = revisions(inv, [h for h in hosts if h.name in states], session.context)  # issue 32
    lb = balancer_view(session)

    def one(h: Host) -> StepResult:
        if h.name in errors:
            r = StepResult(h.name, "status", Status.FAILED, message=errors[h.name], fields={"state": "unreachable"})
        else:
            try:
                r = status_of(inv, h, *states[h.name], running)
                if h.name in synced:
                    r.message += f"; {describe_revision(synced[h.name])}"
                    r.fields["depsync"] = {"revision": synced[h.name][0], "repository": synced[h.name][1]}
                if h.role == "worker" and lb is not None:
                    r.fields["balancer"] = ("drained" if h.name in lb[1] else "down" if h.name in lb[0] else "in")
            except HostFault as e:
                r = StepResult(h.name, "status", Status.FAILED, message=redact(str(e)))
        reporter.emit(r)
        return r
    in_parallel(hosts, one, inv.run.parallel)


def balancer_view(nodes: Nodes) -> tuple[set[str], set[str]] | None:
    """(the workers an lb host marks down, those `fab drain` took out), or None without a reachable lb."""
    balancer = Balancer(nodes)
    if not balancer.lbs:
        return None
    try:
        return balancer.down(), balancer.drained()
    except HostFault:
        return None
