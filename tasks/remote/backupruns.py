"""The backup runs kept on a node: where they live (nodes/<name> under the host's state_dir), each run's
folder numbered by the node's own sequence (CONTRACT §11: never by the clock of the machine that ran fab),
listing them and reading their manifests, and pruning the oldest with the first backup of every file kept in
originals/ (what `rollback --all` puts back). journal.py adds this run's backups and the writes that keep them."""
from __future__ import annotations

import json
import posixpath
import re
import secrets as pysecrets

from ..rules import node_state_dir
from .common import _IO_ERRORS, TMP_MARK, RemoteError
from .files import Files
from .runkey import sign, signed
from .sftpio import SftpIO
from .transport import Transport

#: a run's folder under backups/: the node's own sequence number, then the run id (CONTRACT §11:
#: runs are ordered by what the node counted, never by the clock of the machine that ran fab)
RUN_DIR = re.compile(r"^(\d{6,})-(.+)\Z")


def run_order(name: str) -> tuple[int, str]:
    """(the node's sequence number, the run id) of a backup folder; a folder of an older release (no
    number) sorts before every numbered one."""
    m = RUN_DIR.match(name)
    return (int(m.group(1)), m.group(2)) if m else (-1, name)


class BackupRuns:
    """The node's backup runs under its state_dir: listed, read, pruned; Journal (journal.py) adds this run's."""

    def __init__(self, transport: Transport, sftpio: SftpIO, files: Files):
        self.t = transport
        self.io = sftpio
        self.files = files
        self.host = transport.host
        self._runs: list[str] | None = None  # the node's backup runs, this one's included, listed at its numbering

    @property
    def state_dir(self) -> str:
        """Where this node's backups and lock live: nodes/<name> under the host field state_dir
        (relative = login home). The state belongs to the node, not to the login: several nodes on
        one machine never share it."""
        return node_state_dir(self.host)

    @property
    def backups_root(self) -> str:
        return f"{self.state_dir}/backups"

    def run_dir(self, run_id: str) -> str | None:
        """The folder name of a run on this node (its number differs from node to node), or None."""
        for name in self.backup_runs():
            if name == run_id or run_order(name)[1] == run_id:
                return name
        return None

    def _put_state(self, path: str, data: bytes, rename_to: str | None = None, fresh: bool = False) -> None:
        """A private (0600) file under state_dir, optionally renamed into place; a RemoteError naming it."""
        try:
            self.io.put(path, data, 0o600, fresh)
            if rename_to:
                self.io.rename(path, rename_to)
        except _IO_ERRORS as e:
            raise RemoteError(f"{rename_to or path}: cannot write ({self.t.cause(e, path)})") from None

    def backup_runs(self) -> list[str]:
        """The folders of the runs with backups on this host, oldest first by the node's own sequence."""
        names = self.files.listdir(self.backups_root) or []
        return sorted((n for n in names if not n.startswith(".")), key=run_order)

    def read_manifest(self, name: str) -> dict | None:
        """The manifest of the run in folder `name` of backups/, None when there is none."""
        data = self.files.read(f"{self.backups_root}/{name}/manifest.json", cache=False)
        return None if data is None else json.loads(data)

    def prune_backups(self, keep: int) -> None:
        """Keep the newest `keep` backup runs by the node's sequence (a run numbered later is never
        dropped for one numbered earlier, whatever the clocks said)."""
        # the listing taken when this run numbered its folder answers while the node lock is held (no other
        # run adds one); a run that kept no backup here lists them
        runs = self._runs if self._runs is not None else self.backup_runs()
        old_runs = runs[:-keep] if keep else runs
        if old_runs:
            self.keep_first_backups(old_runs)
        for old in old_runs:
            with self.t.deadline(f"removing the old backups {old}"):
                self.io.rmtree(f"{self.backups_root}/{old}")

    @property
    def originals_dir(self) -> str:
        return f"{self.state_dir}/originals"

    def keep_first_backups(self, folders: list[str]) -> None:
        """Before runs are pruned: every path they list that originals/index.json does not hold yet
        keeps its backup there (moved, not copied), with its record, the run and whether that
        manifest was this machine's. The first backup of every file outlives keep_backups: `rollback
        --all` brings the shipped state back. The folders come oldest first, so the first run that
        touched a path is the one kept."""
        idx_path = f"{self.originals_dir}/index.json"
        try:
            raw = self.files.read(idx_path, cache=False)
            index = json.loads(raw) if raw else {"files": []}
            if not signed(index):  # never re-sign what another machine (or a node) wrote as this machine's
                index["files"] = [{**r, "trusted": False} for r in index.get("files", []) if isinstance(r, dict)]
        except (RemoteError, ValueError):
            return  # unreadable: prune nothing of the first backups' runs rather than lose them
        known = {r.get("path") for r in index["files"]}
        moved = False
        for folder in folders:
            try:
                manifest = self.read_manifest(folder)
            except (RemoteError, ValueError):
                continue
            files = manifest.get("files") if isinstance(manifest, dict) else None
            if not isinstance(files, list):
                continue
            trusted = signed(manifest)
            for rec in files:
                if not isinstance(rec, dict) or not isinstance(rec.get("path"), str) or rec["path"] in known:
                    continue
                rec = {**rec, "run": run_order(folder)[1], "trusted": trusted}
                name = rec.get("backup")
                if isinstance(name, str) and name and "/" not in name and not name.startswith("."):
                    kept = f"{len(index['files']):05d}-{posixpath.basename(rec['path'])}"
                    self.io.mkdir_p(f"{self.originals_dir}/files", 0o700)
                    try:
                        self.io.rename(f"{self.backups_root}/{folder}/files/{name}",
                                       f"{self.originals_dir}/files/{kept}")
                    except _IO_ERRORS:
                        continue
                    rec["backup"] = kept
                index["files"].append(rec)
                known.add(rec["path"])
                moved = True
        if moved:
            tmp = f"{self.originals_dir}/.index{TMP_MARK}{pysecrets.token_hex(4)}"
            self._put_state(tmp, json.dumps(sign(index), indent=1).encode(), idx_path, fresh=True)
