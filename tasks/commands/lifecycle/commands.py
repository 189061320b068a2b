"""The lifecycle tasks (CONTRACT §10): start, stop, restart and drain, over the run's session, and
the rows they share with rolling-restart (roll.py) and status (status.py).

Each node's result is a row like a step's (host, task, status, message, items, warnings), so text,
JSON and exit codes are the reporter's. `start` takes the manager first, then the workers (in
parallel); `stop` the workers first; `restart` and `rolling-restart` go node by node.
`rolling-restart` takes each worker out of the balancer (`down` in every upstream of the lb hosts,
`nginx -t`, reload), waits [run].drain_seconds, restarts it, waits until it is up and sees the other
running members, puts it back; the manager restarts alone. A node that does not come back stops it
there: that node stays out of the balancer, the others serve, exit 1.
"""
from __future__ import annotations

import time
from typing import Callable

from ...config import Host, Inventory
from ...engine.mode import Mode
from ...remote import HostFault
from ...engine.report import Reporter, Status, StepResult
from ...engine.runner import Session, error_code, in_parallel
from ...secrets import SecretMissing, redact, safe_error
from ...engine.context import StepError
from .server import NodeServer, ServerState
from .balancer import Balancer, node_states
from .startcheck import drift_refusal
from .rowfields import balancer_place, node_fields, stop_action

Outcome = tuple[Status | str, str] | tuple[Status | str, str, dict]  # (status, message[, fields])


def server(session: Session, host: Host) -> NodeServer:
    return NodeServer(host, session.inv, session.remote(host), session.secrets)


def run_rows(task: str, hosts: list[Host], fn: Callable[[Host], Outcome], session: Session, reporter: Reporter,
             parallel: bool = True) -> list[StepResult]:
    """fn on each host (a row each, reported as it ends, with the fields fn gives); a failure is that host's
    row, never the others'."""
    def one(h: Host) -> StepResult:
        try:
            status, message, *fields = fn(h)
            r = StepResult(h.name, task, Status(status), message=message, fields=fields[0] if fields else {})
        except (HostFault, SecretMissing) as e:
            r = StepResult(h.name, task, Status.FAILED, message=redact(str(e)), fields={"error": error_code(e)})
        except Exception as e:  # a bug must not hide the other hosts' rows
            r = StepResult(h.name, task, Status.FAILED, message=safe_error(e), fields={"error": "bug"})
        reporter.emit(r)
        return r
    if parallel:
        return in_parallel(hosts, one, session.inv.run.parallel)
    return [one(h) for h in hosts]


def checked_state(srv: NodeServer) -> ServerState:
    """The node's server state; a pid file naming another process is refused here, before anything acts."""
    st = srv.state()
    srv.refuse_foreign(st)
    return st


def managers_then_workers(hosts: list[Host]) -> tuple[list[Host], list[Host]]:
    return [h for h in hosts if h.role == "manager"], [h for h in hosts if h.role == "worker"]


# ---------------------------------------------------------------- start / stop / restart

def put_back(balancer: Balancer, h: Host, drained: set[str]) -> str:
    """A running worker back in the balancer unless drained (`fab drain`): what the row adds."""
    if h.role != "worker" or not balancer.lbs:
        return ""
    if h.name in drained:
        return f"; stays out of the balancer: drained (fab -H {h.name} drain --undo puts it back)"
    done = balancer.mark(h, down=False)
    return f"; back in {', '.join(done)}" if done else ""


def start(inv: Inventory, hosts: list[Host], session: Session, reporter: Reporter, force: bool = False) -> None:
    """Start the stopped nodes: the manager first, then the workers (in parallel); a running worker that is
    not drained is put back in the balancer (a start is what brings a stopped worker back). A node whose
    node steps show drift is refused (startcheck.py), unless `force`."""
    dry = session.mode is Mode.DRY_RUN
    balancer = Balancer(session)
    wanted: dict[str, set[str]] = {}

    def drained() -> set[str]:
        with balancer.lock:
            if "drained" not in wanted:
                wanted["drained"] = balancer.drained() if balancer.lbs else set()
            return wanted["drained"]

    def place(h: Host) -> str | None:
        """The worker's place in the balancer at the end of its row (`unknown`: the balancer cannot be read)."""
        try:
            return balancer_place(h.role == "worker", bool(balancer.lbs),
                                  h.role == "worker" and bool(balancer.lbs) and h.name in drained())
        except HostFault:
            return "unknown"

    def one(h: Host) -> Outcome:
        srv = server(session, h)
        st = checked_state(srv)
        if st.running:
            if dry:
                return "ok", f"running (pid {st.pid})", node_fields("none", True, True, st.pid, st.pid)
            try:
                back = put_back(balancer, h, drained())
            except HostFault as e:
                raise StepError(f"running (pid {st.pid}); but the balancer could not be read or marked (is it "
                                f"in?): {e}; fab -H {h.name} start puts it back once it is reachable") from None
            moved = back.startswith("; back")
            return (("changed" if moved else "ok"), f"running (pid {st.pid})" + back,
                    node_fields("none", True, True, st.pid, st.pid, place(h), back_in_balancer=moved))
        refusal = None if force else drift_refusal(session, h)
        if refusal:
            raise StepError(("would not start: " if dry else "not started: ") + refusal)
        if dry:
            problems = srv.start_problems()
            if problems:
                raise StepError("would not start: " + "; ".join(problems))
            return "changed", (f"would start it: JAVA_HOME={h.java_home} {srv.path('bin/wso2server.sh')} --start"
                               + ("; KEYSTORE_PASSWORD through password-tmp" if inv.security.vault else "")
                               + ("; then back in the balancer" if h.role == "worker" and balancer.lbs else "")), \
                node_fields("start", False, True, st.pid, None, place(h))
        message = srv.start() + (f"; {st.notes[0]}" if st.notes else "")
        try:
            back = put_back(balancer, h, drained())
            return "changed", message + back, node_fields("start", False, True, st.pid, srv.pid_in_file(), place(h))
        except HostFault as e:
            raise StepError(f"{message}; but the balancer could not be read or marked (is it in?): {e}; "
                            f"fab -H {h.name} start puts it back once it is reachable") from None

    managers, workers = managers_then_workers(hosts)
    run_rows("start", managers, one, session, reporter, parallel=False)
    run_rows("start", workers, one, session, reporter)


def last_worker(hosts: list[Host], balancer: Balancer) -> tuple[list[str], list[str]]:
    """(the serving workers among hosts, the serving workers left once they are out): a worker serves when it
    runs and no lb marks it down (read through the balancer's connections)."""
    states, _ = node_states(balancer.nodes, balancer.inv.by_role("worker"))
    serving = balancer.serving(states)
    names = {h.name for h in hosts}
    return [n for n in serving if n in names], [n for n in serving if n not in names]


def take_out(inv: Inventory, workers: list[Host], balancer: Balancer) -> dict[str, str]:
    """Each worker out of the balancer (down, nginx -t, reload), then [run].drain_seconds once for the
    requests in flight; the workers that could not be taken out (name -> why): they are not stopped."""
    refused, marked = {}, False
    for h in workers:
        try:
            marked |= bool(balancer.mark(h, down=True))
        except HostFault as e:
            refused[h.name] = f"not stopped: it could not be taken out of the balancer: {redact(str(e))}"
    if marked:
        time.sleep(inv.run.drain_seconds)
    return refused


def balancer_gate(balancer: Balancer, workers: list[Host], task: str, reporter: Reporter,
                  force: bool) -> tuple[bool, dict[str, str]]:
    """(the balancer can be marked, the workers refused because it cannot): an unreachable lb host is its
    own failed row; its workers are not touched (a worker cannot be taken out first), unless --force."""
    if not balancer.lbs or not workers:
        return True, {}
    errors = balancer.reach()
    if not errors:
        return True, {}
    for lb, why in errors.items():
        reporter.emit(StepResult(lb, task, Status.FAILED, message=f"the balancer is unreachable: {why}",
                                 fields={"error": "balancer-unreachable"}))
    if force:
        reporter.note(f"--force: the workers {task} without being taken out of the balancer first")
        return False, {}
    verb = {"stop": "stopped", "restart": "restarted"}.get(task, "marked")
    why = (f"not {verb}: the balancer ({', '.join(errors)}) is unreachable, so it cannot be taken out first; "
           f"--force does it anyway (requests in flight fail)")
    return False, {w.name: why for w in workers}


def stop(inv: Inventory, hosts: list[Host], session: Session, reporter: Reporter, force: bool = False) -> None:
    """Stop the running nodes: the workers first (in parallel, each out of the balancer first), then the
    manager. A stop that would leave the balancer with no serving worker is refused unless --force, or
    unless every node of hosts.toml stops (the cluster's own shutdown: said in a note)."""
    dry = session.mode is Mode.DRY_RUN
    balancer = Balancer(session)
    managers, workers = managers_then_workers(hosts)
    reachable, refused = balancer_gate(balancer, workers, "stop", reporter, force)
    if reachable and balancer.lbs and workers:
        mine, left = last_worker(workers, balancer)
        everything = {h.name for h in hosts} == {h.name for h in inv.esb_nodes}
        if mine and not left:
            if force or everything:
                reporter.note(("--force: " if force and not everything else "every node stops: ")
                              + f"{', '.join(mine)} {'is' if len(mine) == 1 else 'are'} the last serving "
                              f"worker{'s' if len(mine) > 1 else ''}; the balancer has no backend until "
                              f"fab start")
            else:
                why = (f"refused: {', '.join(mine)} {'is' if len(mine) == 1 else 'are'} the last serving worker"
                       f"{'s' if len(mine) > 1 else ''}: stopping {'it' if len(mine) == 1 else 'them'} leaves the "
                       f"balancer with no backend; start another worker first, or --force (stops "
                       f"{'it' if len(mine) == 1 else 'them'} anyway: the service is down until one starts)")
                refused = {n: why for n in mine}
        if not dry:
            refused.update(take_out(inv, [h for h in workers if h.name not in refused], balancer))

    def out_place(h: Host) -> str | None:  # a stopped worker is out of the balancer (marked down first)
        return balancer_place(h.role == "worker", bool(balancer.lbs) and reachable, False, out=True)

    def one(h: Host) -> Outcome:
        if h.name in refused:
            raise StepError(refused[h.name])
        srv = server(session, h)
        if dry:
            st = checked_state(srv)
            out = (f"would take it out of the balancer, wait {inv.run.drain_seconds} s, then "
                   if h.role == "worker" and balancer.lbs and reachable else "would ")
            return ("changed", f"{out}stop pid {st.pid} (TERM through bin/wso2server.sh --stop)",
                    node_fields("stop", True, False, st.pid, None, out_place(h))) if st.running \
                else ("ok", "not running", node_fields("none", False, False, None, None, out_place(h)))
        st = checked_state(srv)
        message = srv.stop(force)
        action = stop_action(message)
        return ("changed" if action != "none" else "ok"), message, \
            node_fields(action, st.running, False, st.pid, None, out_place(h))

    run_rows("stop", workers, one, session, reporter)
    run_rows("stop", managers, one, session, reporter, parallel=False)


def restart_one(srv: NodeServer, force: bool = False) -> str:
    """Stop, then start one node; its start record is not marked stopped in between: a node whose start
    fails is one that should run (status says so, with the fix)."""
    stopped = srv.stop(force, mark=False)
    return f"{stopped}; {srv.start()}"


def restart(inv: Inventory, hosts: list[Host], session: Session, reporter: Reporter, force: bool = False) -> None:
    """Stop, then start, node by node; a worker behind a balancer is taken out first (down, nginx -t, reload,
    [run].drain_seconds) and put back once up. Refused for the last serving worker unless --force."""
    dry = session.mode is Mode.DRY_RUN
    balancer = Balancer(session)
    managers, workers = managers_then_workers(hosts)
    reachable, refused = balancer_gate(balancer, workers, "restart", reporter, force)
    drained = balancer.drained() if balancer.lbs and workers and reachable else set()

    def one(h: Host) -> Outcome:
        if h.name in refused:
            raise StepError(refused[h.name])
        srv = server(session, h)
        st = checked_state(srv)
        behind = h.role == "worker" and bool(balancer.lbs) and reachable
        forced = ""
        if behind and st.running and h.name not in drained:
            mine, left = last_worker([h], balancer)
            if mine and not left:
                if not force:
                    raise StepError(f"refused: {h.name} is the last serving worker: restarting it leaves the "
                                    f"balancer with no backend meanwhile; start another worker first, or --force "
                                    f"(restarts it anyway: requests fail until it is back)")
                forced = "--force: the last serving worker; the balancer had no backend meanwhile; "
        place = balancer_place(h.role == "worker", behind, h.name in drained)
        action = "restart" if st.running else "start"
        if dry:
            out = (f"would take it out of the balancer, wait {inv.run.drain_seconds} s, " if behind else "would ")
            return "changed", out + (f"stop pid {st.pid}, then start it" if st.running else "start it") + \
                (", put it back" if behind else ""), node_fields(action, st.running, True, st.pid, None, place)
        if behind:
            if balancer.mark(h, down=True) and st.running:
                time.sleep(inv.run.drain_seconds)
        message = restart_one(srv, force) if st.running else srv.start()
        back = put_back(balancer, h, drained) if behind else ""
        return "changed", forced + message + back, node_fields(action, st.running, True, st.pid, srv.pid_in_file(),
                                                               place, forced=bool(forced))

    run_rows("restart", workers + managers, one, session, reporter, parallel=False)


# ---------------------------------------------------------------- drain

def drain(inv: Inventory, hosts: list[Host], session: Session, reporter: Reporter, undo: bool = False,
          force: bool = False) -> None:
    """Workers out of the balancer on purpose (`down` in every upstream of the lb hosts, nginx -t, reload, and
    a drain marker on each lb host: start and the reconciling commands leave a drained worker out), then
    [run].drain_seconds for requests in flight; `undo` removes the marker and puts them back. The first step
    of a decommission. Draining the last serving worker is refused unless --force."""
    balancer = Balancer(session)
    dry = session.mode is Mode.DRY_RUN
    if not balancer.lbs:
        raise StepError("no lb host in hosts.toml: there is no balancer to take a node out of")
    reachable, gated = balancer_gate(balancer, [h for h in hosts if h.role == "worker"], "drain", reporter, False)
    refused = next(iter(gated.values()), "")
    if not undo and reachable:
        mine, left = last_worker([h for h in hosts if h.role == "worker"], balancer)
        if mine and not left:
            if not force:
                refused = (f"refused: {', '.join(mine)} would leave the balancer with no serving worker; start "
                           f"another worker first, or --force (drains anyway: the service is down)")
            else:
                reporter.note(f"--force: {', '.join(mine)} drained: the balancer has no serving worker")

    def one(h: Host) -> Outcome:
        if h.role != "worker":
            return ("skipped", "not a worker: the balancer's worker upstreams do not list it",
                    {"skipped": "not-a-worker"})
        if refused and (not undo or not reachable):
            raise StepError(refused)
        action = "undrain" if undo else "drain"
        lbs = [lb.name for lb in balancer.lbs]
        if dry:
            return "changed", f"would mark it {'back' if undo else 'down'} in {', '.join(lbs)}", \
                {"action": action, "balancer": "in" if undo else "drained", "lbs": lbs}
        if not undo:
            balancer.set_drained(h, True)
        done = balancer.mark(h, down=not undo)
        if undo:
            balancer.set_drained(h, False)
        fields = {"action": action if done else "none", "balancer": "in" if undo else "drained", "lbs": done}
        if not done:
            return "ok", f"already {'in' if undo else 'out of'} the balancer", fields
        return "changed", f"{'back in' if undo else 'out of'} {', '.join(done)}", fields

    rows = run_rows("drain", hosts, one, session, reporter, parallel=False)
    if not undo and not dry and any(r.status == Status.CHANGED for r in rows):
        time.sleep(inv.run.drain_seconds)
