"""Journal: the backups of one run on one host and their manifest, which records what rollback needs: the mode,
the owner, and whether the copy is private (restored on the host, never shown)."""
from __future__ import annotations

import json
import posixpath
import re
import secrets as pysecrets
import socket
import shlex
import stat as statmod
import time

from ..runkey import sign
from .common import TMP_MARK, _IO_ERRORS, FileStat, RemoteError, WriteRecord, is_private, node_state_dir


#: a run's folder under backups/: the node's own sequence number, then the run id (CONTRACT §11: runs are ordered
#: by what the node counted, never by the clock of the machine that ran fab)
RUN_DIR = re.compile(r"^(\d{6,})-(.+)\Z")


def run_order(name: str) -> tuple[int, str]:
    """(the node's sequence number, the run id) of a backup folder; a folder of an older release (no number)
    sorts before every numbered one."""
    m = RUN_DIR.match(name)
    return (int(m.group(1)), m.group(2)) if m else (-1, name)


class Journal:
    """Backups under the node's state_dir and the run's manifest."""

    # ------------------------------------------------------------ backups
    @property
    def state_dir(self) -> str:
        """Where this node's backups and lock live: nodes/<name> under the host field state_dir (relative = login
        home). The state belongs to the node, not to the login: several nodes on one machine never share it."""
        return node_state_dir(self.host)

    @property
    def backups_root(self) -> str:
        return f"{self.state_dir}/backups"

    @property
    def backup_dir(self) -> str:
        """This run's folder of backups: the node's next sequence number and the run id, numbered at the run's
        first backup on the node (the node lock is held: no other run numbers at the same time)."""
        if self._run_dir is None:
            listed = [n for n in (self.listdir(self.backups_root) or []) if not n.startswith(".")]
            seq = 1 + max((run_order(n)[0] for n in listed), default=0)
            self._run_dir = f"{seq:06d}-{self.run_id}"
        return f"{self.backups_root}/{self._run_dir}"

    def run_dir(self, run_id: str) -> str | None:
        """The folder name of a run on this node (its number differs from node to node), or None."""
        for name in self.backup_runs():
            if name == run_id or run_order(name)[1] == run_id:
                return name
        return None

    def _backup(self, path: str, original: bytes | None, st: FileStat | None, real: str | None = None) -> None:
        if path in self._backed_up:
            return
        name = None
        if original is not None:
            self.mkdir_p(f"{self.backup_dir}/files", 0o700)
            name = f"{len(self._backed_up):04d}-{posixpath.basename(path)}"
            self._put_state(f"{self.backup_dir}/files/{name}", original, fresh=True)
        self._record(path, name, st, real=real)

    def backup_on_host(self, paths: list[str], sudo: bool = False) -> None:
        """Back up files with one `cp -p` command on the host (private keys never cross SFTP); once per run."""
        with self._io, self.deadline("backing up files on the host"):
            todo = [(p, self.stat(p)) for p in dict.fromkeys(paths) if p not in self._backed_up]
            names, copies = [], []
            for i, (path, st) in enumerate(todo):
                name = None if st is None else f"{len(self._backed_up) + i:04d}-{posixpath.basename(path)}"
                if name:
                    copies.append(f"cp -p {shlex.quote(path)} {shlex.quote(f'{self.backup_dir}/files/{name}')}")
                names.append(name)
            if copies:
                self.mkdir_p(f"{self.backup_dir}/files", 0o700)
                self.run(" && ".join(copies), sudo=sudo)
            for (path, st), name in zip(todo, names, strict=False):
                self._record(path, name, st, on_host=True)

    def _entry(self, path: str, name: str | None, st: FileStat | None, on_host: bool = False,
               real: str | None = None) -> WriteRecord:
        """What rollback needs of one backup (or of a file that did not exist): the mode, the owner, whether
        the copy is private (made on the host, or of a file only its owner may read), and where a link the
        operator made at path led when the run wrote through it."""
        mode = statmod.S_IMODE(st.mode) if st else None
        private = on_host or is_private(path, mode)
        return WriteRecord(path, name, name is not None, mode, private if name else False,
                           [st.uid, st.gid] if st else None, real if real and real != path else None)

    def _record(self, path: str, name: str | None, st: FileStat | None, on_host: bool = False,
                real: str | None = None) -> None:
        """Note a backup (or that the file did not exist) in this run's manifest."""
        self._backed_up[path] = name
        self.written.append(self._entry(path, name, st, on_host, real))
        self._write_manifest()

    def keep_sql(self, step: str, data: bytes, via: str | None = None, db: str | None = None) -> None:
        """A database change's undo (tasks/dbundo.py): kept with this run's backups (mode 0600) and named in the
        manifest with the route to run it through (`via`: the host whose route reaches the server)."""
        with self._io, self.deadline("keeping the database undo"):
            name = f"{len(self.sql):04d}-{step}.sql"
            self.mkdir_p(f"{self.backup_dir}/sql", 0o700)
            self._put_state(f"{self.backup_dir}/sql/{name}", data, fresh=True)
            self.sql.append({"name": name, "step": step, "via": via, "db": db})
            self._write_manifest()

    def note_peer(self, name: str) -> None:
        """This run also wrote another host of the cluster (a trust store): its rollback of this run undoes the
        writes there too (the manifest names the host)."""
        with self._io, self.deadline("recording a write on another host"):
            if name not in self.peers:
                self.peers.add(name)
                if self.written:
                    self._write_manifest()

    def _manifest_bytes(self, records: list[WriteRecord]) -> bytes:
        """The manifest, signed with the control machine's run key (rollback tells it from a forged one): what
        the run wrote, and what rollback names it by (its command line, the machine it came from, its time)."""
        manifest = {"run_id": self.run_id, "host": self.host.name, "time": int(time.time()),
                    "seq": run_order(posixpath.basename(self.backup_dir))[0],
                    "command": self.command, "machine": socket.gethostname(),
                    "files": [{k: v for k, v in w.__dict__.items() if v is not None or k != "real"}
                              for w in records]}
        if self.peers:
            manifest["peers"] = sorted(self.peers)
        if self.sql:
            manifest["sql"] = list(self.sql)
        return json.dumps(sign(manifest), indent=1).encode()

    def _write_manifest(self) -> None:
        self.mkdir_p(self.backup_dir, 0o700)
        tmp = f"{self.backup_dir}/.manifest{TMP_MARK}{pysecrets.token_hex(4)}"  # fresh: created with its mode
        self._put_state(tmp, self._manifest_bytes(self.written), f"{self.backup_dir}/manifest.json", fresh=True)

    def forget_backup(self, path: str) -> None:
        """A step put a file back as it was (nginx refused the new one): no backup run claims that write."""
        with self._io, self.deadline(f"forgetting the backup of {path}"):
            self._forget_backup(path)

    def _forget_backup(self, path: str) -> None:
        """Undo the backup of a write that failed with the target untouched; a run that wrote nothing keeps no
        backup run (rollback would take it for the newest). Best effort: a lost connection leaves it."""
        name = self._backed_up.pop(path, None)
        self.written = [w for w in self.written if w.path != path]
        try:
            if name:
                self.counters.sftp_ops += 1
                self.sftp.remove(f"{self.backup_dir}/files/{name}")
            if self.written or self.sql:
                self._write_manifest()
            else:
                self._made = {d for d in self._made if not d.startswith(self.backups_root)}
                self._rmtree(self.backup_dir)
                self.counters.sftp_ops += 1
                self.sftp.rmdir(self.backups_root)  # only when empty: the first backup run made it
        except (RemoteError, *_IO_ERRORS):
            pass

    def _put_state(self, path: str, data: bytes, rename_to: str | None = None, fresh: bool = False) -> None:
        """A private (0600) file under state_dir, optionally renamed into place; a RemoteError naming it."""
        try:
            self._put(path, data, 0o600, fresh)
            if rename_to:
                self.counters.sftp_ops += 1
                self.sftp.posix_rename(path, rename_to)
        except _IO_ERRORS as e:
            raise RemoteError(f"{rename_to or path}: cannot write ({self._cause(e, path)})") from None

    def backup_runs(self) -> list[str]:
        """The folders of the runs with backups on this host, oldest first by the node's own sequence."""
        names = self.listdir(self.backups_root) or []
        return sorted((n for n in names if not n.startswith(".")), key=run_order)

    def read_manifest(self, name: str) -> dict | None:
        """The manifest of the run in folder `name` of backups/, None when there is none."""
        data = self.read(f"{self.backups_root}/{name}/manifest.json", cache=False)
        return None if data is None else json.loads(data)

    def prune_backups(self, keep: int) -> None:
        """Keep the newest `keep` backup runs by the node's sequence (a run numbered later is never dropped for
        one numbered earlier, whatever the clocks said)."""
        runs = self.backup_runs()
        old_runs = runs[:-keep] if keep else runs
        if old_runs:
            self.keep_first_backups(old_runs)
        for old in old_runs:
            with self.deadline(f"removing the old backups {old}"):
                self._rmtree(f"{self.backups_root}/{old}")

    @property
    def originals_dir(self) -> str:
        return f"{self.state_dir}/originals"

    def keep_first_backups(self, folders: list[str]) -> None:
        """Before runs are pruned: every path they list that originals/index.json does not hold yet keeps its
        backup there (moved, not copied), with its record, the run and whether that manifest was this machine's.
        The first backup of every file outlives keep_backups: `rollback --all` brings the shipped state back.
        The folders come oldest first, so the first run that touched a path is the one kept."""
        from ..runkey import sign, signed
        idx_path = f"{self.originals_dir}/index.json"
        try:
            raw = self.read(idx_path, cache=False)
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
                    self.mkdir_p(f"{self.originals_dir}/files", 0o700)
                    try:
                        self.counters.sftp_ops += 1
                        self.sftp.posix_rename(f"{self.backups_root}/{folder}/files/{name}",
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

    def _rmtree(self, path: str) -> None:
        self.counters.sftp_ops += 1
        try:
            entries = self.sftp.listdir_attr(path)  # names and modes in one request
        except FileNotFoundError:
            return
        except _IO_ERRORS as e:
            raise RemoteError(f"{path}: {self._cause(e)}") from None
        for a in entries:
            p = f"{path}/{a.filename}"
            if statmod.S_ISDIR(a.st_mode or 0):
                self._rmtree(p)
            else:
                self.counters.sftp_ops += 1
                self.sftp.remove(p)
        self.counters.sftp_ops += 1
        self.sftp.rmdir(path)
