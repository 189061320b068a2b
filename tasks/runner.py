"""Run steps over hosts: one Session (connection + SFTP per host) per fab run, hosts in a bounded pool.

A host that fails or cannot be reached gets a `failed` result; the others go on.
"""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .config import Host, Inventory
from .plan import Plan
from .remote import RemoteError, RemoteHost, Unreachable
from .report import Reporter, StepResult
from .secrets import SecretMissing, Secrets, redact
from .steps.base import Step, StepContext, StepError
from .xmldoc import XmlError

MODES = ("patch", "verify", "dry-run")


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{os.getpid()}"


class Session:
    """Every RemoteHost of one fab run; connections are opened lazily and reused by every step."""

    def __init__(self, inv: Inventory, secrets: Secrets, mode: str, run_id: str | None = None):
        self.inv = inv
        self.secrets = secrets
        self.mode = mode
        self.run_id = run_id or new_run_id()
        self._remotes: dict[str, RemoteHost] = {}
        self._errors: dict[str, str] = {}
        self._lock = threading.Lock()

    def remote(self, host: Host) -> RemoteHost:
        """The host's connected RemoteHost (locked for writing in patch mode); Unreachable once failed."""
        with self._lock:
            if host.name in self._errors:
                raise Unreachable(self._errors[host.name])
            r = self._remotes.get(host.name)
            if r is None:
                r = RemoteHost(host, self.run_id, self.secrets.get("SUDO_PASSWORD"))
                self._remotes[host.name] = r
        try:
            r.connect()
            if self.mode == "patch" and not r._locked:
                r.lock()
        except RemoteError as e:
            with self._lock:
                self._errors[host.name] = str(e)
                self._remotes.pop(host.name, None)
            r.close()
            raise
        return r

    def remotes(self) -> dict[str, RemoteHost]:
        return dict(self._remotes)

    def close(self) -> None:
        """Prune old backups where this run wrote, release locks, close connections."""
        for r in self._remotes.values():
            try:
                if r.written:
                    r.prune_backups(self.inv.run.keep_backups)
            except RemoteError:
                pass
            r.close()


def run_on_host(step: Step, host: Host, session: Session) -> StepResult:
    """Plan (and in patch mode apply) one step on one host; never raises."""
    mode = session.mode
    skip = step.applies_to(host, session.inv)
    if skip:
        return StepResult(host.name, step.name, "skipped", message=skip)
    try:
        remote = session.remote(host)
        ctx = StepContext(host, session.inv, session.secrets, remote, mode, session.remote)
        plan: Plan = step.plan(ctx)
        if not plan:
            return StepResult(host.name, step.name, "ok", notes=plan.notes)
        if mode == "verify":
            return StepResult(host.name, step.name, "drift", plan.items, notes=plan.notes)
        if mode == "dry-run":
            return StepResult(host.name, step.name, "changed", plan.items, diff=plan.diff(), notes=plan.notes)
        step.apply(ctx, plan)
        return StepResult(host.name, step.name, "changed", plan.items, notes=plan.notes)
    except (StepError, RemoteError, XmlError, SecretMissing) as e:
        return StepResult(host.name, step.name, "failed", message=redact(str(e)))
    except Exception as e:  # a bug must still not hide the other hosts' results
        return StepResult(host.name, step.name, "failed", message=redact(f"{type(e).__name__}: {e}"))


def run_step(step: Step, hosts: list[Host], session: Session, reporter: Reporter) -> list[StepResult]:
    """Run one step on hosts in parallel; each result is reported as it finishes."""
    results: list[StepResult] = []
    if not hosts:
        return results
    workers = max(1, min(session.inv.run.parallel, len(hosts)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for r in pool.map(lambda h: _emit(reporter, run_on_host(step, h, session)), hosts):
            results.append(r)
    return results


def _emit(reporter: Reporter, r: StepResult) -> StepResult:
    reporter.emit(r)
    return r
