"""The proof that DepSync carried a deploy (or an undeploy) to every running node (CONTRACT §12): within the
deadline each running node is polled at most once a second (tasks/probes/depsync.py) until it holds: the
repository has the same bytes at revision R (the file's last change); each worker's working copy has the file
at R or later and the same bytes on disk; each node logged the deployer's line after the file reached it.
One row per node; a node that lags fails, named with its revision, the repository's, and its last DepSync or
deployer error line."""
from __future__ import annotations

import posixpath
import time
from dataclasses import dataclass, field

from ...config import Host
from ...engine.report import Reporter, Status, StepResult
from ...engine.runner import Session, in_parallel
from ...formats import capp
from ...formats.wcdb import WcError, WorkingCopy
from ...probes.depsync import DEPLOYMENT, NodeSync, Repository, wait_tick
from ...probes.server import ServerProbe
from ...probes.svnwire import SvnError
from ...remote import HostFault
from ...secrets import redact

@dataclass
class Proved:
    """What a node shows at the last poll: whether it holds, and the line that says so (or why not)."""

    holds: bool = False
    line: str = "not read yet"
    fields: dict = field(default_factory=dict)  # the same as data: revisions, lag codes (Proof.judge)


NOT_RUNNING = "not running: DepSync and the deployer run inside Carbon; not proved"


def survey(session: Session) -> dict[str, NodeSync | tuple[Status, str]]:
    """Every ESB node: its NodeSync when its server runs (its log read now), else the row it
    gets (skipped: not running; failed: cannot be reached). Run beside the manager's own work."""
    inv = session.inv

    def one(h: Host) -> tuple[str, NodeSync | tuple[Status, str]]:
        try:
            remote = session.remote(h)
            if not ServerProbe(h, inv, remote, session.secrets).state().running:
                return h.name, (Status.SKIPPED, NOT_RUNNING)
            sync = NodeSync(h, remote)
            sync.follow_log()  # its recent lines, and the zone they are written in
            return h.name, sync
        except HostFault as e:
            return h.name, (Status.FAILED, str(e))
    return dict(in_parallel(inv.esb_nodes, one, inv.run.parallel))


@dataclass
class Seen:
    """What one node showed at one poll (judged once the repository's revision is known)."""

    wc: WorkingCopy | None = None
    wc_error: str | None = None
    digest: str | None = None
    mtime: int | None = None
    event: tuple[str, float | None] | None = None


class Proof:
    """Every running node polled (at most once a second, each poll reading the repository and the
    nodes at once) until each holds or the deadline passes."""

    def __init__(self, session: Session, reporter: Reporter, repo: Repository, task: str,
                 rel: str, app_id: str, sha: str | None, prefix: dict[str, tuple[Status, str]]):
        self.session, self.reporter, self.repo, self.task = session, reporter, repo, task
        self.rel, self.app_id, self.sha = rel, app_id, sha  # sha None: prove the file gone
        self.prefix = prefix  # host -> (status when it holds, what this run did there)
        self.head: int | None = None
        self.rev: int | None = None  # R: where the repository holds what is wanted
        self.repo_line = ""

    def row(self, h: Host, status: Status, line: str, fields: dict | None = None) -> StepResult:
        done = self.prefix.get(h.name)
        data = {"app": self.app_id, "file": self.rel, "proved": False, "revision": None,
                "repository_revision": self.head, "lag": [], "lag_reasons": [], **(fields or {})}
        data["deployed" if self.sha is not None else "undeployed"] = data["proved"]
        if done:  # what the run did there shows, whatever the proof says (a stopped manager was still written)
            status = done[0] if status is Status.OK or (status is Status.SKIPPED and done[0] is Status.CHANGED) \
                else status
            line = f"{done[1]}; {line}"
            data["written"] = done[0] is Status.CHANGED
            data["action"] = ("write" if self.sha else "remove") if done[0] is Status.CHANGED else "none"
        r = StepResult(h.name, self.task, status, message=redact(line), fields=data)
        self.reporter.emit(r)
        return r

    def read_repo(self) -> None:
        try:
            self.head, f = self.repo.file(self.rel)
        except SvnError as e:
            self.rev, self.repo_line = None, f"cannot be read: {e}"
            return
        if self.sha is None:
            self.rev = self.head if f is None else None
            self.repo_line = "still holds it" if f is not None else f"gone at revision {self.head}"
        elif f is None:
            self.rev, self.repo_line = None, f"does not hold it at revision {self.head}"
        elif f.sha256 != self.sha:
            self.rev, self.repo_line = None, f"holds other bytes at revision {self.head} (changed in {f.created_rev})"
        else:
            self.rev, self.repo_line = f.created_rev, f"same bytes since revision {f.created_rev}"

    def gather(self, h: Host, sync: NodeSync) -> Seen:
        """One node, now: its working copy (a worker's), the file's bytes, its last line about the app."""
        seen = Seen()
        if h.role == "worker":
            try:
                seen.wc = sync.working_copy()
            except WcError as e:
                seen.wc_error = str(e)
        seen.digest, seen.mtime = sync.sha256(posixpath.join(DEPLOYMENT, self.rel))
        seen.event = sync.last_event(self.app_id)
        return seen

    def judge(self, h: Host, sync: NodeSync, seen: Seen) -> Proved:
        """Whether what the node showed proves it (against the repository's revision R)."""
        if seen.wc_error:
            return Proved(False, f"its working copy cannot be read now ({seen.wc_error})",
                          {"lag": ["working-copy-unreadable"], "lag_reasons": [seen.wc_error]})
        wc, event = seen.wc, seen.event
        node = wc.file(self.rel) if wc else None
        mine = node.revision if node else (wc.revision if wc else None)
        lag: dict[str, str] = {}  # code -> what the row says
        if self.rev is None:
            lag["repository"] = f"the repository {self.repo_line}"
        if h.role == "worker":
            if wc is None:
                lag["no-working-copy"] = "no working copy of the repository yet"
            elif self.sha is not None and (node is None or self.rev is None or (node.revision or 0) < self.rev):
                lag["copy-behind"] = f"its copy at revision {mine if mine is not None else 'none'}"
            elif self.sha is None and (node is not None or self.rev is None or (wc.revision or 0) < self.rev):
                lag["copy-behind"] = f"its copy at revision {wc.revision}" + (" still holds it" if node else "")
        if self.sha is not None:
            if seen.digest != self.sha:
                lag["other-bytes" if seen.digest else "not-on-disk"] = \
                    "other bytes on disk" if seen.digest else "the file is not on disk"
            elif event is None or event[0] != capp.DEPLOYED or event[1] is None or event[1] < (seen.mtime or 0):
                lag["not-logged"] = (f"no `Successfully Deployed Carbon Application : {self.app_id}` logged after "
                                     f"the file arrived" + (f" (last: {event[0]})" if event else ""))
        else:
            if seen.digest is not None:
                lag["still-on-disk"] = "the file is still on disk"
            elif event is not None and event[0] == capp.DEPLOYED:
                lag["not-logged"] = f"no `Undeploying Carbon Application : {self.app_id}` logged"
        data: dict[str, object] = {"revision": mine if h.role == "worker" else None, "repository_revision": self.head,
                                   "proved_revision": self.rev, "lag": list(lag), "lag_reasons": list(lag.values())}
        if lag:
            last = sync.last_error()
            data["last_error"] = last
            return Proved(False, f"lags: {'; '.join(lag.values())}; the repository's revision "
                                 f"{self.rev or self.head}; last error: {last}", data)
        rev = f"revision {mine if mine is not None else self.rev}" if h.role == "worker" else \
            f"repository revision {self.rev}"
        when = time.strftime("%H:%M:%S", time.gmtime(event[1])) if event and event[1] else ""
        what = (f"deployed {self.app_id} at {when} UTC" if self.sha is not None else
                f"undeployed {self.app_id}" + (f" at {when} UTC" if event else " (never deployed here)"))
        data["proved"] = True
        data["logged_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(event[1])) if event and event[1] else None
        return Proved(True, f"{rev} (repository {self.head}), {'same bytes, ' if self.sha else 'gone, '}{what}", data)

    def run(self, nodes: dict[str, NodeSync | tuple[Status, str]], deadline: float) -> None:
        hosts = {h.name: h for h in self.session.inv.esb_nodes}
        pending: dict[str, NodeSync] = {}
        for name, got in nodes.items():
            if isinstance(got, NodeSync):
                pending[name] = got
            else:
                self.row(hosts[name], *got, {"skipped": "not-running"} if got[0] is Status.SKIPPED else
                         {"error": "unreachable", "lag": ["unreachable"]})
        last: dict[str, Proved] = {}
        start, polls = time.monotonic(), 0

        def one(name: str | None) -> tuple[str | None, Seen | str | None]:
            if name is None:
                self.read_repo()
                return None, None
            try:
                return name, self.gather(hosts[name], pending[name])
            except HostFault as e:
                return name, f"cannot be read now: {e}"
        try:
            while pending:
                seen = dict(in_parallel([None, *pending], one, self.session.inv.run.parallel + 1))
                for name in list(pending):
                    shown = seen.get(name)
                    p = self.judge(hosts[name], pending[name], shown) if isinstance(shown, Seen) else \
                        Proved(False, str(shown), {"lag": ["unreadable"], "lag_reasons": [str(shown)]})
                    last[name] = p
                    if p.holds:
                        self.row(hosts[name], Status.OK, p.line, p.fields)
                        del pending[name]
                polls += 1
                if not pending or time.monotonic() + 1 > deadline:
                    break
                wait_tick(start, polls)
        finally:
            self.repo.close()
        for name in pending:
            self.row(hosts[name], Status.FAILED, last[name].line if name in last else "not read",
                     last[name].fields if name in last else {"lag": ["not-read"]})
