"""A node's backup runs as rollback reads them: the runs not rolled back yet (newest by the node's
own sequence), their manifests and what they say, the first backups kept under originals/."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

from ...config import Host, Inventory
from ...remote import SCRIPT_LIMIT, RemoteError, RemoteHost
from ...remote.backupruns import run_order
from ...remote.runkey import signed
from ...secrets import redact
from ...engine.context import StepError
from .reach import check_entry

MARK = "rolled-back.json"

ORIGINALS = "originals"


def run_marked(remote: RemoteHost, folder: str) -> bool:
    """True when the run in this backups folder was rolled back on this host already (its mark is a
    plain file: a link planted there marks nothing, and rollback refuses to write through it)."""
    st = remote.lstat(f"{remote.backups_root}/{folder}/{MARK}")
    return st is not None and st.is_file


def distrust(manifest: object, host: Host, folder: str) -> str | None:
    """Why rollback must not act on the run in this backups folder, in words (None: it may); see
    distrust_code."""
    found = distrust_code(manifest, host, folder)
    return found[1] if found else None


def distrust_code(manifest: object, host: Host, folder: str) -> tuple[str, str] | None:
    """Why rollback must not act on the run in this backups folder (None: it may). Only a manifest
    this control machine signed (or a machine holding the same run key), for this node and this
    folder, is acted on: an unsigned one (planted by the node, or another machine's), or a signed
    one copied from another node or another folder, is listed and skipped, never restored, never
    its SQL, never its peers."""
    if not isinstance(manifest, dict):
        return "not-json-object", "its manifest is not a JSON object"
    if not signed(manifest):
        return "unsigned", ("its manifest is not signed by this control machine's run key (planted on the node, "
                            "or written by a machine with another key)")
    seq, run = run_order(folder)
    if manifest.get("host") != host.name:
        return "other-host", f"its signed manifest is {manifest.get('host')!r}'s, not {host.name}'s (copied here)"
    if manifest.get("run_id") != run or ("seq" in manifest and manifest.get("seq") != seq):
        return "other-folder", (f"its signed manifest is run {manifest.get('run_id')!r}'s, not this folder's "
                                f"(moved or copied)")
    return None


@dataclass(frozen=True)
class Skipped:
    """A run rollback lists and does not act on (see distrust)."""

    host: str
    what: str  # the run as describe_run names it, or the kept first backups
    why: str
    #: why, as a code: not-json, not-json-object, unreadable, unsigned, other-host, other-folder,
    #: originals-unsigned, first-backup-unsigned
    code: str = ""
    run: str | None = None  # the run's id, where the skipped thing is a run

    def line(self) -> str:
        """The line rollback prints for it."""
        return f"{self.host}: {self.what} skipped, never restored: {self.why}"

    def as_dict(self) -> dict:
        """The JSON form: host, what, why (text), code and run (data)."""
        return {"host": self.host, "what": self.what, "why": redact(self.why), "code": self.code, "run": self.run}


def run_stack(remote: RemoteHost, host: Host) -> tuple[list[tuple[str, dict]], list[Skipped]]:
    """This host's undo stack: (folder, manifest) of each run it may act on that lists a file or a
    database change and is not rolled back yet, newest first by the node's own sequence; and the
    runs it skips (not this machine's, copied, unreadable)."""
    stack: list[tuple[str, dict]] = []
    skipped: list[Skipped] = []
    for folder in reversed(remote.backup_runs()):
        if run_marked(remote, folder):
            continue
        try:
            manifest = remote.read_manifest(folder)
        except (ValueError, RemoteError) as e:
            bad = "its manifest is not JSON" if isinstance(e, ValueError) else redact(str(e))
            skipped.append(Skipped(host.name, describe_run(run_order(folder)[1], None), bad,
                                   "not-json" if isinstance(e, ValueError) else "unreadable", run_order(folder)[1]))
            continue
        if manifest is None:
            continue
        why = distrust_code(manifest, host, folder)
        if why:
            m = manifest if isinstance(manifest, dict) else None
            skipped.append(Skipped(host.name, describe_run(run_order(folder)[1], m), why[1], why[0],
                                   run_order(folder)[1]))
        elif manifest.get("files") or manifest.get("sql"):
            stack.append((folder, manifest))
    return stack, skipped


def open_runs(remote: RemoteHost, host: Host):
    """(folder, manifest) of each run on this host that rollback may act on and that is not rolled
    back, newest first by the node's own sequence."""
    return run_stack(remote, host)[0]


def plain_manifest(remote: RemoteHost, host: Host, folder: str) -> None:
    """A manifest is a plain file of its run's folder, not a link a node planted to another file; so
    is its rolled-back mark where there is one (rollback writes it)."""
    st = remote.lstat(f"{remote.backups_root}/{folder}/manifest.json")
    if st is None or not st.is_file:
        raise StepError(f"run {folder} on {host.name}: its manifest is not a plain file (a link?); "
                        f"refused, nothing restored")
    st = remote.lstat(f"{remote.backups_root}/{folder}/{MARK}")
    if st is not None and not st.is_file:
        raise StepError(f"run {folder} on {host.name}: {MARK} is not a plain file (a link through a symbolic "
                        f"link?); refused, nothing restored")


def describe_run(run_id: str, manifest: dict | None) -> str:
    """A run as rollback names it: its id, the command line, the machine it came from and its time
    (as that machine's clock said: shown, never used for ordering)."""
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


class Interleaved(Exception):
    """Every host's newest run lies under another run on some other host: no run is the newest."""


def choose_run(stacks: dict[str, list[tuple[str, dict]]]) -> str:
    """The run to undo, from each host's undo stack (newest first, by the node's own sequence): a
    run at the top of every stack that holds it. A run that lies under another run on some host is
    never chosen, whatever the clocks of the machines that made them said (undoing it would undo
    it on some hosts only). Where several runs qualify they share no host, and either may go first:
    the one whose manifest says it is later goes first (a clock only breaks that tie)."""
    tops = {stack[0][0]: stack[0][1] for stack in stacks.values() if stack}
    buried = {run_order(f)[1] for stack in stacks.values() for f, _ in stack[1:]}
    eligible = {run_order(f)[1]: m for f, m in tops.items() if run_order(f)[1] not in buried}
    if not eligible:
        raise Interleaved(", ".join(f"{h}: {run_order(s[0][0])[1]}" for h, s in sorted(stacks.items()) if s))

    def key(item):
        run_id, manifest = item
        t = manifest.get("time") if isinstance(manifest.get("time"), int) else 0
        return (t, run_id)
    return max(eligible.items(), key=key)[0]


def first_backups(remote: RemoteHost, host: Host, inv: Inventory
                  ) -> tuple[list[tuple[dict, str, str]], list[Skipped]]:
    """(record, folder of its backup under the node's state, the run that took it) of the first
    backup of every path the project touched on this node: the originals kept from pruned runs, then
    the oldest run (by the node's sequence) that lists each other path; only what this machine signed
    (see distrust), every record checked as rollback checks a manifest. And what was skipped."""
    out: dict[str, tuple[dict, str, str]] = {}
    skipped: list[Skipped] = []
    index = read_originals(remote, host)
    if index is not None and not signed(index):
        skipped.append(Skipped(host.name, "the kept first backups (originals/index.json)",
                               "not signed by this control machine's run key", "originals-unsigned"))
    elif index is not None:
        for rec in index.get("files", []):
            check_entry(rec, host, inv, "kept first backups")
            run = rec.get("run") if isinstance(rec.get("run"), str) else "?"
            if rec.get("trusted") is not True:  # kept from a run this machine did not sign
                skipped.append(Skipped(host.name, f"the first backup of {rec['path']} (kept from run {run})",
                                       "its run was not signed by this control machine's run key",
                                       "first-backup-unsigned", run))
                continue
            out.setdefault(rec["path"], (rec, f"{ORIGINALS}/files", run))
    for folder in remote.backup_runs():
        try:
            manifest = remote.read_manifest(folder)
        except ValueError:
            skipped.append(Skipped(host.name, describe_run(run_order(folder)[1], None), "its manifest is not JSON",
                                   "not-json", run_order(folder)[1]))
            continue
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
            continue
        why = distrust_code(manifest, host, folder)
        if why:
            skipped.append(Skipped(host.name, describe_run(run_order(folder)[1], manifest), why[1], why[0],
                                   run_order(folder)[1]))
            continue
        plain_manifest(remote, host, folder)
        run = run_order(folder)[1]
        for rec in manifest["files"]:
            check_entry(rec, host, inv, run)
            out.setdefault(rec["path"], (rec, f"backups/{folder}/files", run))
    return list(out.values()), skipped


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
