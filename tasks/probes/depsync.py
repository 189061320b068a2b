"""DepSync as the nodes and the repository show it, read-only (CONTRACT §12): what `deploy` and
`undeploy` prove, and what `status` can report.

- the repository: the URL carbon-commons' SVN synchronizer works on (the manager's SvnUrl, plus
  `/-1234` when SvnUrlAppendTenantId is true), read with the project's own Subversion client (svn://:
  svnwire.SvnSession; http(s)://, mod_dav_svn: svndav.DavSession, an https server's certificate
  verified against the node's client-truststore.jks and this machine's CAs) over a channel of the
  manager's SSH connection, logged in with the manager's SvnUser and SvnPassword (a Secure Vault
  value resolved with the node's key, never shown);
- a node's working copy: `repository/deployment/server/.svn/wc.db`, downloaded over SFTP (size
  capped) and read with sqlite3 (formats/wcdb.py); a file's bytes by their sha256 over SFTP;
- a node's log: followed from where the last read ended (Carbon's deploy lines, DepSync's errors).
Nothing is installed or run on a node: the zone its log's times are written in is the last line's time
against the log file's mtime.
"""
from __future__ import annotations

import posixpath
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from ..config import Host, Inventory
from ..engine.context import StepContext, StepError
from ..formats import capp, carbonxml, jks
from ..formats.wcdb import WC_DB, WC_LIMIT, WcError, WorkingCopy, read_wc
from ..remote import SMALL_LIMIT, HostFault, RemoteError
from ..remote.protocol import NodeReads
from ..rules import CARBON, CARBON_LOG, TRUSTSTORE
from ..secrets import register
from .svndav import DavSession, svn_session
from .vaultvalues import resolved_values
from .svnwire import SvnError, SvnFile, SvnSession

#: the working copy DepSync keeps of the super tenant's artifacts, relative to the product home
DEPLOYMENT = "repository/deployment/server"
#: a file of the working copy, relative to its root (what wc.db and the repository call it)
APPS_REL = posixpath.relpath(capp.CARBONAPPS, DEPLOYMENT)
#: how much of a node's log is read at first (its recent lines); later reads take what was added
LOG_FIRST = 1 << 20


@dataclass(frozen=True)
class RepoAccess:
    """Where the manager's DepSync commits, and as whom (the password is registered as a secret)."""

    url: str
    user: str
    password: str
    trust: tuple[bytes, ...] = ()  # for an https:// SvnUrl: the certificates the node trusts (DER)


def manager_depsync(ctx: StepContext) -> carbonxml.DepSync:
    """The manager's <DeploymentSynchronizer>; a StepError (nothing written) unless DepSync is
    enabled there with AutoCommit (the node whose commits carry an application to the workers)."""
    ds = carbonxml.read_depsync(ctx.xml(CARBON))
    if ds is None or (ds.enabled or "").strip().lower() != "true":
        raise StepError(f"DepSync is not enabled on {ctx.host.name} ({CARBON} DeploymentSynchronizer/Enabled is "
                        f"{ds.enabled if ds else 'absent'}): nothing would carry the application to the workers; "
                        f"run fab enable-depsync first")
    if (ds.auto_commit or "").strip().lower() != "true":
        raise StepError(f"DepSync on {ctx.host.name} does not commit (AutoCommit is {ds.auto_commit}): the workers "
                        f"would never get the application; run fab enable-depsync first")
    if (ds.svn_url or "").split("://", 1)[0].lower() not in ("svn", "http", "https"):
        raise StepError(f"SvnUrl {ds.svn_url!r} on {ctx.host.name}: the repository is read over svn:// or "
                        f"http(s):// (what Carbon's DepSync speaks); nothing written")
    return ds


def node_trust(ctx: StepContext, url: str) -> tuple[bytes, ...]:
    """For an https:// URL, the certificates the node's Carbon trusts (the trusted entries of its
    client-truststore.jks, read over SFTP, size-capped): an https repository's certificate is
    verified against them and this machine's CAs, as the node's DepSync verifies it. Nothing for
    another scheme, or a store that is absent or no JKS (this machine's CAs alone then)."""
    if not (url or "").lower().startswith("https://"):
        return ()
    try:
        data = ctx.remote.read(ctx.home(TRUSTSTORE), SMALL_LIMIT, "a trust store")
        return tuple(jks.parse(data).certs.values()) if data else ()
    except (RemoteError, jks.JksError):
        return ()


def repo_access(ctx: StepContext, ds: carbonxml.DepSync) -> RepoAccess:
    """The repository URL, user and password the manager's DepSync uses (Secure Vault resolved)."""
    password = ds.svn_password or ""
    if ds.svn_password_alias:
        values = resolved_values(ctx, [ds.svn_password_alias])
        if ds.svn_password_alias not in values:
            raise StepError(f"Secure Vault alias {ds.svn_password_alias}: no value the manager's key decrypts")
        password = values[ds.svn_password_alias]
    if password:
        register(password)
    url = carbonxml.tenant_url(ds.svn_url or "", ds.append_tenant_id)
    return RepoAccess(url, ds.svn_user or "", password, node_trust(ctx, url))


class Repository:
    """The repository DepSync commits to, read over one session (svn:// or http(s)://) from the manager."""

    def __init__(self, remote: NodeReads, access: RepoAccess, timeout: float):
        self.remote, self.access, self.timeout = remote, access, timeout
        self.session: SvnSession | DavSession | None = None

    def _open(self) -> SvnSession | DavSession:
        if self.session is None:
            a = self.access
            s = svn_session(self.remote, a.url, a.user, a.password, self.timeout, a.trust)
            why = s.open()
            if why:
                s.close()
                raise SvnError(f"{self.access.url}: {why}")
            self.session = s
        return self.session

    def file(self, rel: str, limit: int = capp.CAR_LIMIT) -> tuple[int, SvnFile | None]:
        """(the youngest revision, the file at it or None); a broken session is opened again next time."""
        try:
            s = self._open()
            head = s.latest_rev()
            return head, s.get_file(rel, head, limit)
        except SvnError:
            self.close()
            raise

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


class NodeSync:
    """One node's DepSync as its files show it: the working copy's revisions, a file's bytes, the log."""

    def __init__(self, host: Host, remote: NodeReads):
        self.host, self.remote = host, remote
        self._log_at: int | None = None
        self.log = ""
        self._zone: float | None = None
        self._hashes: dict[tuple[int, int], str] = {}

    def path(self, rel: str) -> str:
        return posixpath.join(self.host.product_home, rel)

    def working_copy(self) -> WorkingCopy | None:
        """The copy of repository/deployment/server (None: no working copy yet); a wc.db caught
        mid-write by svn raises WcError (read again at the next poll)."""
        data = self.remote.read(self.path(posixpath.join(DEPLOYMENT, WC_DB)), WC_LIMIT, "a working-copy database",
                                cache=False)
        return None if data is None else read_wc(data)

    def sha256(self, rel: str) -> tuple[str | None, int | None]:
        """(the file's sha256, its mtime) on the node, or (None, None) when it is not there; hashed
        again only when its size or mtime changed since the last time."""
        st = self.remote.lstat(self.path(rel))
        if st is None:
            return None, None
        if not st.is_file:
            return f"<not a plain file: mode {st.mode:o}>", st.mtime
        key = (st.size, st.mtime)
        if key not in self._hashes:
            digest = self.remote.sha256(self.path(rel), capp.CAR_LIMIT)
            if digest is None:
                return None, None
            self._hashes = {key: digest}
        return self._hashes[key], st.mtime

    def zone(self) -> float:
        """The node's UTC offset in seconds, as its log shows it: the last line's time (the node's wall
        clock) against the log file's mtime (UTC), rounded to a quarter hour; no command run. 0 before the
        log has a line."""
        return self._zone or 0.0

    def _learn_zone(self, mtime: int) -> None:
        for line in reversed(self.log.splitlines()[-20:]):
            at = capp.stamp(line)
            if at is not None:
                self._zone = round((at - mtime) / 900) * 900
                return

    def follow_log(self) -> str:
        """The log's recent lines, with what was added since the last call (a log that is not a plain
        file is refused: it is parsed and quoted)."""
        path = self.path(CARBON_LOG)
        st = self.remote.lstat(path)
        if st is None:
            return self.log
        if not st.is_file:
            raise StepError(f"{CARBON_LOG} is not a plain file (a link?); refused")
        if self._log_at is None or st.size < self._log_at:  # first read, or the log was rotated
            self._log_at, self.log = max(0, st.size - LOG_FIRST), ""
        if st.size > self._log_at:
            data, _ = self.remote.read_range(path, self._log_at, st.size - self._log_at)
            self._log_at += len(data)
            self.log = (self.log + data.decode("utf-8", "replace"))[-LOG_FIRST:]
            self._learn_zone(st.mtime)
        return self.log

    def last_event(self, app_id: str) -> tuple[str, float | None] | None:
        """The last deploy, undeploy or failure line about app_id, its time in UTC epoch seconds."""
        events = capp.app_events(self.follow_log(), app_id)
        if not events:
            return None
        kind, at = events[-1]
        return kind, (None if at is None else at - self.zone())

    def last_error(self) -> str:
        """The last DepSync or deployer error line of the log, or a sentence saying there is none."""
        return capp.last_error(self.log) or "no DepSync or deployer error logged"


def wait_tick(started: float, polls: int) -> None:
    """Sleep until the next whole second after `started` (each node polled at most once a second)."""
    time.sleep(max(0.0, started + polls - time.monotonic()))


@dataclass(frozen=True)
class Lag:
    """A worker's working copy against the repository: whether it keeps up, and the item that says so."""

    holds: bool
    what: str
    wanted: str = ""
    actual: str = ""
    no_copy: bool = False  # no working copy at all: a server that never ran (or DepSync never checked out)


def worker_lag(ctx: StepContext, password: str, timeout: float, now: float | None = None) -> Lag | None:
    """Whether the worker's DepSync copy is at the repository's youngest revision, or behind it for no
    longer than one DepSync period (AutoSyncPeriod, else 60 s) counted from the commit of the first
    revision it lacks; read with the node's own SvnUrl and login. None when the repository cannot be
    logged into (the live svn check says why)."""
    ds = carbonxml.read_depsync(ctx.xml(CARBON))
    if ds is None:
        return None
    period = carbonxml.sync_period(ds)
    what = f"DepSync working copy ({DEPLOYMENT})"
    try:
        wc = NodeSync(ctx.host, ctx.remote).working_copy()
    except WcError as e:
        return Lag(False, what, "a readable working copy", str(e))
    if wc is None or wc.revision is None:
        return Lag(False, what, "a working copy of the repository",
                   "none (DepSync checks out when the server runs)", no_copy=True)
    url = carbonxml.tenant_url(ds.svn_url or "", ds.append_tenant_id)
    session = svn_session(ctx.remote, url, ds.svn_user or "", password, timeout, node_trust(ctx, url))
    try:
        if session.open():
            return None
        head = session.latest_rev()
        if wc.revision >= head:
            return Lag(True, f"{what} at revision {wc.revision}, the repository's youngest")
        since = session.rev_date(wc.revision + 1)
    except SvnError as e:
        return Lag(False, what, "the repository readable", str(e))
    finally:
        session.close()
    late = (now if now is not None else time.time()) - (since or 0)
    if since is not None and late <= period:
        return Lag(True, f"{what} at revision {wc.revision}, the repository's {head} committed {int(late)} s ago "
                         f"(within one DepSync period, {period} s)")
    return Lag(False, what, f"the repository's revision {head} within one DepSync period ({period} s)",
               f"at revision {wc.revision}, {int(late)} s after revision {wc.revision + 1} was committed")


def revisions(inv: Inventory, hosts: list[Host], context: Callable[[Host], StepContext]
              ) -> dict[str, tuple[int, str]]:
    """What `status` says of DepSync: per node (its working copy's revision, the repository's youngest
    or "unknown"), read through the manager's login; nodes without a copy, or a cluster whose manager has
    no DepSync, are left out. Never raises: status must not fail for it."""
    mgr = next(iter(inv.by_role("manager")), None)
    head = "unknown"
    if mgr is not None:
        try:
            ctx = context(mgr)
            repo = Repository(ctx.remote, repo_access(ctx, manager_depsync(ctx)), inv.run.op_timeout)
            try:
                head = str(repo.file("")[0])
            finally:
                repo.close()
        except (HostFault, SvnError):
            return {}

    def one(h: Host) -> tuple[str, tuple[int, str] | None]:
        try:
            wc = NodeSync(h, context(h).remote).working_copy()
        except (HostFault, WcError):
            return h.name, None
        return h.name, None if wc is None or wc.revision is None else (wc.revision, head)
    with ThreadPoolExecutor(max_workers=max(1, min(inv.run.parallel, len(hosts)))) as pool:
        return {n: rev for n, rev in pool.map(one, hosts) if rev}


def describe_revision(rev: tuple[int, str]) -> str:
    """`DepSync revision N (repository M)`, as status prints it."""
    return f"DepSync revision {rev[0]} (repository {rev[1]})"
