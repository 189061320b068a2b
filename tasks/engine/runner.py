"""Run steps over hosts: one Session (connection + SFTP per host) per
fab run, hosts in a bounded pool.

A host that fails or cannot be reached gets a `failed` result; the others go on.
"""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from typing import Callable, Sequence

from ..config import ConfigError, Host, Inventory, confined_areas
from .plan import Plan
from .mode import Mode
from ..remote.readcache import ReadCache
from ..remote import HostFault, runkey
from ..remote import RemoteError, RemoteHost, RunLocks, Unreachable
from . import stats
from .report import Reporter, Status, StepResult
from ..secrets import SecretMissing, Secrets, redact, safe_error
from .context import StepContext, StepError
from .runnable import Runnable as Step
from ..formats.xmldoc import XmlError

MODES = tuple(m.value for m in (Mode.PATCH, Mode.VERIFY, Mode.DRY_RUN))


def new_run_id() -> str:
    """A run id that sorts by start time (UTC, microseconds), then pid: backups are ordered by it."""
    now = time.time()
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}-{os.getpid()}"


class Session:
    """Every RemoteHost of one fab run; connections are opened lazily and reused by every step."""

    def __init__(self, inv: Inventory, secrets: Secrets, mode: Mode | str, run_id: str | None = None,
                 command: str = "", upcoming: Sequence[Step] | None = None):
        self.inv = inv
        self.secrets = secrets
        self.mode = Mode(mode)
        self.run_id = run_id or new_run_id()
        self.command = command  # the command line this run is (recorded in every manifest it writes)
        self.upcoming = list(upcoming or [])  # every step the command line names: read ahead together
        self.failed: dict[str, str] = {}  # host -> the step that failed there: its later tasks are skipped
        self.unreachable: set[str] = set()  # hosts that could not be reached (or refused our credentials)
        self._remotes: dict[str, RemoteHost] = {}
        self._errors: dict[str, str] = {}
        self._lock = threading.Lock()
        self.run_locks = RunLocks()  # when this run started and which of its hosts hold a lock (deadlock rule)
        self._machines: dict[tuple, threading.Lock] = {}  # per machine: its nodes' turns at shared files
        self._machine_held: set[tuple] = set()  # machines whose lock this run holds
        self._turns: dict[str, threading.Lock] = {}  # per serial step: its targets' turns (patch mode)
        self._caches: dict[tuple, ReadCache] = {}  # per machine: what the run read of its files (machine mates share)
        self.memo: dict = {}  # what a step read once for every host of the run (e.g. each node's certificate)
        self.keep_diffs = True  # a patch keeps the diff of what it applied (False: the task does not show it, --diff)
        self._started = time.monotonic()
        self._check_run_key()

    def switch(self, mode: Mode) -> None:
        """The next task of the command line runs in this mode (one session, one lock and run id per host)."""
        self.mode = Mode(mode)
        self._check_run_key()

    def break_locks(self) -> None:
        """The operator's --break-lock: from now on a host's lock whose holder is not proved alive (another
        machine's run, a malformed owner file) is broken, and the output names it."""
        self.run_locks.break_locks = True

    def _check_run_key(self) -> None:
        """A writing run signs what it records: a run key file that is not a key (runkey.RunKeyError, a
        ConfigError) stops it before any host is touched, not at its first manifest on every host."""
        if self.mode.writes:
            runkey.key()

    def context(self, host: Host, remote: RemoteHost | None = None, mode: Mode | None = None) -> StepContext:
        """The step context of a host in this run (its connection, the run's checks, or those of
        `mode` where a task checks in another mode than its own, the other hosts' connections and the
        memo): the one place it is assembled."""
        return StepContext(host, self.inv, self.secrets, remote or self.remote(host), (mode or self.mode).checks,
                           self.remote, self.memo)

    def remote(self, host: Host) -> RemoteHost:
        """The host's connected RemoteHost (locked for writing in patch mode); Unreachable once failed."""
        with self._lock:
            if host.name in self._errors:
                raise Unreachable(self._errors[host.name])
            r = self._remotes.get(host.name)
            if r is None:
                r = RemoteHost(host, self.run_id, self.secrets.get("SUDO_PASSWORD"),
                               op_timeout=self.inv.run.op_timeout, run_locks=self.run_locks,
                               cache=self._caches.setdefault(host.machine, ReadCache()), command=self.command,
                               areas=confined_areas(host, self.inv))
                self._remotes[host.name] = r
        try:
            r.connect()
            if self.mode.writes and not r.locked:
                r.lock(self.inv.run.lock_wait)
        except RemoteError as e:
            with self._lock:
                self._errors[host.name] = str(e)
                self._remotes.pop(host.name, None)
                if isinstance(e, Unreachable):
                    self.unreachable.add(host.name)
            r.close()
            raise
        return r

    @contextmanager
    def shared(self, host: Host, remote: RemoteHost):
        """Around a step that writes a file the nodes of one machine share: the machine's nodes
        take turns (the second sees the first one's write: one write, one backup), and a
        writing run holds the machine's lock (taken once per run, where the inventory puts
        several nodes on the machine)."""
        with self._lock:
            turn = self._machines.setdefault(host.machine, threading.Lock())
        with turn:
            if self.mode.writes and self.inv.machine_mates(host) and host.machine not in self._machine_held:
                remote.lock_machine(self.inv.run.lock_wait)
                self._machine_held.add(host.machine)
            yield

    @contextmanager
    def serial(self, step: Step):
        """Around a serial step in a writing run: one target at a time (it writes other nodes' files
        too, and each turn sees the earlier turns' writes)."""
        if not self.mode.writes:
            yield
            return
        with self._lock:
            turn = self._turns.setdefault(step.name, threading.Lock())
        with turn:
            yield

    def remotes(self) -> dict[str, RemoteHost]:
        """The hosts connected so far, by name."""
        return dict(self._remotes)

    def close(self) -> None:
        """Prune old backups where this run wrote, release locks, close connections (the hosts in parallel)."""
        def one(r: RemoteHost) -> None:
            try:
                if r.written or r.sql:
                    r.prune_backups(self.inv.run.keep_backups)
            except RemoteError:
                pass
            r.close()
        in_parallel(list(self._remotes.values()), one, self.inv.run.parallel)
        stats.dump(self.run_id, self.mode, self._started,
                   {n: r.counters.as_dict() for n, r in self._remotes.items()})


def run_on_host(step: Step, host: Host, session: Session, advise: bool = False,
                mode: Mode | None = None) -> StepResult:
    """Plan (and in patch mode apply) one step on one host; never raises.

    advise (verify of a step whose [security] switch is off): its advisories
    become warnings (ok*), no drift. `mode` (Mode.VERIFY): the step as `fab verify` runs it, whatever
    the run's own mode (a task that checks the node steps before it acts: `start`)."""
    skip = step.applies_to(host, session.inv)
    if skip:
        return StepResult(host.name, step.name, Status.SKIPPED, message=skip,
                          fields={"skipped": "not-applicable", "reason": skip})
    reads_only = mode is not None and not mode.writes
    try:
        remote = session.remote(host)
        with session.shared(host, remote) if step.shared and not reads_only else nullcontext(), \
                session.serial(step) if step.serial and not reads_only else nullcontext():
            return _plan_and_apply(step, host, session, remote, advise, mode or session.mode)
    except (HostFault, XmlError, SecretMissing) as e:
        return StepResult(host.name, step.name, Status.FAILED, message=redact(str(e)),
                          fields={"error": error_code(e)})
    except Exception as e:  # a bug must still not hide the other hosts' results
        return StepResult(host.name, step.name, Status.FAILED, message=safe_error(e), fields={"error": "bug"})


def error_code(e: Exception) -> str:
    """A failed row's cause as a code: unreachable (no connection, or credentials refused), remote (a
    command or a file operation failed on the node), secret (a secret missing or refused), refused (the
    step would not act: its message says why)."""
    if isinstance(e, Unreachable):
        return "unreachable"
    if isinstance(e, SecretMissing):
        return "secret"
    if isinstance(e, RemoteError):
        return "remote"
    if isinstance(e, XmlError):
        return "malformed"
    return "refused"


def plan_fields(plan: Plan, mode: Mode) -> dict:
    """A plan's row as data: the files patch writes (dry-run: would write) and the commands it runs
    (or would run), where the mode renders them (not verify: its items say what differs); what would
    make patch refuse; and the step's own fields (Plan.fields)."""
    out: dict[str, object] = {}
    if mode is not Mode.VERIFY:
        out = {"changed_files": [f.path for f in plan.files], "commands": [redact(a.describe()) for a in plan.actions]}
    if plan.refusals:
        out["would_refuse"] = [redact(r) for r in plan.refusals]
    return {**out, **plan.fields}


def _plan_and_apply(step: Step, host: Host, session: Session, remote: RemoteHost, advise: bool,
                    mode: Mode) -> StepResult:
    ctx = session.context(host, remote, mode)
    plan: Plan = step.plan(ctx)
    if advise:
        return StepResult(host.name, step.name, Status.OK, warnings=plan.advisories, notes=plan.notes,
                          fields={"advisory": True})
    if plan.refusals and mode is not Mode.VERIFY:
        raise StepError("; ".join(plan.refusals) + " (nothing was changed)")
    plan.notes += [f"patch would refuse: {r}" for r in plan.refusals]
    warned = plan.warnings
    fields = plan_fields(plan, mode)
    if not plan:
        return StepResult(host.name, step.name, Status.OK, notes=plan.notes, warnings=warned, fields=fields)
    if mode is Mode.VERIFY:
        return StepResult(host.name, step.name, Status.DRIFT, plan.items, notes=plan.notes, warnings=warned,
                          fields=fields)
    if mode is Mode.DRY_RUN:
        return StepResult(host.name, step.name, Status.CHANGED, plan.items, diff=plan.diff(), notes=plan.notes,
                          also=peer_results(step, host, plan), warnings=warned, fields=fields)
    # what patch writes, as a diff (shown with --diff), taken before the plan is applied; none where nothing shows it
    applied = plan.diff(ran=True) if session.keep_diffs else ""
    step.apply(ctx, plan)
    return StepResult(host.name, step.name, Status.CHANGED, plan.items, diff=applied, notes=plan.notes,
                      also=peer_results(step, host, plan), warnings=warned, fields=fields)


def peer_results(step: Step, host: Host, plan: Plan) -> list[StepResult]:
    """A row under each other host the step writes (planned, or written by patch): a write to a host
    is reported under that host, and the run's rollback there undoes it."""
    return [StepResult(name, f"{step.name} (from {host.name})", Status.CHANGED, items,
                       notes=[f"written by {step.name} on {host.name}; backed up on {name}, undone by this "
                              f"run's rollback"], fields={"written_by": step.name, "from": host.name})
            for name, items in sorted(plan.peers.items())]


def in_parallel(items: Sequence, fn: Callable, parallel: int) -> list:
    """fn over items in a pool of at most `parallel` threads; results in item order."""
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(items)))) as pool:
        return list(pool.map(fn, items))


def prefetch(steps: Sequence[Step], host: Host, session: Session, more: tuple[str, ...] = ()) -> None:
    """Read ahead, in one pipelined batch, every file the host's steps will read (and
    `more`); never raises: a host that cannot be reached, or a file that cannot be read, is
    reported by the step that needs it."""
    paths = [p for s in steps if not s.applies_to(host, session.inv) for p in s.reads(host, session.inv)]
    if not paths and not more:
        return
    try:
        session.remote(host).prefetch(paths + list(more))
    except RemoteError:
        pass


def run_sequence(steps: Sequence[Step], host: Host, session: Session, reporter: Reporter) -> list[StepResult]:
    """Run steps in order on one host, reporting each as it finishes; after a failure the
    rest are skipped, in this task and in the later tasks of the command line (the run
    remembers where a host failed)."""
    results: list[StepResult] = []
    failed = session.failed.get(host.name)
    prefetch(list(dict.fromkeys([*steps, *session.upcoming])), host, session)  # the whole command line's reads
    for step in steps:
        if failed is None:
            r = run_on_host(step, host, session)
            if r.status == Status.FAILED:
                failed = session.failed[host.name] = step.name
        else:
            r = StepResult(host.name, step.name, Status.SKIPPED, message=f"not run: {failed} failed on this host",
                           fields={"skipped": "earlier-step-failed", "failed_step": failed})
        reporter.emit(r)
        results.append(r)
        for extra in r.also:
            reporter.emit(extra)
    reporter.host_done(host.name)
    return results


def run_hosts(work: Sequence[tuple[Host, Sequence[Step]]], session: Session, reporter: Reporter) -> list[StepResult]:
    """Each host runs its own step sequence; hosts in parallel, at most [run].parallel at once.

    One host failing or unreachable never stops another's steps."""
    reporter.hosts([h.name for h, _ in work])
    try:
        per_host = in_parallel(work, lambda hw: run_sequence(hw[1], hw[0], session, reporter),
                               session.inv.run.parallel)
    finally:
        reporter.release()
    return [r for rs in per_host for r in rs]


def run_step(step: Step, hosts: list[Host], session: Session, reporter: Reporter) -> list[StepResult]:
    """Run one step on hosts in parallel; each result is reported as it finishes."""
    return run_hosts([(h, [step]) for h in hosts], session, reporter)


def preflight(work: Sequence[tuple[Host, Sequence[Step]]], session: Session) -> None:
    """Every precondition on this machine (secrets, local files) of every step the rollout will run,
    checked before any host is touched: one ConfigError listing them all."""
    if session.mode not in (Mode.PATCH, Mode.DRY_RUN):
        return
    steps = list(dict.fromkeys(s for _, mine in work for s in mine))
    errors = []
    for step in steps:
        try:
            step.preflight(session.inv, session.secrets)
        except (StepError, SecretMissing) as e:
            errors.append(f"{step.name}: {e}")
    if errors:
        raise ConfigError("not started, no host touched: " + "; ".join(redact(e) for e in dict.fromkeys(errors)))
