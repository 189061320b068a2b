"""Rollouts: setup-manager, setup-worker and setup-cluster, built from the steps of STEPS by name.

A phase is a list of hosts, each with its own step sequence (the phase's steps
that target that host by default, e.g. set-proxyports on the manager only).
Hosts of a phase run in parallel (runner.run_hosts); a host whose step fails
stops there while the others finish.  setup-cluster runs its phases in the
guide's order and, in patch mode, stops after the first phase with a failure,
recording where in .esb-state/setup-cluster.json; `--resume` continues there.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from ..config import ConfigError, Host, Inventory
from ..engine.context import Nodes
from ..engine.mode import Mode
from ..engine.report import Reporter, Status, StepResult
from ..engine.runner import Session, preflight, run_hosts
from ..engine.runstate import inventory_digest, load_state, save_state, state_path
from ..steps import STEPS
from ..engine.step import PHASES, Step, find_steps, host_work
from ..engine.targets import resolve
from ..probes.restart import restart_hint, restart_needed


def steps_of(phase: str) -> tuple[str, ...]:
    """The names of the steps of STEPS that declare this phase, in guide order."""
    return tuple(s.name for s in STEPS if s.phase == phase)


#: the node steps in the guide's order (each runs where its default targets
#: say: set-proxyports on the manager)
NODE_STEPS = steps_of("nodes")

#: setup-cluster: (phase, steps, role the phase is limited to); derived from each step's declared
#: phase, the "nodes" phase run twice: the manager first, then the workers in parallel
CLUSTER_PHASES: tuple[tuple[str, tuple[str, ...], str | None], ...] = tuple(
    (name, steps_of(phase), role) for p in PHASES
    for name, phase, role in ([("manager", p, "manager"), ("workers", p, "worker")] if p == "nodes"
                              else [(p, p, None)]))
TASK = "setup-cluster"


def report_missing(missing: list[str], reporter: Reporter) -> None:
    """Steps the rollout names that this build does not have: said, never silently skipped."""
    if missing:
        known = reporter.extra.setdefault("missing_steps", [])
        known += [m for m in missing if m not in known]
        reporter.note(f"note: not in this build, not run: {', '.join(missing)}")


def check_roles(hosts: list[Host], role: str, task: str) -> None:
    """setup-manager only on managers, setup-worker only on workers."""
    wrong = [h for h in hosts if h.role != role]
    if wrong:
        other = {"manager": "setup-manager", "worker": "setup-worker"}
        hint = "; ".join(f"{h.name} is a {h.role}" + (f" (use {other[h.role]})" if h.role in other else "")
                         for h in wrong)
        raise ConfigError(f"{task} runs on {role} nodes only: {hint}")


def setup_node(role: str, task: str, hosts: list[Host], session: Session, reporter: Reporter) -> list[StepResult]:
    """The node steps in guide order on each target (all targets in parallel)."""
    check_roles(hosts, role, task)
    steps, missing = find_steps(STEPS, NODE_STEPS)
    report_missing(missing, reporter)
    work = host_work(hosts, steps, session.inv)
    preflight(work, session)
    results = run_hosts(work, session, reporter)
    if session.mode is Mode.PATCH:
        reporter.footer += next_after_patch(session, hosts)
    return results


@dataclass
class Phase:
    """One phase of setup-cluster: its steps (those in this build), the missing ones, its hosts."""

    name: str
    steps: list[Step]
    missing: list[str]
    hosts: list[Host]

    def work(self, inv: Inventory, from_step: str | None = None) -> list[tuple[Host, list[Step]]]:
        """The phase's hosts and steps, starting at from_step (a name of this phase) when given."""
        steps = self.steps
        if from_step in [s.name for s in steps]:
            steps = steps[[s.name for s in steps].index(from_step):]
        return host_work(self.hosts, steps, inv)


def cluster_phases(inv: Inventory, targets: list[Host]) -> list[Phase]:
    """setup-cluster's phases limited to the targets."""
    phases = []
    for name, names, role in CLUSTER_PHASES:
        steps, missing = find_steps(STEPS, names)
        hosts = [h for h in targets if role is None or h.role == role]
        phases.append(Phase(name, steps, missing, hosts))
    return phases


def resume_point(state: dict | None, phases: list[Phase], inv: Inventory,
                 reporter: Reporter) -> tuple[int, str | None] | None:
    """(phase index, step) to resume from; None when the last run completed (nothing to do)."""
    if state is None or state.get("status") not in ("stopped", "completed"):
        reporter.note("no stopped setup-cluster recorded; starting from the beginning")
        return 0, None
    if state["status"] == "completed":
        reporter.note(f"nothing to resume: the last setup-cluster (run {state.get('run_id')}) completed; "
                      f"run it without --resume to check every step again")
        return None
    names = [p.name for p in phases]
    if state.get("phase") not in names:
        reporter.note(f"recorded phase {state.get('phase')!r} is unknown; starting from the beginning")
        return 0, None
    step = state.get("step")
    if state.get("inventory_sha256") != inventory_digest(inv):
        reporter.note(f"{inv.path} changed since run {state.get('run_id')}; resuming at the start of its phase")
        step = None
    reporter.note(f"resuming run {state.get('run_id')} at phase {state['phase']}"
                  + (f", step {step}" if step else ""))
    return names.index(state["phase"]), step


def setup_cluster(inv: Inventory, spec: str | None, resume: bool, session: Session,
                  reporter: Reporter) -> None:
    """The whole guide: certificates, databases, SVN, the manager, then the workers in parallel."""
    path = state_path(inv, TASK)
    state = load_state(path) if resume else None
    if resume and spec is None and state and state.get("status") == "stopped":
        spec = state.get("targets")
    phases = cluster_phases(inv, resolve(inv, spec, list(inv.hosts.values())))
    start = resume_point(state, phases, inv, reporter) if resume else (0, None)
    if start is None:
        return
    preflight([w for index, phase in enumerate(phases[start[0]:], start[0])
               for w in phase.work(inv, start[1] if index == start[0] else None)], session)
    patch = session.mode is Mode.PATCH
    for index, phase in enumerate(phases[start[0]:], start[0]):
        report_missing(phase.missing, reporter)
        work = phase.work(inv, start[1] if index == start[0] else None)
        if not work:
            reporter.note(f"== {phase.name}: no targets, skipped")
            continue
        reporter.note(f"== {phase.name}: {', '.join(h.name for h, _ in work)}")
        failed = [r for r in run_hosts(work, session, reporter) if r.status == Status.FAILED]
        if failed and patch:
            stopped = stop_record(inv, spec, session, phase, failed)
            save_state(path, stopped)
            reporter.extra["stopped"] = stopped
            later = [p.name for p in phases[index + 1:]]
            reporter.footer += [
                f"setup-cluster stopped at phase {phase.name}, step {stopped['step']} "
                f"(failed on {', '.join(stopped['failed_hosts'])})"
                + (f"; not run: {', '.join(later)}" if later else ""),
                f"fix the cause, then continue with: fab setup-cluster --resume   (state: {path})"]
            return
    if patch:
        save_state(path, {"task": TASK, "status": "completed", "run_id": session.run_id, "time": _now(),
                          "targets": spec, "inventory_sha256": inventory_digest(inv)})
        reporter.footer += next_after_patch(session, [h for p in phases for h, _ in p.work(inv, None)])


def next_after_patch(nodes: Nodes, hosts: list[Host]) -> list[str]:
    """What to run next when running servers still read the files this run changed (`nodes`: the run's)."""
    return restart_hint(restart_needed(nodes, list(dict.fromkeys(hosts)), STEPS))


def stop_record(inv: Inventory, spec: str | None, session: Session, phase: Phase,
                failed: list[StepResult]) -> dict:
    """What the state file says about a stopped run: the phase, its first failed step and the hosts."""
    order = [s.name for s in phase.steps]
    first = min(failed, key=lambda r: order.index(r.step) if r.step in order else 0)
    return {"task": TASK, "status": "stopped", "run_id": session.run_id, "time": _now(), "targets": spec,
            "inventory_sha256": inventory_digest(inv), "phase": phase.name, "step": first.step,
            "failed_hosts": sorted({r.host for r in failed}),
            "failures": {r.host: f"{r.step}: {r.message}" for r in failed}}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
