"""`fab deploy FILE` and `fab undeploy NAME` (CONTRACT §12): a Carbon application put on (or
taken off) the manager, and DepSync proved to carry it to every running node.

Deploy checks the archive on this machine first (a file name, `.car`, at most 256 MiB, a zip whose
artifacts.xml names one carbon/application), then on the manager (DepSync enabled with AutoCommit,
`carbonapps` and the file no link and no folder): any refusal writes nothing. It writes the file
atomically, with a backup, through the run's journal (rollback undoes it like any step); the same
bytes again write nothing. Then, within `--wait` seconds ([run].sync_timeout), each running node is
polled at most once a second (tasks/probes/depsync.py) until it holds: the repository (the
manager's SvnUrl, `/-1234` appended as carbon-commons does) has the same bytes at revision R (the
file's last change); each worker's working copy has the file at R or later and the same bytes on
disk; each node logged `Successfully Deployed Carbon Application : <name>_<version>` after the file
reached it (its mtime). One row per node; a node that lags fails (exit 1), named with its revision,
the repository's, and its last DepSync or deployer error line. Undeploy proves the file gone the
same way (and `Undeploying Carbon Application` logged where it was deployed).
"""
from __future__ import annotations

import functools
import hashlib
import posixpath
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..config import ConfigError, Host, Inventory
from ..engine.context import StepContext, StepError
from ..engine.mode import Mode
from ..engine.report import Reporter, Status, StepResult
from ..engine.runner import Session, in_parallel
from ..formats import capp, zipdir
from ..formats.wcdb import WcError, WorkingCopy
from ..probes.depsync import APPS_REL, DEPLOYMENT, NodeSync, Repository, manager_depsync, repo_access, wait_tick
from ..probes.server import ServerProbe
from ..probes.svnwire import SvnError
from ..remote import HostFault
from ..secrets import SecretMissing, redact

CAR_MODE = 0o644


@dataclass(frozen=True)
class Archive:
    """The archive to deploy, read on this machine."""

    name: str
    data: bytes = field(repr=False)
    sha256: str
    app: capp.CApp


def load_archive(file: str) -> Archive:
    """The local .car, checked; a ConfigError (nothing touched) says why it cannot be deployed."""
    path = Path(file)
    why = capp.check_name(path.name)
    if why:
        raise ConfigError(f"deploy {file}: {why}; nothing written")
    try:
        st = path.stat()
        if not path.is_file():
            raise ConfigError(f"deploy {file}: not a regular file; nothing written")
        if st.st_size > capp.CAR_LIMIT:
            raise ConfigError(f"deploy {file}: {st.st_size} bytes, larger than {capp.CAR_LIMIT >> 20} MiB; "
                              f"nothing written")
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"deploy {file}: cannot be read ({e.strerror}); nothing written") from None
    try:
        app = capp.parse_car(data)
    except capp.CappError as e:
        raise ConfigError(f"deploy {file}: {e}; nothing written") from None
    return Archive(path.name, data, hashlib.sha256(data).hexdigest(), app)


def manager_target(inv: Inventory, hosts: list[Host]) -> Host:
    """The one manager among the targets; a worker or a non-ESB host is refused with the reason."""
    workers = [h.name for h in hosts if h.role == "worker"]
    if workers:
        raise ConfigError(f"{', '.join(workers)}: a worker; deploy and undeploy run on the manager only (a worker's "
                          f"files come from the repository, and its DepSync reverts local changes)")
    others = [h.name for h in hosts if h.role != "manager"]
    if others:
        raise ConfigError(f"{', '.join(others)}: not the manager (the node whose DepSync commits)")
    if len(hosts) != 1:
        raise ConfigError(f"deploy takes one manager; targets: {', '.join(h.name for h in hosts) or 'none'}")
    return hosts[0]


def check_entry(ctx: StepContext, rel: str, folder: bool = False) -> None:
    """Every folder from the product home down to carbonapps, and the file in it: no symbolic link, the
    folders folders and the file a plain file (`folder`: rel is the folder itself); a StepError naming it,
    nothing written. Then the remote layer's own confinement (a folder leading out of the product home)."""
    parts = rel.split("/")
    for i in range(1, len(parts) + 1):
        path = ctx.home("/".join(parts[:i]))
        st = ctx.remote.lstat(path)
        if st is None:
            break  # what is under a missing folder is missing too: made by the write
        if st.is_link:
            raise StepError(f"{path} is a symbolic link; refused: the archive goes into the product home's own "
                            f"{capp.CARBONAPPS}, which DepSync commits")
        if (i < len(parts) or folder) and not st.is_dir:
            raise StepError(f"{path} is not a folder; refused")
        if i == len(parts) and not folder and not st.is_file:
            raise StepError(f"{path} is not a plain file (mode {st.mode:o}); refused")
    ctx.remote.stat(ctx.home(rel))  # the confinement of the product home: a RemoteError naming the link


# ---------------------------------------------------------------- the proof

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


# ---------------------------------------------------------------- the commands

def written(app: str, rel: str | None, action: str, sha256: str | None = None, **more: object) -> dict:
    """The manager's row of a deploy that proves nothing (a dry-run, a refusal): the application, its file
    under the deployment folder, the action (write, remove, none) and the archive's sha256."""
    return {"app": app, "file": rel, "action": action, "sha256": sha256, **more}


def deploy(inv: Inventory, hosts: list[Host], session: Session, reporter: Reporter, file: str,
           wait: float) -> None:
    """Put the archive on the manager (atomic, backed up; the same bytes: nothing written), then prove it."""
    archive = load_archive(file)
    mgr = manager_target(inv, hosts)
    rel = f"{capp.CARBONAPPS}/{archive.name}"
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        remote = session.remote(mgr)
        nodes = pool.submit(survey, session) if session.mode is Mode.PATCH else None  # beside the manager's work
        ctx = session.context(mgr, remote)
        access = repo_access(ctx, manager_depsync(ctx))
        check_entry(ctx, rel)
        digest, _ = NodeSync(mgr, remote).sha256(rel)
        if digest == archive.sha256:
            done = (Status.OK, f"{rel}: the same bytes already; nothing written")
        elif session.mode is Mode.DRY_RUN:
            reporter.emit(StepResult(mgr.name, "deploy", Status.CHANGED, message=(
                f"would write {rel} ({len(archive.data)} bytes, sha256 {archive.sha256}, {archive.app.app_id}) "
                f"{'over other bytes, backed up' if digest else 'as a new file'}, then prove it on every running "
                f"node within {wait:g} s"), fields=written(archive.app.app_id, rel, "write", archive.sha256)))
            return
        else:
            if remote.stat(ctx.home(capp.CARBONAPPS)) is None:
                remote.mkdir_p(ctx.home(capp.CARBONAPPS))
            remote.write(ctx.home(rel), archive.data, mode=CAR_MODE)
            backed = ", the old one backed up" if digest else ""
            done = (Status.CHANGED, f"{rel} written ({len(archive.data)} bytes{backed})")
    except (HostFault, SecretMissing) as e:
        reporter.emit(StepResult(mgr.name, "deploy", Status.FAILED, message=redact(f"refused: {e}; nothing written"),
                                 fields=written(archive.app.app_id, rel, "none", archive.sha256, error="refused")))
        return
    finally:
        pool.shutdown(wait=True)
    if session.mode is Mode.DRY_RUN or nodes is None:
        reporter.emit(StepResult(mgr.name, "deploy", Status.OK, message=f"{done[1]}; would prove it on every "
                                                                       f"running node",
                                 fields=written(archive.app.app_id, rel, "none", archive.sha256)))
        return
    Proof(session, reporter, Repository(remote, access, inv.run.op_timeout), "deploy",
          f"{APPS_REL}/{archive.name}", archive.app.app_id, archive.sha256, {mgr.name: done}) \
        .run(nodes.result(), time.monotonic() + wait)


def find_deployed(ctx: StepContext, name: str) -> tuple[str, str] | None:
    """(file name in carbonapps, <name>_<version>) of what NAME means on the manager: a file name, or
    an application id matched by each archive's own artifacts.xml (read from its zip directory); None."""
    folder = ctx.home(capp.CARBONAPPS)
    names = sorted(n for n in (ctx.remote.listdir(folder) or []) if n.endswith(".car"))
    for n in names:
        path = posixpath.join(folder, n)
        st = ctx.remote.lstat(path)
        if st is None or not st.is_file:
            continue
        if name == n:
            return n, _app_id(ctx, path) or n[:-4]
        if name == _app_id(ctx, path):
            return n, name
    return None


def _app_id(ctx: StepContext, path: str) -> str | None:
    """<name>_<version> of an archive on the node, from its artifacts.xml (its zip directory and that member
    read, never the archive whole); None when it has none. A RemoteError (the connection) is raised: an
    archive that could not be read is not taken for another one."""
    try:
        with zipfile.ZipFile(zipdir.RangedReader(functools.partial(ctx.remote.read_range, path))) as z:
            with z.open("artifacts.xml") as f:
                return capp.parse_artifacts(f.read(capp.ARTIFACTS_LIMIT + 1)).app_id
    except (KeyError, zipfile.BadZipFile, OSError, ValueError):
        return None


def undeploy(inv: Inventory, hosts: list[Host], session: Session, reporter: Reporter, name: str,
             wait: float) -> None:
    """Remove the application from the manager (backed up), then prove it gone from every running node."""
    if not name or "/" in name or name in (".", ".."):
        raise ConfigError(f"undeploy {name!r}: a file name in carbonapps or <name>_<version>; nothing removed")
    mgr = manager_target(inv, hosts)
    try:
        remote = session.remote(mgr)
        ctx = session.context(mgr, remote)
        access = repo_access(ctx, manager_depsync(ctx))
        check_entry(ctx, capp.CARBONAPPS, folder=True)  # listed and read only when it is the home's own
        found = find_deployed(ctx, name)
        if found is not None:
            check_entry(ctx, f"{capp.CARBONAPPS}/{found[0]}")
        if found is None:
            app_id = name[:-4] if name.endswith(".car") else name
            file = name if name.endswith(".car") else f"{name}.car"
            done = (Status.OK, f"{name}: not in {capp.CARBONAPPS} on the manager; nothing removed")
        elif session.mode is Mode.DRY_RUN:
            reporter.emit(StepResult(mgr.name, "undeploy", Status.CHANGED, message=(
                f"would remove {capp.CARBONAPPS}/{found[0]} ({found[1]}), backed up, then prove it gone on every "
                f"running node within {wait:g} s"),
                fields=written(found[1], f"{capp.CARBONAPPS}/{found[0]}", "remove")))
            return
        else:
            file, app_id = found
            remote.remove(ctx.home(f"{capp.CARBONAPPS}/{file}"))
            done = (Status.CHANGED, f"{capp.CARBONAPPS}/{file} removed (backed up)")
    except (HostFault, SecretMissing) as e:
        reporter.emit(StepResult(mgr.name, "undeploy", Status.FAILED, message=redact(f"refused: {e}; nothing removed"),
                                 fields=written(name, None, "none", error="refused")))
        return
    if session.mode is Mode.DRY_RUN:
        reporter.emit(StepResult(mgr.name, "undeploy", Status.OK, message=done[1],
                                 fields=written(app_id, f"{capp.CARBONAPPS}/{file}", "none")))
        return
    Proof(session, reporter, Repository(remote, access, inv.run.op_timeout), "undeploy",
          f"{APPS_REL}/{file}", app_id, None, {mgr.name: done}).run(survey(session), time.monotonic() + wait)
