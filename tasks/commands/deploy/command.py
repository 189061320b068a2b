"""`fab deploy FILE` and `fab undeploy NAME` (CONTRACT §12): a Carbon application put on (or
taken off) the manager, and DepSync proved to carry it to every running node.

Deploy checks the archive on this machine first (a file name, `.car`, at most 256 MiB, a zip whose
artifacts.xml names one carbon/application), then on the manager (DepSync enabled with AutoCommit,
`carbonapps` and the file no link and no folder): any refusal writes nothing. It writes the file
atomically, with a backup, through the run's journal (rollback undoes it like any step); the same
bytes again write nothing. Then, within `--wait` seconds ([run].sync_timeout), proof.py proves that
DepSync carried it to every running node, one row per node; undeploy proves the file gone the same way
(and `Undeploying Carbon Application` logged where it was deployed).
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

from ...config import ConfigError, Host, Inventory
from ...engine.context import StepContext, StepError
from ...engine.mode import Mode
from ...engine.report import Reporter, Status, StepResult
from ...engine.runner import Session
from ...formats import capp, zipdir
from ...probes.depsync import APPS_REL, NodeSync, Repository, manager_depsync, repo_access
from ...remote import HostFault
from ...secrets import SecretMissing, redact
from .proof import Proof, survey

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
