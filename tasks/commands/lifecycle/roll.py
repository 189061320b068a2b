"""rolling-restart (CONTRACT §10) under faults: one node at a time, workers through the balancer, the
manager alone, and never an outage.

Before anything stops, every node it will restart is checked (the same checks `start` makes: the
start script, java present and 1.7/1.8, the ports free or held by the node's own server, and
whatever else `start` refuses; reachable; a live peer to hold the service behind the balancer): one
failure and nothing is stopped, each failure named. An unreachable node or lb host is a row, never a
traceback. The workers that do not run go first (starting them adds a backend), then the running
ones, then the manager. Before a worker is taken out, the truth is read again: at least one other
worker must serve (run, and not be marked down); a dead worker never counts. A node that does not
come back stops the roll; the balancer is then reconciled from the truth (every running worker that
is not drained back in), and a node that died during the roll is reported. The balancer is
reconciled first as well: a rerun after a killed run puts back what that run left out.

After any failure the output ends with what recovers: what to fix, then the commands to run.
"""
from __future__ import annotations

import time

from ...config import Host, Inventory
from ...engine.context import StepError
from ...engine.mode import Mode
from ...engine.report import Reporter, Status, StepResult
from ...engine.runner import Session
from ...formats import carbonlog as logs
from ...probes.restart import not_running, restart_needed
from ...steps import STEPS
from ...probes.server import ServerState
from ...probes.startrecord import read_record
from ...remote import HostFault
from ...secrets import SecretMissing, redact
from .balancer import Balancer, node_states
from .commands import managers_then_workers, restart_one, server
from .server import POLL
from .status import expected_members
from .rowfields import balancer_place, node_fields

TASK = "rolling-restart"


class Recovery:
    """What the operator fixes, then the commands that bring the cluster back (the output's last lines)."""

    def __init__(self, command: str):
        self.command = command if command.startswith("fab ") else "fab rolling-restart"
        self.fixes: list[str] = []
        self.starts: list[str] = []
        self.rerun = False

    def footer(self) -> list[str]:
        """The lines, in order: the fixes, then the commands (none when nothing failed)."""
        if not (self.fixes or self.starts or self.rerun):
            return []
        lines = ["to recover" + (", first fix:" if self.fixes else ", run in this order:")]
        lines += [f"  - {f}" for f in dict.fromkeys(self.fixes)]
        if self.fixes:
            lines.append("then run, in this order:")
        lines += [f"  fab -H {n} start" for n in dict.fromkeys(self.starts)]
        if self.rerun:
            lines.append(f"  {self.command.replace(' --dry-run', '')}")
        return lines


def should_run(session: Session, h: Host, st: ServerState) -> bool:
    """The node is not running, and fab started it and did not stop it (health's desired state)."""
    try:
        return not_running(st, read_record(session.remote(h), h)) is not None
    except HostFault:
        return False


def wait_members(session: Session, srv, inv: Inventory, running: set[str], deadline: float) -> set[str]:
    """Until the node sees every other running ESB node (its log since its start), or the deadline.
    A member that dies meanwhile is no longer waited for: the members found dead are returned."""
    want = expected_members(inv, srv.host, running)
    gone: set[str] = set()
    missing = set(want)
    looked = time.monotonic()
    while time.monotonic() < deadline:
        missing = set(want) - logs.members(srv.log_tail())
        if not missing:
            return gone
        if time.monotonic() - looked > 2:
            looked = time.monotonic()
            peers = [inv.hosts[want[m]] for m in missing]
            states, _ = node_states(session, peers)
            for m in list(missing):
                if want[m] in states and not states[want[m]].running:
                    gone.add(want.pop(m))
            continue
        time.sleep(POLL)
    raise StepError(f"up, but does not see {', '.join(want[m] for m in sorted(missing))} within "
                    f"[run].start_timeout")


def select(inv: Inventory, hosts: list[Host], session: Session, reporter: Reporter, states: dict[str, ServerState],
           errors: dict[str, str], needed: bool, rec: Recovery) -> list[Host]:
    """The nodes to restart (`needed`: those whose files changed since they started, and those that should
    run and do not); an unreachable node is a failed row (with --needed: it may need one, nobody can tell)."""
    for h in hosts:
        if h.name in errors:
            why = "cannot tell whether it needs a restart" if needed else "not restarted"
            reporter.emit(StepResult(h.name, TASK, Status.FAILED, message=f"unreachable: {errors[h.name]}; {why}",
                                     fields={"error": "unreachable", "action": "none"}))
            rec.fixes.append(f"{h.name}: make it reachable over SSH (the message above says why it is not)")
            rec.rerun = True
    readable = [h for h in hosts if h.name not in errors]
    if not needed:
        return readable
    stale = restart_needed(session, readable, STEPS)
    return [h for h in readable if h.name in stale or should_run(session, h, states[h.name])]


def peer_state(name: str, states: dict[str, ServerState]) -> str:
    """Why another worker does not serve, in words."""
    if name not in states:
        return "is unreachable"
    return "runs but is marked down" if states[name].running else "does not run"


def prechecks(inv: Inventory, order: list[Host], session: Session, balancer: Balancer,
              states: dict[str, ServerState], drained: set[str]) -> dict[str, list[str]]:
    """Why each node could not be restarted now (name -> sentences); {} when every one can."""
    problems: dict[str, list[str]] = {}
    for h in order:
        st = states[h.name]
        try:
            srv = server(session, h)
            srv.refuse_foreign(st)
            found = srv.start_problems(ports=not st.running)
        except (HostFault, SecretMissing) as e:
            found = [redact(str(e))]
        if found:
            problems[h.name] = found
    if balancer.lbs:
        serving = set(balancer.serving(states))
        for h in order:
            if h.role != "worker":
                continue
            if h.name in serving and not serving - {h.name}:
                others = [w.name for w in inv.by_role("worker") if w.name != h.name]
                why = "; ".join(f"{n} {peer_state(n, states)}" for n in others) or "there is no other worker"
                problems.setdefault(h.name, []).append(
                    f"no other worker serves ({why}): taking it out would leave the balancer with no backend; "
                    f"start another worker first")
            if h.name not in problems and h.name not in drained:
                serving.add(h.name)  # back in after its turn: it holds the service for the next one
    return problems


def rolling_restart(inv: Inventory, hosts: list[Host], session: Session, reporter: Reporter,
                    needed: bool = False) -> bool:
    """One node at a time, workers through the balancer, then the manager, after every node passed the checks;
    stops at the first that does not come back. True when every node it took came back."""
    dry = session.mode is Mode.DRY_RUN
    rec = Recovery(session.command)
    balancer = Balancer(session)
    states, errors = node_states(session, inv.esb_nodes)
    lb_errors = balancer.reach()
    for lb, why in lb_errors.items():
        reporter.emit(StepResult(lb, TASK, Status.FAILED, message=f"the balancer is unreachable: {why}; no node "
                                                                   f"was taken out or restarted",
                                 fields={"error": "balancer-unreachable", "action": "none"}))
        rec.fixes.append(f"{lb}: make the balancer reachable over SSH")
        rec.rerun = True
    try:
        if not dry and not lb_errors:
            back = balancer.reconcile(states)
            if back:
                reporter.note(f"back in the balancer (they run and are not drained; an earlier run left them out): "
                              f"{', '.join(back)}")
        chosen = select(inv, hosts, session, reporter, states, errors, needed, rec)
        if needed and not chosen and not rec.rerun:
            reporter.note("no node needs a restart: every running server runs with the files it started with")
            return True
        managers, workers = managers_then_workers(chosen)
        order = [w for w in workers if not states[w.name].running] + \
            [w for w in workers if states[w.name].running] + managers
        if lb_errors:
            for h in order:
                reporter.emit(StepResult(h.name, TASK, Status.SKIPPED, message="not restarted: the balancer is "
                                                                               "unreachable",
                                         fields={"skipped": "balancer-unreachable", "action": "none"}))
            return False
        problems = prechecks(inv, order, session, balancer, states, balancer.drained() if balancer.lbs else set())
        if problems:
            for h in order:
                if h.name in problems:
                    reporter.emit(StepResult(h.name, TASK, Status.FAILED, message="not restarted: "
                                             + "; ".join(problems[h.name]) + "; nothing was stopped",
                                             fields={"error": "precheck", "action": "none",
                                                     "problems": problems[h.name]}))
                    rec.fixes += [f"{h.name}: {p}" for p in problems[h.name]]
                else:
                    reporter.emit(StepResult(h.name, TASK, Status.SKIPPED, message="not restarted: the checks "
                                             f"before the roll failed on {', '.join(problems)}; nothing was stopped",
                                             fields={"skipped": "precheck-failed", "action": "none",
                                                     "failed_on": list(problems)}))
            rec.rerun = True
            return False
        if dry:
            plan_rows(inv, order, balancer, states, reporter)
            return not rec.rerun
        ok = roll(inv, order, session, reporter, balancer, states, rec)
        return ok and not rec.rerun
    finally:
        reporter.footer += rec.footer()


def plan_rows(inv: Inventory, order: list[Host], balancer: Balancer, states: dict[str, ServerState],
              reporter: Reporter) -> None:
    """The dry-run: what each node's turn would do, in order."""
    lbs = [lb.name for lb in balancer.lbs]
    for h in order:
        behind = lbs if h.role == "worker" else []
        running = states[h.name].running
        plan = (f"would take it out of {', '.join(behind)} (down, nginx -t, reload)"
                + (f", wait {inv.run.drain_seconds} s, " if running else ", ") if behind else "would ") + \
            ("restart it" if running else "start it") + ", wait until it is up and sees the other running members" + \
            (", put it back" if behind else "")
        reporter.emit(StepResult(h.name, TASK, Status.CHANGED, message=plan, fields=node_fields(
            "restart" if running else "start", running, True, states[h.name].pid, None,
            balancer_place(h.role == "worker", bool(lbs), False), lbs=behind)))


def roll(inv: Inventory, order: list[Host], session: Session, reporter: Reporter, balancer: Balancer,
         states: dict[str, ServerState], rec: Recovery) -> bool:
    """The turns, in order; then the truth: the balancer reconciled, a node that died meanwhile reported."""
    running = {n for n, st in states.items() if st.running}
    drained = balancer.drained() if balancer.lbs else set()
    took = set(running)
    stopped_at = None
    for h in order:
        if stopped_at:
            reporter.emit(StepResult(h.name, TASK, Status.SKIPPED,
                                     message=f"not run: the rolling restart stopped at {stopped_at}",
                                     fields={"skipped": "stopped-at", "stopped_at": stopped_at, "action": "none"}))
            continue
        srv = server(session, h)
        was_running = h.name in running
        behind = h.role == "worker" and bool(balancer.lbs)
        out_of: list[str] = []
        try:
            if behind and was_running and h.name not in drained:
                now, _ = node_states(session, [w for w in inv.by_role("worker") if w.name != h.name])
                if not balancer.serving(now, but=h.name):
                    raise Refused("not taken out: no other worker serves now (a dead worker does not): taking it "
                                  "out would leave the balancer with no backend; nothing was stopped")
            if behind:
                marked = balancer.mark(h, down=True)  # [] when it was out already (a killed run left it so)
                out_of = [lb.name for lb in balancer.lbs]
                if was_running and marked:
                    time.sleep(inv.run.drain_seconds)
            message = restart_one(srv) if was_running else srv.start()
            running.add(h.name)
            took.add(h.name)
            gone = wait_members(session, srv, inv, running, time.monotonic() + inv.run.start_timeout)
            running -= gone
            back = ""
            if behind and h.name not in drained:  # back in from the truth: it runs, and it is wanted in
                balancer.mark(h, down=False)
                back = f"; back in {', '.join(out_of)}"
            reporter.emit(StepResult(h.name, TASK, Status.CHANGED, message=message + back
                                     + ("; stays out: drained (fab drain)" if h.name in drained else ""),
                                     fields=node_fields("restart" if was_running else "start", was_running, True,
                                                        states[h.name].pid, srv.pid_in_file(),
                                                        balancer_place(behind, behind, h.name in drained),
                                                        members_lost=sorted(gone))))
        except (HostFault, SecretMissing) as e:
            stopped_at = h.name
            after, _ = node_states(session, [h])
            alive = h.name in after and after[h.name].running
            where = ""
            if isinstance(e, Refused):
                text = str(e)
                rec.fixes.append(f"{h.name}: no other worker serves now; start one first (fab -H <worker> start)")
            else:
                text = f"{h.name} did not come back: {e}"
                if alive:
                    where = "; it runs: it goes back in the balancer" if behind and h.name not in drained else ""
                elif out_of:
                    where = f"; it stays out of the balancer ({', '.join(out_of)}), the other nodes serve"
                if not alive:
                    rec.fixes.append(f"{h.name}: see why it did not come back (the message above)")
                    rec.starts.append(h.name)
            left_out = bool(out_of) and not alive
            reporter.emit(StepResult(h.name, TASK, Status.FAILED, message=redact(text + where), fields=node_fields(
                "none" if isinstance(e, Refused) else "restart" if was_running else "start", was_running, alive,
                states[h.name].pid, after[h.name].pid if alive else None,
                balancer_place(behind, behind, h.name in drained, out=left_out),
                error="no-other-worker-serves" if isinstance(e, Refused) else "did-not-come-back")))
            rec.rerun = True
    aftermath(inv, session, reporter, balancer, took, stopped_at, rec)
    return stopped_at is None


class Refused(StepError):
    """A turn that would leave the balancer with no backend: nothing of that node was touched."""


def aftermath(inv: Inventory, session: Session, reporter: Reporter, balancer: Balancer, took: set[str],
              failed: str | None, rec: Recovery) -> None:
    """The truth after the roll: every running worker that is not drained back in the balancer; each node that
    ran (or was started) and does not run now is a failed row, with its fix."""
    states, errors = node_states(session, inv.esb_nodes)
    try:
        back = balancer.reconcile(states)
        if back:
            reporter.note(f"back in the balancer (they run): {', '.join(back)}")
    except HostFault as e:
        reporter.note(f"the balancer could not be reconciled: {redact(str(e))}")
    for h in inv.esb_nodes:
        if h.name in took and h.name != failed and h.name in states and not states[h.name].running:
            reporter.emit(StepResult(h.name, f"{TASK} (after)", Status.FAILED,
                                     message="not running at the end of the rolling restart: it died during it",
                                     fields={"error": "died", "state_after": "stopped"}))
            rec.fixes.append(f"{h.name}: see why it died (its repository/logs/wso2carbon.log)")
            rec.starts.append(h.name)
            rec.rerun = True
