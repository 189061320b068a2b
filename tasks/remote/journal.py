"""Journal: the backups of one run on one host and their manifest, which records what rollback needs
(the mode, the owner, whether the copy is private: restored on the host, never shown), and the
writes and removals that back a file up before they change it (over files.py's atomic replace).
The runs a node keeps (listing, manifests, pruning, originals/) are backupruns.py."""
from __future__ import annotations

import hashlib
import json
import posixpath
import re
import secrets as pysecrets
import socket
import shlex
import stat as statmod
import time

from ..secrets import redact
from .runkey import sign
from .sftpext import SFTPError, put_many
from .common import CONFIG_LIMIT, TMP_MARK, UPLOAD_RATE, _IO_ERRORS, FileStat, RemoteError, WriteRecord, is_private
from .backupruns import BackupRuns, run_order
from .files import Files
from .replace import replace
from .sftpio import SftpIO, beside
from .transport import Transport


#: the largest file written the fast way (a configuration file; a jar goes the plain, streamed way)
FAST_WRITE = 1 << 20


#: bytes per second a copy on the host is granted on top of op_timeout (a backup of a large archive)
HOST_COPY_RATE = 4 << 20


class Journal(BackupRuns):
    """This run's backups under the node's state_dir and its manifest; the writes that keep them."""

    def __init__(self, transport: Transport, sftpio: SftpIO, files: Files, run_id: str, command: str = ""):
        super().__init__(transport, sftpio, files)
        self.run_id = run_id
        self.command = command  # the command line of the run (its manifests record it)
        self.written: list[WriteRecord] = []
        self.peers: set[str] = set()  # other hosts this run wrote on this host's behalf (rollback's reach)
        self.sql: list[dict] = []  # database undo files of this run (keep_sql)
        self._backed_up: dict[str, str | None] = {}
        self._run_dir: str | None = None  # this run's backup folder on the node (numbered at its first backup)

    # ------------------------------------------------------------ writes that keep a backup
    def write(self, path: str, data: bytes, mode: int | None = None, in_place_fallback: bool = False,
              backup: bool = True) -> None:
        """Atomically replace (or create) path with data, keeping owner and mode; back
        up the original first (backup=False: rollback restoring a backup, or
        bookkeeping under state_dir)."""
        t, files = self.t, self.files
        with t.io, t.deadline(f"writing {path}", len(data) / UPLOAD_RATE):
            known = files.cache.get(path)  # the bytes the plan read: the backup needs no second read
            files.changed(path)
            st: FileStat | None
            if known is not None and known.plain and known.stat is not None:
                target, st = path, known.stat  # the read-ahead's lstat: a plain file, no link to follow
            else:
                target, st = files.target(path)  # a symlink stays one: the file it points to is replaced
            if st is not None and st.is_dir:
                raise RemoteError(f"{path}: is a directory, expected a file")
            original = None
            fresh = backup and path not in self._backed_up
            large = fresh and st is not None and st.is_file and st.size > CONFIG_LIMIT and \
                (known is None or known.data is None)
            if st is not None and not large:
                original = known.data if known is not None and known.data is not None else files.read(target)
            if fresh and original is not None and st is not None and len(data) <= FAST_WRITE and \
                    self._fast_write(path, target, data, mode, st, original):
                return
            if large and st is not None:
                self._backup_copy(path, target, st)
            elif backup:
                self._backup(path, original, st, real=target)
            try:
                files.replace(target, data, mode, st, in_place_fallback)
                files.remember(data, target, path)
            except RemoteError as e:
                if fresh and not getattr(e, "touched", False):
                    self._forget_backup(path)  # the target is as it was: no backup run claims a write
                raise

    def _fast_write(self, path: str, target: str, data: bytes, mode: int | None, st: FileStat,
                    original: bytes) -> bool:
        """The usual first write of a file in a run, in seven round trips instead of eleven: the
        backup copy and the manifest that records it are written together (put_many) and the
        manifest renamed into place, then the temp file (created with its mode) is written and
        renamed over the target. The journal stays ahead of the change: the manifest lists the file
        before any temp file appears beside it (a dead run's temp files are found through its
        manifest), and a crash leaves the target old with its backup recorded, or new. False when
        anything is out of the ordinary (a mode the server's umask would cut, a refusal): what the
        attempt made is removed and the plain way takes over, with its messages and fallbacks
        (sudo, a file written in place)."""
        t, io = self.t, self.io
        want = mode if mode is not None else statmod.S_IMODE(st.mode)
        if want & io.umask:
            return False
        io.mkdir_p(f"{self.backup_dir}/files", 0o700)
        name = f"{len(self._backed_up):04d}-{posixpath.basename(path)}"
        saved = f"{self.backup_dir}/files/{name}"
        mtmp = f"{self.backup_dir}/.manifest{TMP_MARK}{pysecrets.token_hex(4)}"
        record = self._entry(path, name, st, real=target, sha256=hashlib.sha256(original).hexdigest())
        manifest = self._manifest_bytes(self.written + [record])
        t.counters.sftp_ops += 3
        try:
            put_many(t.sftp, [(saved, original, 0o600), (mtmp, manifest, 0o600)])
            t.sftp.posix_rename(mtmp, f"{self.backup_dir}/manifest.json")
        except (*_IO_ERRORS, SFTPError):
            for p in (saved, mtmp):
                io.cleanup(p)
            return False
        t.counters.bytes_written += len(original) + len(manifest)
        self._backed_up[path] = name
        self.written.append(record)
        tmp = beside(target)
        try:
            io.put(tmp, data, want, fresh=True, like=st, settle=True)
            io.rename(tmp, target)
        except (*_IO_ERRORS, SFTPError):  # e.g. a full disk, a bind-mounted hosts file: the plain way says or copes
            io.cleanup(tmp)
            self._forget_backup(path)
            return False
        self.files.remember(data, target, path)
        return True

    def remove(self, path: str, backup: bool = True) -> None:
        """Remove a file (after backing it up, unless backup=False)."""
        t, files = self.t, self.files
        with t.io, t.deadline(f"removing {path}"):
            files.changed(path)
            st = files.stat(path)
            if st is None:
                return
            fresh = backup and path not in self._backed_up
            if fresh and st.is_file and st.size > CONFIG_LIMIT:
                self._backup_copy(path, files.target(path)[0], st)
            elif backup:
                self._backup(path, files.read(path), st)
            try:
                files.unlink(path)
            except RemoteError:
                if fresh:
                    self._forget_backup(path)  # the file is still there: no backup run claims a removal
                raise

    # ------------------------------------------------------------ this run's backups
    @property
    def backup_dir(self) -> str:
        """This run's folder of backups: the node's next sequence number and the run id,
        numbered at the run's first backup on the node (the node lock is held: no other
        run numbers at the same time)."""
        if self._run_dir is None:
            found = self.files.listdir(self.backups_root)
            listed = [n for n in (found or []) if not n.startswith(".")]
            seq = 1 + max((run_order(n)[0] for n in listed), default=0)
            self._run_dir = f"{seq:06d}-{self.run_id}"
            self._runs = sorted(listed + [self._run_dir], key=run_order)
            run = f"{self.backups_root}/{self._run_dir}"  # a fresh name: its folders are made without a stat
            if found is not None:
                self.io.found(self.backups_root)
            self.io.absent(*([self.backups_root] if found is None else []), run, f"{run}/files", f"{run}/sql")
        return f"{self.backups_root}/{self._run_dir}"

    def _backup(self, path: str, original: bytes | None, st: FileStat | None, real: str | None = None) -> None:
        if path in self._backed_up:
            return
        name = None
        if original is not None:
            self.io.mkdir_p(f"{self.backup_dir}/files", 0o700)
            name = f"{len(self._backed_up):04d}-{posixpath.basename(path)}"
            self._put_state(f"{self.backup_dir}/files/{name}", original, fresh=True)
        self._record(path, name, st, real=real,
                     sha256=hashlib.sha256(original).hexdigest() if original is not None else None)

    def _backup_copy(self, path: str, source: str, st: FileStat) -> None:
        """The backup of a file too large to read whole (over CONFIG_LIMIT: an application archive up
        to 256 MiB): copied on the host by the shell replace (tasks/remote/replace.py: from `source`,
        the file itself, never through a link at its last name, into a fresh private folder, 0600,
        renamed into place), its sha256 taken there; recorded as made on the host, so that rollback
        copies it back on the host too. Its bytes never cross the connection nor sit in memory."""
        name = f"{len(self._backed_up):04d}-{posixpath.basename(path)}"
        folder = f"{self.backup_dir}/files"
        self.io.mkdir_p(folder, 0o700)
        real = self.files.realpath(folder)
        script = replace(source, f"{real}/{name}", 0o600, real_dir=real, show_sha256=True)
        code, out, err = self.t.run(f"sh -c {shlex.quote(script)}", check=False, extra_time=st.size / HOST_COPY_RATE)
        digest = next((line.split()[0] for line in out.splitlines() if line.endswith("  new")), None)
        if code != 0 or digest is None or not re.fullmatch(r"[0-9a-f]{64}", digest):
            said = (err.strip().splitlines() or [f"exit {code}"])[-1]
            raise RemoteError(f"{path}: cannot be backed up on the host ({redact(said)}); not changed")
        self._record(path, name, st, on_host=True, real=source, sha256=digest)

    def backup_on_host(self, paths: list[str], sudo: bool = False) -> None:
        """Back up files with one `cp -p` command on the host (private keys never cross SFTP); once per run.
        Each copy then loses every permission for group and others (`cp -p` kept the source's 0644: a
        backup under state_dir is private whatever the source's mode); the manifest records the
        source's own mode, which rollback restores."""
        with self.t.io, self.t.deadline("backing up files on the host"):
            todo = [(p, self.files.stat(p)) for p in dict.fromkeys(paths) if p not in self._backed_up]
            names, copies = [], []
            for i, (path, st) in enumerate(todo):
                name = None if st is None else f"{len(self._backed_up) + i:04d}-{posixpath.basename(path)}"
                if name:
                    src, dest = shlex.quote(path), shlex.quote(f"{self.backup_dir}/files/{name}")
                    refuse = shlex.quote(path + ": a symbolic link; not backed up")
                    copies.append(f"{{ [ ! -L {src} ] || {{ echo {refuse} >&2; exit 3; }}; }} && "
                                  f"cp -p -- {src} {dest} && chmod go= -- {dest} && sha256sum -- {dest}")
                names.append(name)
            digests: dict[str, str] = {}
            if copies:
                self.io.mkdir_p(f"{self.backup_dir}/files", 0o700)
                out = self.t.run(" && ".join(copies), sudo=sudo)[1]
                for line in out.splitlines():
                    digest, _, where = line.partition("  ")
                    digests[posixpath.basename(where)] = digest.strip()
            for (path, st), name in zip(todo, names, strict=False):
                self._record(path, name, st, on_host=True, sha256=digests.get(name) if name else None)

    def _entry(self, path: str, name: str | None, st: FileStat | None, on_host: bool = False,
               real: str | None = None, sha256: str | None = None) -> WriteRecord:
        """What rollback needs of one backup (or of a file that did not exist): the mode, the owner,
        whether the copy is private (made on the host, or of a file only its owner may read), and
        where a link the operator made at path led when the run wrote through it."""
        mode = statmod.S_IMODE(st.mode) if st else None
        private = on_host or is_private(path, mode)
        return WriteRecord(path, name, name is not None, mode, private if name else False,
                           [st.uid, st.gid] if st else None, real if real and real != path else None,
                           sha256 if name else None)

    def _record(self, path: str, name: str | None, st: FileStat | None, on_host: bool = False,
                real: str | None = None, sha256: str | None = None) -> None:
        """Note a backup (or that the file did not exist) in this run's manifest."""
        self._backed_up[path] = name
        self.written.append(self._entry(path, name, st, on_host, real, sha256))
        self._write_manifest()

    def keep_sql(self, step: str, data: bytes, via: str | None = None, db: str | None = None) -> None:
        """A database change's undo (tasks/remote/dbundo.py): kept with this run's backups
        (mode 0600) and named in the manifest with the route to run it through (`via`: the host
        whose route reaches the server)."""
        with self.t.io, self.t.deadline("keeping the database undo"):
            name = f"{len(self.sql):04d}-{step}.sql"
            self.io.mkdir_p(f"{self.backup_dir}/sql", 0o700)
            self._put_state(f"{self.backup_dir}/sql/{name}", data, fresh=True)
            self.sql.append({"name": name, "step": step, "via": via, "db": db,
                             "sha256": hashlib.sha256(data).hexdigest()})
            self._write_manifest()

    def note_peer(self, name: str) -> None:
        """This run also wrote another host of the cluster (a trust store): its rollback of this run
        undoes the writes there too (the manifest names the host)."""
        with self.t.io, self.t.deadline("recording a write on another host"):
            if name not in self.peers:
                self.peers.add(name)
                if self.written:
                    self._write_manifest()

    def _manifest_bytes(self, records: list[WriteRecord]) -> bytes:
        """The manifest, signed with the control machine's run key (rollback tells it from a
        forged one): what the run wrote, and what rollback names it by (its command line, the
        machine it came from, its time)."""
        manifest = {"run_id": self.run_id, "host": self.host.name, "time": int(time.time()),
                    "seq": run_order(posixpath.basename(self.backup_dir))[0],
                    "command": self.command, "machine": socket.gethostname(),
                    "files": [{k: v for k, v in w.__dict__.items() if v is not None or k not in ("real", "sha256")}
                              for w in records]}
        if self.peers:
            manifest["peers"] = sorted(self.peers)
        if self.sql:
            manifest["sql"] = list(self.sql)
        return json.dumps(sign(manifest), indent=1).encode()

    def _write_manifest(self) -> None:
        self.io.mkdir_p(self.backup_dir, 0o700)
        tmp = f"{self.backup_dir}/.manifest{TMP_MARK}{pysecrets.token_hex(4)}"  # fresh: created with its mode
        self._put_state(tmp, self._manifest_bytes(self.written), f"{self.backup_dir}/manifest.json", fresh=True)

    def forget_backup(self, path: str) -> None:
        """A step put a file back as it was (nginx refused the new one): no backup run claims that write."""
        with self.t.io, self.t.deadline(f"forgetting the backup of {path}"):
            self._forget_backup(path)

    def _forget_backup(self, path: str) -> None:
        """Undo the backup of a write that failed with the target untouched; a run that
        wrote nothing keeps no backup run (rollback would take it for the newest). Best
        effort: a lost connection leaves it."""
        name = self._backed_up.pop(path, None)
        self.written = [w for w in self.written if w.path != path]
        try:
            if name:
                self.t.counters.sftp_ops += 1
                self.t.sftp.remove(f"{self.backup_dir}/files/{name}")
            if self.written or self.sql:
                self._write_manifest()
            else:
                self._runs = None  # this run's folder goes: prune lists the node's runs again
                self.io.forget_made(self.backups_root)
                self.io.rmtree(self.backup_dir)
                self.t.counters.sftp_ops += 1
                self.t.sftp.rmdir(self.backups_root)  # only when empty: the first backup run made it
        except (RemoteError, *_IO_ERRORS):
            pass
