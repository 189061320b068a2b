"""Journal: the backups of one run on one host and their manifest, which records what rollback needs: the mode,
the owner, and whether the copy is private (restored on the host, never shown)."""
from __future__ import annotations

import json
import posixpath
import secrets as pysecrets
import shlex
import stat as statmod
import time

from ..runkey import sign
from .common import TMP_MARK, _IO_ERRORS, FileStat, RemoteError, WriteRecord, is_private, node_state_dir


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
        return f"{self.backups_root}/{self.run_id}"

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
            for (path, st), name in zip(todo, names):
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

    def note_peer(self, name: str) -> None:
        """This run also wrote another host of the cluster (a trust store): its rollback of this run undoes the
        writes there too (the manifest names the host)."""
        with self._io, self.deadline("recording a write on another host"):
            if name not in self.peers:
                self.peers.add(name)
                if self.written:
                    self._write_manifest()

    def _manifest_bytes(self, records: list[WriteRecord]) -> bytes:
        """The manifest, signed with the control machine's run key (rollback tells it from a forged one)."""
        manifest = {"run_id": self.run_id, "host": self.host.name, "time": int(time.time()),
                    "files": [{k: v for k, v in w.__dict__.items() if v is not None or k != "real"}
                              for w in records]}
        if self.peers:
            manifest["peers"] = sorted(self.peers)
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
            if self.written:
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
        """Run ids with backups on this host, oldest first."""
        names = self.listdir(self.backups_root) or []
        return sorted(n for n in names if not n.startswith("."))

    def read_manifest(self, run_id: str) -> dict | None:
        data = self.read(f"{self.backups_root}/{run_id}/manifest.json", cache=False)
        return None if data is None else json.loads(data)

    def prune_backups(self, keep: int) -> None:
        """Keep the newest `keep` backup runs."""
        runs = self.backup_runs()
        for old in runs[:-keep] if keep else runs:
            with self.deadline(f"removing the old backups {old}"):
                self._rmtree(f"{self.backups_root}/{old}")

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
