"""A node's backup runs as rollback reads them: the runs not rolled back yet (newest by the node's
own sequence), their manifests and what they say, the first backups kept under originals/."""
from __future__ import annotations

import json
import time

from ...config import Host, Inventory
from ...remote import SCRIPT_LIMIT, RemoteError, RemoteHost
from ...remote.journal import run_order
from ...remote.runkey import signed
from ...secrets import redact
from ...engine.context import StepError
from .reach import check_entry

MARK = "rolled-back.json"

ORIGINALS = "originals"


MARK = "rolled-back.json"


def run_marked(remote: RemoteHost, folder: str) -> bool:
    """True when the run in this backups folder was rolled back on this host already."""
    return remote.stat(f"{remote.backups_root}/{folder}/{MARK}") is not None


def open_runs(remote: RemoteHost):
    """(folder, manifest) of each backup run on this host that lists a file and is not
    rolled back, newest first by the node's own sequence (a run that wrote nothing is no
    step of the undo stack); read as needed."""
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


def choose_run(tops: dict[str, tuple[str, dict]]) -> str:
    """The run to undo among each host's newest open run (the top of its own undo stack, by the
    node's own sequence). Where hosts' tops differ, those runs touched different hosts last and
    either may go first: the one whose manifest says it is later goes first (a clock only breaks
    that tie, it never orders one node)."""
    def key(item):
        run_id, manifest = item
        t = manifest.get("time") if isinstance(manifest.get("time"), int) else 0
        return (t, run_id)
    candidates = {run_order(folder)[1]: manifest for folder, manifest in tops.values()}
    return max(candidates.items(), key=key)[0]


def first_backups(remote: RemoteHost, host: Host, inv: Inventory) -> list[tuple[dict, str, str, bool]]:
    """(record, folder of its backup under the node's state, the run that took it, signed) of the
    first backup of every path the project touched on this node: the originals kept from pruned
    runs, then the oldest run (by the node's sequence) that lists each other path. Every record
    checked as rollback checks a manifest."""
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
