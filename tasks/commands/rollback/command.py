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

import hashlib
import posixpath
import re
import shlex

from ...config import Host, Inventory
from ...engine.ops import Remove, apply_plan
from ...engine.plan import FileChange, Item, Plan
from ...remote import SCRIPT_LIMIT, RemoteError, RemoteHost
from ...remote.common import is_private
from ...remote.backupruns import run_order
from ...engine.report import Reporter, Status, StepResult
from ...engine.runner import Session, in_parallel, run_step
from ...secrets import redact
from ...formats.xmlsecrets import password_values
from ...engine.step import Step
from ...engine.context import StepContext, StepError, engine_io
from ...engine.ops import NginxReload
from ...rules import nginx_command
from .ops import MarkRolledBack, RestoreOnHost, keep_own_key
from .reach import Reach, check_entry, within
from .sqlundo import AccountsAgainstEnv, RestoreSql, account_changes, digest, sql_entries, undo_notice
from .runs import (MARK, Interleaved, choose_run, describe_run, distrust, first_backups, open_runs,
                   plain_manifest, run_marked, run_stack)

_XML_SECRET = re.compile(rb"<(\w*[Pp]assword)\b[^>]*>([^<]+)</\1\s*>")
_INI_VALUE = re.compile(rb"^\s*[^#;\[\s][^=\n]*=[ \t]*(\S[^\n]*?)\s*$", re.M)
_PEM_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----(.*?)-----END", re.S)


def secret_values(path: str, data: bytes | None) -> list[bytes | str]:
    """Values a rollback diff must not show: an XML file's passwords (formats/xmlsecrets.py: elements, properties and
    attributes named so, decoded; the raw text of a <...Password> element too, and of one in a file the XML layer
    refuses), passwd file entries, private key bodies."""
    if not data:
        return []
    found: list[bytes | str] = [m.group(2) for m in _XML_SECRET.finditer(data)]
    if path.endswith(".xml"):
        found += password_values(data, path) or []
    if posixpath.basename(path) == "passwd":
        found += [m.group(1) for m in _INI_VALUE.finditer(data)]
    for m in _PEM_KEY.finditer(data):
        found += m.group(1).split()
    return list(dict.fromkeys(v.strip() for v in found if v.strip()))  # as the file holds them, and decoded


def _size(data: bytes, mode: int | None) -> str:
    return f"{len(data)} bytes" + (f", mode {mode:o}" if mode is not None else "")


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
        plan = Plan(fields={"run": run, "restored": [], "removed": [], "database": []})
        if folder is None or manifest is None:
            plan.notes.append(f"no backups of run {run} here")
            plan.fields["reason"] = "no-backups-here"
            return plan
        files = manifest.get("files") if isinstance(manifest, dict) else None
        if not isinstance(files, list):
            raise StepError(f"the manifest of run {run} on {ctx.host.name} lists no files; nothing restored")
        why = distrust(manifest, ctx.host, folder)
        if why:
            raise StepError(f"run {run} on {ctx.host.name}: {why}; skipped, nothing restored")
        undo = sql_entries(manifest, ctx.host, ctx.inv, run)
        for rec in files:  # every entry checked before any is planned: a refusal restores nothing
            check_entry(rec, ctx.host, ctx.inv, run)
        plain_manifest(remote, ctx.host, folder)
        reach = Reach(remote, ctx.host, ctx.inv, run)
        for rec in files:
            self._plan_file(remote, rec, plan, reach, f"backups/{folder}/files", f"as before run {run}")
        # after the files: what the run changed in the database, through the same route, the
        # newest change first (one command line may change an account twice:
        # rotate-passwords' two create-dbs phases)
        for entry in reversed(undo):
            path = reach.backup(f"backups/{folder}/sql", entry["name"])
            plan.items.append(Item(f"database ({entry['step']})", f"what run {run} changed there",
                                   "as before the run", "as the run left it"))
            plan.actions.append(RestoreSql(path, entry["step"], entry.get("via"), entry.get("db"), digest(entry)))
            plan.fields["database"].append(entry["step"])
        if ctx.host.role == "lb" and any(within(rec["path"], ctx.inv.lb.conf_dir) for rec in files) and plan:
            plan.actions.append(NginxReload(nginx_command(ctx.inv, "-s", "reload")))
        plan.actions.append(MarkRolledBack(run, f"{remote.backups_root}/{folder}/{MARK}", remote.run_id))
        back, dropped = account_changes(remote, folder, manifest)
        if back:  # last: the rollback stays done and marked, and the row says what the accounts now need
            via = next((e.get("via") for e in undo if e.get("step") == "create-dbs"), None)
            plan.actions.append(AccountsAgainstEnv(tuple(back), tuple(dropped), via))
            plan.notes.append(undo_notice(run, back))
        if dropped:
            plan.notes.append(f"{', '.join(dropped)}: created by run {run}, dropped again (no node can log in "
                              f"with them until create-dbs runs)")
        plan.notes.append(f"run {run}: {len(plan.items)} file(s) to put back")
        return plan

    @staticmethod
    def _plan_file(remote: RemoteHost, rec: dict, plan: Plan, reach: Reach, folder: str, state: str) -> None:
        """One manifest entry: remove a file the run created, or restore the backed-up bytes (in
        `folder` of the node's state) and mode; what the path and the backup really reach on the
        node is checked first. `state` names what the file goes back to ("as before run R")."""
        path, run = rec["path"], reach.run
        mode = rec.get("mode")
        if not rec.get("existed"):
            st = remote.lstat(path)
            if st is None:
                return
            reach.entry(path)
            plan.items.append(Item(path, f"file (created by run {run})", None, f"{st.size} bytes"))
            plan.fields.setdefault("removed", []).append(path)
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
            how = "private, not shown" if is_private(path, mode) else "copied back on the host"  # a large archive
            plan.items.append(Item(path, f"content ({state}; {how})",
                                   f"mode {mode:o}", None if st is None else f"mode {cur_mode:o}"))
            plan.fields.setdefault("restored", []).append(path)
            # a link stays a link: the file it leads to (checked above) is restored
            plan.actions.append(RestoreOnHost(path, backup, target, mode, reach.owner(rec), digest(rec)))
            return
        old = remote.read(backup, SCRIPT_LIMIT, "a backup", cache=False)
        if old is None:
            raise StepError(f"backup of {path} ({rec['backup']}) is missing from run {run}; nothing restored")
        if digest(rec) is not None and hashlib.sha256(old).hexdigest() != digest(rec):
            raise StepError(f"the backup of {path} in run {run} is not what the run saved (changed on the node "
                            f"since); refused, nothing restored")
        current = remote.read(path, SCRIPT_LIMIT, "a file to restore") if st is not None else None
        if current == old and cur_mode == mode:
            return
        plan.items.append(Item(path, f"content ({state})", _size(old, mode),
                               None if current is None else _size(current, cur_mode)))
        plan.fields.setdefault("restored", []).append(path)
        plan.files.append(FileChange(path, current, old, mode=mode, in_place_fallback=True,
                                     secret_lines=tuple(secret_values(path, current) + secret_values(path, old))))

    def apply(self, ctx: StepContext, plan: Plan) -> None:
        """Write the old bytes back without taking a new backup, then restore private files, remove, mark."""
        apply_plan(ctx, plan, backup=False)


def peers_of(run: str, holders: list[Host], session: Session) -> list[Host]:
    """The other hosts the run wrote on the holders' behalf (a new certificate in their trust
    stores), as the holders' manifests name them, that hold the run and have not rolled it back: the
    rollback of a run undoes every write it made, wherever it made it."""
    names: set[str] = set()
    for h in holders:
        try:
            remote = session.remote(h)
            folder = remote.run_dir(run)
            manifest = remote.read_manifest(folder) if folder else None
        except (RemoteError, ValueError):
            continue
        if folder is None or distrust(manifest, h, folder):
            continue  # only a run this machine signed names the hosts it wrote on
        listed = manifest.get("peers") if isinstance(manifest, dict) else None
        if isinstance(listed, list):
            names |= {n for n in listed if isinstance(n, str) and n in session.inv.hosts}
    out = []
    for name in sorted(names):
        peer = session.inv.hosts[name]
        try:
            remote = session.remote(peer)
            folder = remote.run_dir(run)
            if folder and not run_marked(remote, folder):
                out.append(peer)
        except (RemoteError, ValueError):
            pass  # its own rollback says what is wrong there
    return out


def rollback(inv: Inventory, hosts: list[Host], session: Session, reporter: Reporter, everything: bool = False) -> None:
    """Undo the newest not-yet-rolled-back run found on the targets, on the targets that hold it
    (and on the hosts it wrote on their behalf); `everything` (--all): every targeted file back to
    its state before the project first touched it."""
    if everything:
        reporter.note("putting every file the project touched on " + ", ".join(h.name for h in hosts)
                      + " back as it was before the project first touched it")
        run_step(RollbackAll(), hosts, session, reporter)
        return

    def stack(h: Host):
        try:
            return run_stack(session.remote(h), h), None
        except RemoteError as e:
            return ([], []), redact(str(e))

    found = dict(zip([h.name for h in hosts], in_parallel(hosts, stack, inv.run.parallel), strict=False))
    for name, (_, fault) in found.items():
        if fault:
            reporter.emit(StepResult(name, Rollback.name, Status.FAILED, message=fault,
                                     fields={"error": "unreadable", "run": None}))
    note_skipped([s for (_, skipped), _ in found.values() for s in skipped], reporter)
    stacks = {name: stack for name, ((stack, _), _) in found.items() if stack}
    if not stacks:
        reporter.note("nothing to roll back: no backup run that is not rolled back yet on "
                      + ", ".join(name for name, (_, fault) in found.items() if not fault))
        return
    try:
        run = choose_run(stacks)
    except Interleaved as e:
        for name in stacks:
            reporter.emit(StepResult(name, Rollback.name, Status.FAILED,
                                     message=f"each host's newest run lies under another run elsewhere ({e}): "
                                             f"the runs were interleaved; roll back one host at a time with -H",
                                     fields={"error": "interleaved", "run": None}))
        return
    manifest = next(m for stack in stacks.values() for f, m in stack if run_order(f)[1] == run)
    reporter.extra["run_id"] = run
    reporter.extra["run"] = {k: manifest.get(k) for k in ("command", "machine", "time", "seq")
                             if isinstance(manifest.get(k), (str, int))}
    holders = [h for h in hosts if h.name in stacks and run_order(stacks[h.name][0][0])[1] == run]
    holders += [p for p in peers_of(run, holders, session) if p not in holders]
    reporter.note(f"rolling back {describe_run(run, manifest)} on {', '.join(h.name for h in holders)}")
    for h in holders:  # said before anything runs: the accounts this undo puts back, and what that means
        mine = [(f, m) for f, m in stacks.get(h.name, []) if run_order(f)[1] == run]
        back = account_changes(session.remote(h), *mine[0])[0] if mine else []
        if back:
            reporter.note(f"{h.name}: {undo_notice(run, back)}")
    for h in hosts:
        if h not in holders and not found[h.name][1]:
            reporter.emit(StepResult(h.name, Rollback.name, Status.OK, message=f"nothing from run {run} here",
                                     fields={"run": run, "restored": [], "removed": [], "database": [],
                                             "reason": "not-in-run"}))
    run_step(Rollback(run), holders, session, reporter)


def note_skipped(skipped: list, reporter: Reporter) -> None:
    """List the runs (and kept backups) rollback does not act on, each with why (and in JSON)."""
    for s in skipped:
        reporter.note(s.line())
    if skipped:
        reporter.extra.setdefault("skipped_runs", []).extend(s.as_dict() for s in skipped)
        reporter.note("a run is acted on only when this control machine (or one holding the same run key, "
                      "docs/rollback.md) signed it")


class RollbackAll(Step):
    """`rollback --all`: every file the project touched on a host back to its state before the
    project first touched it (the shipped files): the first backup of each path, kept beyond
    keep_backups (in originals/ once its run is pruned, else in the oldest run that holds it); every
    open run is then marked rolled back."""

    name = "rollback"
    help = "put every file the project touched back as it was before the project first touched it"
    esb_only = False

    def plan(self, ctx: StepContext) -> Plan:
        remote, host = engine_io(ctx), ctx.host
        plan = Plan(fields={"run": None, "all": True, "restored": [], "removed": [], "runs_consumed": []})
        firsts, skipped = first_backups(remote, host, ctx.inv)
        plan.notes += [s.line() for s in skipped]
        plan.fields["skipped"] = [s.as_dict() for s in skipped]
        runs = open_runs(remote, host)
        if not firsts and not runs:
            plan.notes.append("no backups here: the project never changed a file on this host")
            return plan
        reach = Reach(remote, host, ctx.inv, "?")
        for rec, folder, run in firsts:
            reach.use(run)
            Rollback._plan_file(remote, rec, plan, reach, folder,
                                f"before the project first touched it, in run {run}")
        keep = keep_own_key(remote, host, [rec["path"] for rec, _, _ in firsts])
        if keep:
            plan.actions.append(keep)
            plan.notes.append(f"the node's own keystore is kept in {keep.kept} (private): create-keystore puts it "
                              f"back, so that what its server encrypted with it stays readable")
        if host.role == "lb" and plan and any(within(r["path"], ctx.inv.lb.conf_dir) for r, *_ in firsts):
            plan.actions.append(NginxReload(nginx_command(ctx.inv, "-s", "reload")))
        for folder, manifest in runs:  # every open run is consumed: a later rollback never undoes one again
            run = run_order(folder)[1]
            plan.actions.append(MarkRolledBack(run, f"{remote.backups_root}/{folder}/{MARK}", remote.run_id))
            plan.fields["runs_consumed"].append(run)
            if manifest.get("sql"):
                plan.items.append(Item(f"database (run {run})", "what the run changed there", "left as it is",
                                       "consumed: a later rollback does not undo it"))
                plan.notes.append(f"run {run} changed the database: rollback --all puts back files only; the "
                                  f"database stays as it is (its accounts keep .env's WSO2_DB_PASSWORD)")
        plan.notes.append(f"{len(plan.items)} file(s) to put back as shipped")
        return plan

    def apply(self, ctx: StepContext, plan: Plan) -> None:
        apply_plan(ctx, plan, backup=False)


