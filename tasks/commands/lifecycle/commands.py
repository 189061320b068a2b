"""The lifecycle tasks (CONTRACT §10): start, stop, restart, status,
rolling-restart, over the run's session.

Each node's result is a row like a step's (host, task, status, message, items, warnings), so text,
JSON and exit codes are the reporter's. `start` takes the manager first, then the workers (in
parallel); `stop` the workers first; `restart` and `rolling-restart` go node by node. `status` is
read-only (exit 2 on drift): a running node that does not see every other running ESB node is drift,
and so is a node that should run and does not (started by fab and not stopped by it, or a stale pid
file: fix `fab -H <node> start`) and a password-tmp left behind; a running node whose managed files
hold other bytes than it started with (or that fab has no start record of) gets a `restart needed`
warning.
`rolling-restart` takes each worker out of the balancer (`down` in every upstream of the lb hosts,
`nginx -t`, reload), waits [run].drain_seconds, restarts it, waits until it is up and sees the other
running members, puts it back; the manager restarts alone. A node that does not come back stops it
there: that node stays out of the balancer, the others serve, exit 1.
"""
from __future__ import annotations

import posixpath
import time
from typing import Callable

from ...config import Host, Inventory
from ...engine.mode import Mode
from ...remote import RemoteError
from ...engine.report import Reporter, Status, StepResult
from ...engine.plan import Item
from ...engine.runner import Session, in_parallel
from ...secrets import SecretMissing, redact, safe_error
from ...engine.context import StepError
from ...steps.loadbalancer import FILES as LB_FILES, nginx_command, nginx_message
from ...formats import carbonlog as logs
from ...probes.restart import UNKNOWN, health_items, needs_restart, stale_files
from ...probes.startrecord import read_record
from .server import NodeServer, ServerState
from .startcheck import drift_refusal
from .upstreams import set_down

Outcome = tuple[Status | str, str]  # (status, message)


def server(session: Session, host: Host) -> NodeServer:
    return NodeServer(host, session.inv, session.remote(host), session.secrets)


def run_rows(task: str, hosts: list[Host], fn: Callable[[Host], Outcome], session: Session, reporter: Reporter,
             parallel: bool = True) -> list[StepResult]:
    """fn on each host (a row each, reported as it ends); a failure is that host's row, never the others'."""
    def one(h: Host) -> StepResult:
        try:
            status, message = fn(h)
            r = StepResult(h.name, task, Status(status), message=message)
        except (StepError, RemoteError, SecretMissing) as e:
            r = StepResult(h.name, task, Status.FAILED, message=redact(str(e)))
        except Exception as e:  # a bug must not hide the other hosts' rows
            r = StepResult(h.name, task, Status.FAILED, message=safe_error(e))
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

def start(inv: Inventory, hosts: list[Host], session: Session, reporter: Reporter, force: bool = False) -> None:
    """Start the stopped nodes: the manager first, then the workers (in parallel). A node whose node
    steps show drift is refused (startcheck.py), unless `force`."""
    dry = session.mode is Mode.DRY_RUN

    def one(h: Host) -> Outcome:
        srv = server(session, h)
        st = checked_state(srv)
        if st.running:
            return "ok", f"running (pid {st.pid})"
        refusal = None if force else drift_refusal(session, h)
        if refusal:
            raise StepError(("would not start: " if dry else "not started: ") + refusal)
        if dry:
            problems = srv.start_problems()
            if problems:
                raise StepError("would not start: " + "; ".join(problems))
            return "changed", (f"would start it: JAVA_HOME={h.java_home} {srv.path('bin/wso2server.sh')} --start"
                               + ("; KEYSTORE_PASSWORD through password-tmp" if inv.security.vault else ""))
        return "changed", srv.start() + (f"; {st.notes[0]}" if st.notes else "")

    managers, workers = managers_then_workers(hosts)
    run_rows("start", managers, one, session, reporter, parallel=False)
    run_rows("start", workers, one, session, reporter)


def stop(inv: Inventory, hosts: list[Host], session: Session, reporter: Reporter, force: bool = False) -> None:
    """Stop the running nodes: the workers first (in parallel), then the manager."""
    dry = session.mode is Mode.DRY_RUN

    def one(h: Host) -> Outcome:
        srv = server(session, h)
        if dry:
            st = checked_state(srv)
            return ("changed", f"would stop pid {st.pid} (TERM through bin/wso2server.sh --stop)") if st.running \
                else ("ok", "not running")
        message = srv.stop(force)
        return ("changed" if message.startswith(("stopped", "killed")) else "ok"), message

    managers, workers = managers_then_workers(hosts)
    run_rows("stop", workers, one, session, reporter)
    run_rows("stop", managers, one, session, reporter, parallel=False)


def restart_one(srv: NodeServer, force: bool = False) -> str:
    """Stop, then start one node; its start record is not marked stopped in between: a node whose start
    fails is one that should run (status says so, with the fix)."""
    stopped = srv.stop(force, mark=False)
    return f"{stopped}; {srv.start()}"


def restart(inv: Inventory, hosts: list[Host], session: Session, reporter: Reporter, force: bool = False) -> None:
    """Stop, then start, node by node (no balancer handling: rolling-restart is the one that drops no request)."""
    dry = session.mode is Mode.DRY_RUN

    def one(h: Host) -> Outcome:
        srv = server(session, h)
        if dry:
            st = checked_state(srv)
            return "changed", ("would stop pid %s, then start it" % st.pid) if st.running else "would start it"
        return "changed", restart_one(srv, force)

    managers, workers = managers_then_workers(hosts)
    run_rows("restart", workers + managers, one, session, reporter, parallel=False)


# ---------------------------------------------------------------- status

def node_status(inv: Inventory, hosts: list[Host], session: Session) -> dict[str, tuple[NodeServer, ServerState]]:
    """Every node's server and state (in parallel); a host that cannot be read is left out (its row says so)."""
    def one(h: Host):
        srv = server(session, h)
        return h.name, (srv, srv.state())
    return dict(in_parallel(hosts, one, inv.run.parallel))


def expected_members(inv: Inventory, host: Host, running: set[str]) -> dict[tuple[str, int | None], str]:
    """(member_host, member_port) -> name of every other running ESB node: what a running node must see."""
    return {(h.member_host, h.member_port): h.name for h in inv.esb_nodes if h.name != host.name and h.name in running}


def status_of(inv: Inventory, h: Host, srv: NodeServer, st: ServerState, running: set[str]) -> StepResult:
    """One node's status row: running or stopped, pid and since when, ports, members seen against
    the inventory (drift), restart needed (a warning)."""
    srv.refuse_foreign(st)
    record = read_record(srv.remote, h)
    health = health_items(srv.remote, h, inv, st, record)
    if not st.running:
        if health:
            return StepResult(h.name, "status", Status.DRIFT, health,
                              message="; ".join(f"{i.what}: {i.actual}; fix: {i.fix}" for i in health))
        return StepResult(h.name, "status", Status.OK, message="stopped"
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
    changed = stale_files(srv.remote, h, inv, st, record)
    if changed == [UNKNOWN]:
        warnings.append(Item("restart needed", UNKNOWN, "a start record of its files",
                             "none for this pid; fab rolling-restart --needed restarts it"))
    elif changed:
        warnings.append(Item("restart needed", ", ".join(changed), "as the running server started with them",
                             f"changed since it started ({since}); fab rolling-restart --needed"))
    names = sorted(want[k] for k in want if k in seen)
    message = (f"running, pid {st.pid} since {since}; ports {', '.join(str(p) for p in ports)}; sees "
               f"{', '.join(names) or 'no other member'}")
    return StepResult(h.name, "status", Status.DRIFT if items else Status.OK, items, message=message, warnings=warnings)


def status(inv: Inventory, hosts: list[Host], session: Session, reporter: Reporter) -> None:
    """Read-only: every node's server against the inventory (exit 2 on drift)."""
    states = {}
    errors = {}

    def gather(h: Host):
        try:
            srv = server(session, h)
            states[h.name] = (srv, srv.state())
        except (RemoteError, StepError) as e:
            errors[h.name] = redact(str(e))
    in_parallel(inv.esb_nodes, gather, inv.run.parallel)  # membership needs every node's state
    running = {n for n, (_, st) in states.items() if st.running}

    def one(h: Host) -> StepResult:
        if h.name in errors:
            r = StepResult(h.name, "status", Status.FAILED, message=errors[h.name])
        else:
            try:
                r = status_of(inv, h, *states[h.name], running)
            except (RemoteError, StepError) as e:
                r = StepResult(h.name, "status", Status.FAILED, message=redact(str(e)))
        reporter.emit(r)
        return r
    in_parallel(hosts, one, inv.run.parallel)


# ---------------------------------------------------------------- rolling restart

class Balancer:
    """The lb hosts' upstreams: a worker out (`down`) and back in; `nginx -t` before each
    reload, the files as they were when it refuses. Never backed up: a rolling restart's marks
    are its own and it takes them back."""

    def __init__(self, inv: Inventory, session: Session):
        self.inv, self.session = inv, session
        self.lbs = inv.by_role("lb")

    @staticmethod
    def servers(h: Host) -> set[str]:
        addr = f"[{h.member_host}]" if ":" in h.member_host else h.member_host
        from ...rules import PT_HTTP_PORT, PT_HTTPS_PORT
        return {f"{addr}:{p + h.port_offset}" for p in (PT_HTTP_PORT, PT_HTTPS_PORT)}

    def mark(self, worker: Host, down: bool) -> list[str]:
        """Every lb host's upstream files with the worker's servers marked down (or not); nginx
        tested and reloaded. The lb hosts changed."""
        done = []
        for lb in self.lbs:
            r = self.session.remote(lb)
            olds = {}
            for name in LB_FILES:
                path = posixpath.join(self.inv.lb.conf_dir, name)
                old = r.read(path, cache=False)
                if old is None:
                    continue
                new = set_down(old, self.servers(worker), down)
                if new != old:
                    olds[path] = old
                    r.write(path, new, backup=False)
            if not olds:
                continue
            code, out, err = r.run(nginx_command(self.inv, "-t"), sudo=True, check=False)
            if code != 0:
                for path, old in olds.items():
                    r.write(path, old, backup=False)
                raise StepError(f"nginx -t on {lb.name} refused the upstreams with {worker.name} "
                                f"{'down' if down else 'back'}: {nginx_message(err or out)}")
            r.run(nginx_command(self.inv, "-s", "reload"), sudo=True, check=False)
            done.append(lb.name)
        return done


def wait_members(srv: NodeServer, inv: Inventory, running: set[str], deadline: float) -> None:
    """Until the node sees every other running ESB node (its log since its start), or the deadline."""
    want = expected_members(inv, srv.host, running)
    missing = set(want)
    while time.monotonic() < deadline:
        missing = set(want) - logs.members(srv.log_tail())
        if not missing:
            return
        time.sleep(0.4)
    raise StepError(f"up, but does not see {', '.join(want[m] for m in sorted(missing))} within "
                    f"[run].start_timeout")


def rolling_restart(inv: Inventory, hosts: list[Host], session: Session, reporter: Reporter,
                    needed: bool = False) -> bool:
    """One node at a time, workers through the balancer, then the manager; stops at the
    first that does not come back (it stays out of the balancer; exit 1). True when
    every node it took came back."""
    if needed:
        hosts = needs_restart(inv, hosts, session)
        if not hosts:
            reporter.note("no node needs a restart: every running server runs with the files it started with")
            return True
    managers, workers = managers_then_workers(hosts)
    order = workers + managers
    balancer = Balancer(inv, session)
    dry = session.mode is Mode.DRY_RUN
    states = {n: st for n, (_, st) in node_status(inv, inv.esb_nodes, session).items()}
    running = {n for n, st in states.items() if st.running}
    stopped_at = None
    for h in order:
        if stopped_at:
            reporter.emit(StepResult(h.name, "rolling-restart", Status.SKIPPED,
                                     message=f"not run: the rolling restart stopped at {stopped_at}"))
            continue
        srv = server(session, h)
        lbs = [lb.name for lb in balancer.lbs] if h.role == "worker" else []
        if dry:
            plan = (f"would take it out of {', '.join(lbs)} (down, nginx -t, reload), wait {inv.run.drain_seconds} s, "
                    if lbs else "would ") + ("restart it" if h.name in running else "start it") + \
                ", wait until it is up and sees the other running members" + (", put it back" if lbs else "")
            reporter.emit(StepResult(h.name, "rolling-restart", Status.CHANGED, message=plan))
            continue
        out_of = []
        try:
            if lbs:
                out_of = balancer.mark(h, down=True)
                time.sleep(inv.run.drain_seconds)
            message = restart_one(srv) if h.name in running else srv.start()
            running.add(h.name)
            wait_members(srv, inv, running, time.monotonic() + inv.run.start_timeout)
            if out_of:
                balancer.mark(h, down=False)
            reporter.emit(StepResult(h.name, "rolling-restart", Status.CHANGED,
                                     message=message + (f"; back in {', '.join(out_of)}" if out_of else "")))
        except (StepError, RemoteError, SecretMissing) as e:
            stopped_at = h.name
            where = (f"; it stays out of the balancer ({', '.join(out_of)}), the other nodes serve" if out_of
                     else "")
            reporter.emit(StepResult(h.name, "rolling-restart", Status.FAILED,
                                     message=redact(f"{h.name} did not come back: {e}{where}")))
    return stopped_at is None


def drain(inv: Inventory, hosts: list[Host], session: Session, reporter: Reporter, undo: bool = False) -> None:
    """Workers out of the balancer (`down` in every upstream of the lb hosts, nginx -t,
    reload), then [run].drain_seconds for requests in flight; `undo` puts them back. The
    first step of a decommission."""
    balancer = Balancer(inv, session)
    dry = session.mode is Mode.DRY_RUN
    if not balancer.lbs:
        raise StepError("no lb host in hosts.toml: there is no balancer to take a node out of")

    def one(h: Host) -> Outcome:
        if h.role != "worker":
            return "skipped", "not a worker: the balancer's worker upstreams do not list it"
        if dry:
            lbs = ", ".join(lb.name for lb in balancer.lbs)
            return "changed", f"would mark it {'back' if undo else 'down'} in {lbs}"
        done = balancer.mark(h, down=not undo)
        if not done:
            return "ok", f"already {'in' if undo else 'out of'} the balancer"
        return "changed", f"{'back in' if undo else 'out of'} {', '.join(done)}"

    rows = run_rows("drain", hosts, one, session, reporter, parallel=False)
    if not undo and not dry and any(r.status == Status.CHANGED for r in rows):
        time.sleep(inv.run.drain_seconds)
