"""`fab rollback`: put back the files that the last patch run changed, from that run's backups.

Every patch run that writes keeps, per host, host.state_dir/backups/<run_id>/ with
manifest.json (path, backup name, existed, mode) and the original bytes.  Rollback
picks the newest run, across the targets, that is not rolled back yet; on each
target holding it, files that did not exist before are removed and the others are
restored byte for byte, atomically, with their mode; then the run is marked
(rolled-back.json) so the next rollback goes one run further back, like an undo
stack.  Rollback writes no backup of its own.  Databases, SVN repositories and
directories made by steps are not undone.
"""
from __future__ import annotations

import json
import posixpath
import re
import shlex
import time
from typing import Sequence, TypeGuard
from dataclasses import dataclass

from ..config import Host, Inventory
from ..engine.ops import Op, Remove, apply_plan
from ..engine.plan import FileChange, Item, Plan
from ..remote import SCRIPT_LIMIT, TMP_MARK, RemoteError, RemoteHost
from ..remote.common import is_private
from ..remote.journal import run_order
from ..remote.replace import replace
from ..remote.runkey import signed
from ..engine.report import Reporter, Status, StepResult
from ..engine.runner import Session, in_parallel, run_step
from ..secrets import redact
from ..steps.base import Step
from ..engine.context import StepContext, StepError, engine_io
from ..steps.loadbalancer import NginxReload, nginx_command

MARK = "rolled-back.json"
_XML_SECRET = re.compile(rb"<(\w*[Pp]assword)\b[^>]*>([^<]+)</\1\s*>")
_INI_VALUE = re.compile(rb"^\s*[^#;\[\s][^=\n]*=[ \t]*(\S[^\n]*?)\s*$", re.M)
_PEM_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----(.*?)-----END", re.S)


def secret_values(path: str, data: bytes | None) -> list[bytes]:
    """Values a rollback diff must not show: <...Password> / <password> texts, and passwd file entries."""
    if not data:
        return []
    found = [m.group(2) for m in _XML_SECRET.finditer(data)]
    if posixpath.basename(path) == "passwd":
        found += [m.group(1) for m in _INI_VALUE.finditer(data)]
    for m in _PEM_KEY.finditer(data):
        found += m.group(1).split()
    return [v.strip() for v in found if v.strip()]  # the bytes as the file holds them


def managed_roots(host: Host, inv: Inventory) -> list[str]:
    """The paths the project writes for this node: its product home, hosts file, certs.dir and, on the svn host,
    the SVN repository. Rollback acts on nothing else."""
    roots = [host.hosts_file, inv.certs.dir]
    if host.is_esb:
        roots.append(host.product_home)
    if inv.svn.repo_path and (host.role == "svn" or inv.svn.host == host.name):
        roots.append(inv.svn.repo_path)
    if host.role == "lb":
        roots.append(inv.lb.conf_dir)
    return roots


def within(path: str, root: str) -> bool:
    """path is root or inside it."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def check_entry(rec, host: Host, inv: Inventory, run_id: str) -> None:
    """Refuse a manifest entry that is malformed or names a path the project does not manage for this node (a
    planted or corrupt manifest must not make rollback write or delete anywhere, as root under sudo)."""
    where = f"run {run_id} on {host.name}"
    if not isinstance(rec, dict) or not isinstance(rec.get("path"), str):
        raise StepError(f"the manifest of {where} has a malformed entry; nothing restored")
    path = rec["path"]
    if not path.startswith("/") or posixpath.normpath(path) != path or "\0" in path:
        raise StepError(f"the manifest of {where} names {path!r}, not a plain absolute path; refused, nothing restored")
    roots = managed_roots(host, inv)
    if not any(within(path, r) for r in roots):
        raise StepError(f"the manifest of {where} names {path}, outside what the project manages there "
                        f"({', '.join(roots)}); refused, nothing restored")
    name = rec.get("backup")
    if rec.get("existed") and (not isinstance(name, str) or "/" in name or name.startswith(".") or not name):
        raise StepError(f"the manifest of {where} names a backup {name!r} for {path} that is not a file of its "
                        f"backups; refused, nothing restored")
    if rec.get("mode") is not None and (not isinstance(rec["mode"], int) or not 0 <= rec["mode"] <= 0o7777):
        raise StepError(f"the manifest of {where} gives {path} the mode {rec['mode']!r}; refused, nothing restored")
    real = rec.get("real")
    if real is not None and (not isinstance(real, str) or not real.startswith("/")
                             or posixpath.normpath(real) != real or "\0" in real):
        raise StepError(f"the manifest of {where} says {path} led to {real!r}, not a plain absolute path; "
                        f"refused, nothing restored")


class Reach:
    """What the paths of one manifest really reach on the node, checked before anything is written or deleted
    through them: a node's folders and links are untrusted input. `trusted`: the manifest carries this control
    machine's signature, so what it recorded at write time (a link the operator made, the owner, a setuid bit)
    may be honoured; an unsigned one gets only what can be checked on the node."""

    def __init__(self, remote: RemoteHost, host: Host, inv: Inventory, run: str, trusted: bool):
        self.remote, self.host, self.run, self.trusted = remote, host, run, trusted
        self.roots = []
        for r in managed_roots(host, inv):  # the root itself may be the operator's link (a linked hosts file)
            self.roots += [remote.realpath(r), self._where(r)]
        self.state = remote.realpath(remote.state_dir)

    def use(self, run: str, trusted: bool) -> "Reach":
        """The records that follow come from this run's manifest (signed by this machine, or not)."""
        self.run, self.trusted = run, trusted
        return self

    def _refuse(self, what: str) -> StepError:
        return StepError(f"run {self.run} on {self.host.name}: {what}; refused, nothing restored")

    def _managed(self, real: str) -> bool:
        return any(within(real, r) for r in self.roots)

    def _where(self, path: str) -> str:
        """Where the folder entry at path really is: its folder resolved, the name itself as it stands."""
        return posixpath.join(self.remote.realpath(posixpath.dirname(path)), posixpath.basename(path))

    def entry(self, path: str) -> None:
        """The folder entry at path (what a removal unlinks) lies inside a managed root, links on the way
        resolved."""
        where = self._where(path)
        if not self._managed(where):
            raise self._refuse(f"{path} lies in {posixpath.dirname(where)} through a symbolic link, outside what "
                               f"the project manages there ({', '.join(self.roots)})")

    def target(self, path: str, rec: dict) -> str:
        """The file a restore of path writes: inside a managed root, or the file a link the operator made led
        to when this machine's run wrote through it (recorded and signed)."""
        self.entry(path)
        real = self.remote.realpath(path)
        if self._managed(real) or (self.trusted and rec.get("real") == real):
            return real
        why = "not as this machine recorded it" if rec.get("real") else "not recorded by the run that wrote it"
        raise self._refuse(f"{path} leads to {real} through a symbolic link ({why}), outside what the project "
                           f"manages there")

    def backup(self, folder: str, name: str) -> str:
        """The backup copy `name` in `folder` of the node's state (backups/<run>/files, originals/files): a plain
        file there, no link anywhere on the way (a linked backup would copy out, or show in a diff, a file the
        node chose)."""
        path = f"{self.remote.state_dir}/{folder}/{name}"
        st = self.remote.lstat(path)
        if st is None:
            raise self._refuse(f"the backup {name} is missing")
        if not st.is_file or self.remote.realpath(path) != f"{self.state}/{folder}/{name}":
            raise self._refuse(f"the backup {name} is not a plain file of the run's backups (a link or a "
                               f"special file)")
        return path

    def mode(self, path: str, mode: int | None) -> int | None:
        """A setuid, setgid or sticky bit only from a manifest this machine signed."""
        if mode is not None and mode & 0o7000 and not self.trusted:
            raise self._refuse(f"an unsigned manifest gives {path} the mode {mode:o}")
        return mode

    def owner(self, rec: dict) -> tuple[int, int] | None:
        """The recorded owner only from a manifest this machine signed; else the target keeps its own."""
        owner = rec.get("owner")
        return (owner[0], owner[1]) if self.trusted and _is_owner(owner) else None


def run_marked(remote: RemoteHost, folder: str) -> bool:
    """True when the run in this backups folder was rolled back on this host already."""
    return remote.stat(f"{remote.backups_root}/{folder}/{MARK}") is not None


def open_runs(remote: RemoteHost):
    """(folder, manifest) of each backup run on this host that lists a file and is not rolled back, newest first
    by the node's own sequence (a run that wrote nothing is no step of the undo stack); read as needed."""
    for folder in reversed(remote.backup_runs()):
        if run_marked(remote, folder):
            continue
        try:
            manifest = remote.read_manifest(folder)
        except ValueError:
            raise RemoteError(f"the manifest of run {folder} on {remote.host.name} is not JSON; "
                              f"move {remote.backups_root}/{folder} away to roll back further") from None
        if isinstance(manifest, dict) and (manifest.get("files") or manifest.get("sql")):
            yield folder, manifest


def newest_open_run(remote: RemoteHost) -> tuple[str, dict] | None:
    """(folder, manifest) of the newest open run on this host (the top of its undo stack), or None."""
    return next(open_runs(remote), None)


def plain_manifest(remote: RemoteHost, host: Host, folder: str) -> None:
    """A manifest is a plain file of its run's folder, not a link a node planted to another file."""
    st = remote.lstat(f"{remote.backups_root}/{folder}/manifest.json")
    if st is None or not st.is_file:
        raise StepError(f"run {folder} on {host.name}: its manifest is not a plain file (a link?); "
                        f"refused, nothing restored")


def describe_run(run_id: str, manifest: dict | None) -> str:
    """A run as rollback names it: its id, the command line, the machine it came from and its time (as that
    machine's clock said: shown, never used for ordering)."""
    m = manifest if isinstance(manifest, dict) else {}
    parts = [f"run {run_id}"]
    extra = []
    if isinstance(m.get("command"), str) and m["command"]:
        extra.append(m["command"])
    if isinstance(m.get("machine"), str) and m["machine"]:
        extra.append(f"from {m['machine']}")
    if isinstance(m.get("time"), int):
        extra.append(time.strftime("at %Y-%m-%d %H:%M:%S UTC", time.gmtime(m["time"])))
    return " ".join(parts) + (f" ({', '.join(redact(e) for e in extra)})" if extra else "")


def _size(data: bytes, mode: int | None) -> str:
    return f"{len(data)} bytes" + (f", mode {mode:o}" if mode is not None else "")


def _is_owner(v) -> TypeGuard[list[int]]:
    return isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and 0 <= x < 1 << 32 for x in v)


def restore_on_host_command(backup: str, path: str, mode: int, owner: Sequence[int] | None = None) -> str:
    """The backup copied beside the target and settled over it: its mode, and the owner the manifest recorded
    (else the target's own), as the remote layer's one shell replace does it."""
    tmp = posixpath.join(posixpath.dirname(path), f".{posixpath.basename(path)}{TMP_MARK}rollback")
    who = f"{owner[0]}:{owner[1]}" if owner else "target"
    return f"sh -c {shlex.quote(replace(backup, tmp, path, mode, who, tolerate_owner=True))}"


class Rollback(Step):
    """Restore one run's backups on a host (a Step, so dry-run, JSON and reporting come for free)."""

    name = "rollback"
    help = "restore the files the last patch run changed, from its backups"
    esb_only = False

    def __init__(self, run_id: str):
        self.run_id = run_id

    def plan(self, ctx: StepContext) -> Plan:
        """What putting the run's backups back would do on this host (reads only)."""
        remote, run = engine_io(ctx), self.run_id
        folder = remote.run_dir(run)
        manifest = remote.read_manifest(folder) if folder else None
        plan = Plan()
        if folder is None or manifest is None:
            plan.notes.append(f"no backups of run {run} here")
            return plan
        files = manifest.get("files") if isinstance(manifest, dict) else None
        if not isinstance(files, list):
            raise StepError(f"the manifest of run {run} on {ctx.host.name} lists no files; nothing restored")
        undo = sql_entries(manifest, ctx.host, ctx.inv, run)
        for rec in files:  # every entry checked before any is planned: a refusal restores nothing
            check_entry(rec, ctx.host, ctx.inv, run)
        plain_manifest(remote, ctx.host, folder)
        reach = Reach(remote, ctx.host, ctx.inv, run, signed(manifest))
        for rec in files:
            self._plan_file(remote, rec, plan, reach, f"backups/{folder}/files", f"as before run {run}")
        # after the files: what the run changed in the database, through the same route, the newest change first
        # (one command line may change an account twice: rotate-passwords' two create-dbs phases)
        for entry in reversed(undo):
            path = reach.backup(f"backups/{folder}/sql", entry["name"])
            plan.items.append(Item(f"database ({entry['step']})", f"what run {run} changed there",
                                   "as before the run", "as the run left it"))
            plan.actions.append(RestoreSql(path, entry["step"], entry.get("via"), entry.get("db")))
        if ctx.host.role == "lb" and any(within(rec["path"], ctx.inv.lb.conf_dir) for rec in files) and plan:
            plan.actions.append(NginxReload(nginx_command(ctx.inv, "-s", "reload")))
        plan.actions.append(MarkRolledBack(run, f"{remote.backups_root}/{folder}/{MARK}", remote.run_id))
        plan.notes.append(f"run {run}: {len(plan.items)} file(s) to put back")
        return plan

    @staticmethod
    def _plan_file(remote: RemoteHost, rec: dict, plan: Plan, reach: Reach, folder: str, state: str) -> None:
        """One manifest entry: remove a file the run created, or restore the backed-up bytes (in `folder` of the
        node's state) and mode; what the path and the backup really reach on the node is checked first. `state`
        names what the file goes back to ("as before run R")."""
        path, run = rec["path"], reach.run
        mode = reach.mode(path, rec.get("mode"))
        if not rec.get("existed"):
            st = remote.lstat(path)
            if st is None:
                return
            reach.entry(path)
            plan.items.append(Item(path, f"file (created by run {run})", None, f"{st.size} bytes"))
            plan.actions.append(Remove(path, backup=False))
            return
        target = reach.target(path, rec)
        backup = reach.backup(folder, rec["backup"])
        st = remote.stat(target)
        cur_mode = None if st is None else st.mode & 0o7777
        private = rec["private"] if isinstance(rec.get("private"), bool) else is_private(path, mode)  # older runs
        if private:
            if mode is None:  # a manifest that records no mode (older, or not this machine's): private stays so
                mode = 0o600 if cur_mode is None else cur_mode & 0o7700
            same = st is not None and remote.run(f"cmp -s {shlex.quote(backup)} {shlex.quote(target)}",
                                                 sudo=True, check=False)[0] == 0
            if same and cur_mode == mode:
                return
            plan.items.append(Item(path, f"content ({state}; private, not shown)",
                                   f"mode {mode:o}", None if st is None else f"mode {cur_mode:o}"))
            # a link stays a link: the file it leads to (checked above) is restored
            plan.actions.append(RestoreOnHost(path, backup, target, mode, reach.owner(rec)))
            return
        old = remote.read(backup, SCRIPT_LIMIT, "a backup", cache=False)
        if old is None:
            raise StepError(f"backup of {path} ({rec['backup']}) is missing from run {run}; nothing restored")
        current = remote.read(path, SCRIPT_LIMIT, "a file to restore") if st is not None else None
        if current == old and cur_mode == mode:
            return
        plan.items.append(Item(path, f"content ({state})", _size(old, mode),
                               None if current is None else _size(current, cur_mode)))
        plan.files.append(FileChange(path, current, old, mode=mode, in_place_fallback=True,
                                     secret_lines=tuple(secret_values(path, current) + secret_values(path, old))))

    def apply(self, ctx: StepContext, plan: Plan) -> None:
        """Write the old bytes back without taking a new backup, then restore private files, remove, mark."""
        apply_plan(ctx, plan, backup=False)


@dataclass(frozen=True)
class RestoreOnHost(Op):
    """A private file's backup copied back on the host (its bytes never cross the connection), with its old mode
    and owner; `target` is the file a link leads to (the link stays a link)."""

    path: str
    backup: str
    target: str
    mode: int
    owner: tuple[int, int] | None = None

    def describe(self) -> str:
        return f"restore {self.path} on the host from its backup"

    def perform(self, ctx: StepContext) -> None:
        ctx.remote.run(restore_on_host_command(self.backup, self.target, self.mode, self.owner), sudo=True)


def sql_entries(manifest: dict, host: Host, inv: Inventory, run: str) -> list[dict]:
    """The manifest's database undo files, each checked (a plain name of its sql folder, a step that keeps one, a
    known host as its route); a malformed one refuses the whole rollback."""
    entries = manifest.get("sql") or []
    if not isinstance(entries, list):
        raise StepError(f"the manifest of run {run} on {host.name} has a malformed sql list; nothing restored")
    for e in entries:
        ok = (isinstance(e, dict) and isinstance(e.get("name"), str) and "/" not in e["name"]
              and not e["name"].startswith(".") and e.get("step") in ("create-dbs", "set-admin-password")
              and (e.get("via") is None or e.get("via") in inv.hosts)
              and (e.get("db") is None or isinstance(e.get("db"), str)))
        if not ok:
            raise StepError(f"the manifest of run {run} on {host.name} names a database undo {e!r:.80} that is "
                            f"not one of its own; refused, nothing restored")
    return entries


@dataclass(frozen=True)
class RestoreSql(Op):
    """A database change put back: the undo kept before it (tasks/remote/dbundo.py), run through the route the step used
    (the admin login; `via`: the host whose route reaches the server). Its statements are never shown."""

    path: str
    step: str
    via: str | None = None
    db: str | None = None

    def describe(self) -> str:
        return f"restore what {self.step} changed in the database, from {posixpath.basename(self.path)}"

    def perform(self, ctx: StepContext) -> None:
        from ..remote.dbundo import statements
        from ..remote.mysql import DbError, execute
        from ..steps.databases import route_for
        data = ctx.remote.read(self.path, SCRIPT_LIMIT, "a database undo", cache=False)
        if data is None:
            raise StepError(f"{self.path} is gone; the database is not restored")
        dbctx = ctx.other(ctx.inv.hosts[self.via]) if self.via else ctx
        try:
            conn = route_for(dbctx).connect(ctx.inv.database.admin_user,
                                            dbctx.secrets.require("MYSQL_ADMIN_PASSWORD"))
            try:
                for sql in statements(data):
                    execute(conn, sql, what=f"restoring what {self.step} changed")
            finally:
                conn.close()
        except DbError as e:
            raise StepError(str(e)) from None


@dataclass(frozen=True)
class MarkRolledBack(Op):
    """The run's backup folder says it was rolled back (by which run, when): the undo stack's next step."""

    run: str
    path: str
    by: str

    def describe(self) -> str:
        return f"mark run {self.run} rolled back"

    def perform(self, ctx: StepContext) -> None:
        mark = json.dumps({"run_id": self.run, "rolled_back_at": int(time.time()), "by": self.by}).encode()
        ctx.remote.write(self.path, mark, mode=0o600, backup=False)


def peers_of(run: str, holders: list[Host], inv: Inventory, session: Session) -> list[Host]:
    """The other hosts the run wrote on the holders' behalf (a new certificate in their trust stores), as the
    holders' manifests name them, that hold the run and have not rolled it back: the rollback of a run undoes
    every write it made, wherever it made it."""
    names: set[str] = set()
    for h in holders:
        try:
            remote = session.remote(h)
            folder = remote.run_dir(run)
            manifest = remote.read_manifest(folder) if folder else None
        except (RemoteError, ValueError):
            continue
        listed = manifest.get("peers") if isinstance(manifest, dict) else None
        if isinstance(listed, list):
            names |= {n for n in listed if isinstance(n, str) and n in inv.hosts}
    out = []
    for name in sorted(names):
        peer = inv.hosts[name]
        try:
            remote = session.remote(peer)
            folder = remote.run_dir(run)
            if folder and not run_marked(remote, folder):
                out.append(peer)
        except (RemoteError, ValueError):
            pass  # its own rollback says what is wrong there
    return out


def choose_run(tops: dict[str, tuple[str, dict]]) -> str:
    """The run to undo among each host's newest open run (the top of its own undo stack, by the node's own
    sequence). Where hosts' tops differ, those runs touched different hosts last and either may go first: the
    one whose manifest says it is later goes first (a clock only breaks that tie, it never orders one node)."""
    def key(item):
        run_id, manifest = item
        t = manifest.get("time") if isinstance(manifest.get("time"), int) else 0
        return (t, run_id)
    candidates = {run_order(folder)[1]: manifest for folder, manifest in tops.values()}
    return max(candidates.items(), key=key)[0]


def rollback(inv: Inventory, hosts: list[Host], session: Session, reporter: Reporter, everything: bool = False) -> None:
    """Undo the newest not-yet-rolled-back run found on the targets, on the targets that hold it (and on the
    hosts it wrote on their behalf); `everything` (--all): every targeted file back to its state before the
    project first touched it."""
    if everything:
        reporter.note("putting every file the project touched on " + ", ".join(h.name for h in hosts)
                      + " back as it was before the project first touched it")
        run_step(RollbackAll(), hosts, session, reporter)
        return

    def newest(h: Host):
        try:
            return newest_open_run(session.remote(h)), None
        except RemoteError as e:
            return None, redact(str(e))

    found = dict(zip([h.name for h in hosts], in_parallel(hosts, newest, inv.run.parallel), strict=False))
    for name, (_, err) in found.items():
        if err:
            reporter.emit(StepResult(name, Rollback.name, Status.FAILED, message=err))
    tops = {h: top for h, (top, _) in found.items() if top}
    if not tops:
        reporter.note("nothing to roll back: no backup run that is not rolled back yet on "
                      + ", ".join(h for h, (_, err) in found.items() if not err))
        return
    run = choose_run(tops)
    manifest = next(m for f, m in tops.values() if run_order(f)[1] == run)
    reporter.extra["run_id"] = run
    reporter.extra["run"] = {k: manifest.get(k) for k in ("command", "machine", "time", "seq")
                             if isinstance(manifest.get(k), (str, int))}
    holders = [h for h in hosts if h.name in tops and run_order(tops[h.name][0])[1] == run]
    holders += [p for p in peers_of(run, holders, inv, session) if p not in holders]
    reporter.note(f"rolling back {describe_run(run, manifest)} on {', '.join(h.name for h in holders)}")
    for h in hosts:
        if h not in holders and not found[h.name][1]:
            reporter.emit(StepResult(h.name, Rollback.name, Status.OK, message=f"nothing from run {run} here"))
    run_step(Rollback(run), holders, session, reporter)


ORIGINALS = "originals"


class RollbackAll(Step):
    """`rollback --all`: every file the project touched on a host back to its state before the project first
    touched it (the shipped files): the first backup of each path, kept beyond keep_backups (in originals/ once
    its run is pruned, else in the oldest run that holds it); every open run is then marked rolled back."""

    name = "rollback"
    help = "put every file the project touched back as it was before the project first touched it"
    esb_only = False

    def plan(self, ctx: StepContext) -> Plan:
        remote, host = engine_io(ctx), ctx.host
        plan = Plan()
        firsts = first_backups(remote, host, ctx.inv)
        if not firsts:
            plan.notes.append("no backups here: the project never changed a file on this host")
            return plan
        reach = Reach(remote, host, ctx.inv, "?", False)
        for rec, folder, run, trusted in firsts:
            reach.use(run, trusted)
            Rollback._plan_file(remote, rec, plan, reach, folder,
                                f"before the project first touched it, in run {run}")
        if host.role == "lb" and plan and any(within(r["path"], ctx.inv.lb.conf_dir) for r, *_ in firsts):
            plan.actions.append(NginxReload(nginx_command(ctx.inv, "-s", "reload")))
        for folder, _ in open_runs(remote):
            plan.actions.append(MarkRolledBack(run_order(folder)[1], f"{remote.backups_root}/{folder}/{MARK}",
                                               remote.run_id))
        plan.notes.append(f"{len(plan.items)} file(s) to put back as shipped")
        return plan

    def apply(self, ctx: StepContext, plan: Plan) -> None:
        apply_plan(ctx, plan, backup=False)


def first_backups(remote: RemoteHost, host: Host, inv: Inventory) -> list[tuple[dict, str, str, bool]]:
    """(record, folder of its backup under the node's state, the run that took it, signed) of the first backup of
    every path the project touched on this node: the originals kept from pruned runs, then the oldest run (by the
    node's sequence) that lists each other path. Every record checked as rollback checks a manifest."""
    out: dict[str, tuple[dict, str, str, bool]] = {}
    index = read_originals(remote, host)
    if index is not None:
        trusted = signed(index)
        for rec in index.get("files", []):
            check_entry(rec, host, inv, "kept first backups")
            run = rec.get("run") if isinstance(rec.get("run"), str) else "?"
            out.setdefault(rec["path"], (rec, f"{ORIGINALS}/files", run, trusted and rec.get("trusted") is True))
    for folder in remote.backup_runs():
        try:
            manifest = remote.read_manifest(folder)
        except ValueError:
            raise StepError(f"the manifest of run {folder} on {host.name} is not JSON; nothing restored") from None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
            continue
        plain_manifest(remote, host, folder)
        run = run_order(folder)[1]
        for rec in manifest["files"]:
            check_entry(rec, host, inv, run)
            out.setdefault(rec["path"], (rec, f"backups/{folder}/files", run, signed(manifest)))
    return list(out.values())


def read_originals(remote: RemoteHost, host: Host) -> dict | None:
    """originals/index.json: the first backups kept from pruned runs (None when none were kept)."""
    path = f"{remote.state_dir}/{ORIGINALS}/index.json"
    st = remote.lstat(path)
    if st is None:
        return None
    if not st.is_file:
        raise StepError(f"{path} on {host.name} is not a plain file (a link?); refused, nothing restored")
    try:
        index = json.loads(remote.read(path, SCRIPT_LIMIT, "an index", cache=False) or b"{}")
    except ValueError:
        raise StepError(f"{path} on {host.name} is not JSON; nothing restored") from None
    if not isinstance(index, dict) or not isinstance(index.get("files", []), list):
        raise StepError(f"{path} on {host.name} is malformed; nothing restored")
    return index
