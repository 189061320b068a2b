"""Files: reads (the run's read cache, pipelined read-ahead, size caps), atomic writes (a temp file beside the
target with the wanted mode before its first byte, the owner, the rename), removals."""
from __future__ import annotations

import errno
import hashlib
import posixpath
import secrets as pysecrets
import shlex
import stat as statmod

from ..secrets import redact
from ..sftpext import SFTPError, create, finish, put_many, read_many, statvfs
from .common import CONFIG_LIMIT, FileStat, JAR_LIMIT, RemoteError, TMP_MARK, UPLOAD_RATE, _IO_ERRORS


#: the largest file written the fast way (a configuration file; a jar goes the plain, streamed way)
FAST_WRITE = 1 << 20


class Files:
    """Reads and atomic writes over the host's SFTP session."""

    # ------------------------------------------------------------ reads
    def stat(self, path: str, follow: bool = True) -> FileStat | None:
        """Stat a remote path (following links, unless follow=False); None when it does not exist."""
        with self._io, self.deadline(f"checking {path}"):
            self.counters.sftp_ops += 1
            try:
                a = self.sftp.stat(path) if follow else self.sftp.lstat(path)
            except FileNotFoundError:
                return None
            except PermissionError:
                raise RemoteError(f"{path}: permission denied") from None
            except _IO_ERRORS as e:
                raise RemoteError(f"{path}: {self._cause(e)}") from None
        return FileStat(a.st_mode or 0, a.st_uid or 0, a.st_gid or 0, a.st_size or 0, a.st_mtime or 0)

    def _regular(self, path: str, limit: int, kind: str):
        """The SFTP attributes of a regular file within its size cap (a RemoteError otherwise); stat before any
        open: opening a FIFO would block the SFTP server for good. Remembered for `known_stat`."""
        a = self.sftp.stat(path)
        if statmod.S_ISDIR(a.st_mode or 0):
            raise RemoteError(f"{path}: is a directory, expected a file")
        if not statmod.S_ISREG(a.st_mode or 0):
            raise RemoteError(f"{path}: is not a regular file (a FIFO, socket or device); refused")
        if (a.st_size or 0) > limit:
            raise self._too_big(path, a.st_size, limit, kind)
        self._seen[path] = FileStat(a.st_mode or 0, a.st_uid or 0, a.st_gid or 0, a.st_size or 0, a.st_mtime or 0)
        return a

    def known_stat(self, path: str) -> FileStat | None:
        """The stat the last read of path in this run took (no second round trip), else a fresh one."""
        hit = self.cache.get(path)
        if hit is not None and hit.stat is not None:
            return hit.stat
        return self._seen.get(path) or self.stat(path)

    def _changed(self, *paths: str) -> None:
        """These files change: no read of this run answers for them any more."""
        for p in paths:
            self._seen.pop(p, None)
        self.cache.forget(*paths)

    def read(self, path: str, limit: int = CONFIG_LIMIT, kind: str = "a configuration file",
             cache: bool = True) -> bytes | None:
        """The file's bytes, or None when it does not exist; a directory, FIFO or device is refused, and so is a
        file over `limit` bytes (the most a file of its `kind` may sensibly hold): never read past the limit.
        A file this run read already and has not changed since is not read again (cache=False: state files,
        which another run may change)."""
        hit = self.cache.get(path) if cache else None
        if hit is not None:
            if hit.data is not None and len(hit.data) > limit:
                raise self._too_big(path, len(hit.data), limit, kind)
            return hit.data
        gen = self.cache.generation()
        data = self._read(path, limit, kind)
        if cache:
            self.cache.put(path, data, self._seen.get(path) if data is not None else None, gen)
        return data

    def prefetch(self, paths: list[str]) -> None:
        """Read these files (those this run has not read yet) with their SFTP requests pipelined: four round trips
        for all of them. Best effort: whatever is not a plain readable file is left to `read`, which says why."""
        todo = [p for p in dict.fromkeys(paths) if not self.cache.has(p)]
        if not todo:
            return
        with self._io, self.deadline(f"reading {len(todo)} files"):
            gen = self.cache.generation()
            try:
                got = read_many(self.sftp, todo, CONFIG_LIMIT)
            except (*_IO_ERRORS, SFTPError):
                return
            self.counters.sftp_ops += 4
            for p, (a, data) in got.items():
                st = None if a is None else FileStat(a.st_mode or 0, a.st_uid or 0, a.st_gid or 0, a.st_size or 0,
                                                     a.st_mtime or 0)
                if st is not None:
                    self._seen[p] = st
                    self.counters.bytes_read += len(data)
                self.cache.put(p, data, st, gen, plain=st is not None)

    def _read(self, path: str, limit: int, kind: str) -> bytes | None:
        with self._io, self.deadline(f"reading {path}"):
            self.counters.sftp_ops += 1
            try:
                a = self._regular(path, limit, kind)  # it also sizes the prefetch
                with self.sftp.open(path, "rb") as f:
                    f.prefetch(a.st_size or 0)
                    data = f.read(limit + 1)  # a file that grew since the stat stops here too
                if len(data) > limit:
                    raise self._too_big(path, len(data), limit, kind, "at least ")
            except FileNotFoundError:
                return None
            except PermissionError:
                if self.can_sudo:
                    return self._sudo_read(path, limit)
                raise RemoteError(f"{path}: permission denied (set SUDO_PASSWORD or sudo = true)") from None
            except _IO_ERRORS as e:
                st = self.stat(path)
                if st is not None and st.is_dir:
                    raise RemoteError(f"{path}: is a directory, expected a file") from None
                raise RemoteError(f"{path}: cannot read: {self._cause(e)}") from None
        self.counters.bytes_read += len(data)
        return data

    def read_range(self, path: str, offset: int, length: int) -> tuple[bytes, int]:
        """`length` bytes of a remote file from `offset` (negative: from the end), and the file's size; never more
        (a jar's zip directory is read without reading the jar)."""
        with self._io, self.deadline(f"reading part of {path}"):
            self.counters.sftp_ops += 1
            try:
                size = self._regular(path, 1 << 62, "a file").st_size or 0  # no cap: only `length` bytes are read
                start = max(0, size + offset) if offset < 0 else min(offset, size)
                with self.sftp.open(path, "rb") as f:
                    f.seek(start)
                    data = f.read(min(length, max(0, size - start)))
            except FileNotFoundError:
                raise RemoteError(f"{path}: does not exist") from None
            except _IO_ERRORS as e:
                raise RemoteError(f"{path}: cannot read: {self._cause(e)}") from None
        self.counters.bytes_read += len(data)
        return data, size

    @staticmethod
    def _too_big(path: str, size: int, limit: int, kind: str, least: str = "") -> RemoteError:
        return RemoteError(f"{path}: {least}{size} bytes, more than {kind} may hold ({limit} bytes); refused, "
                           f"not read (check the file by hand)")

    def listdir(self, path: str) -> list[str] | None:
        """Names in a remote directory, or None when it does not exist."""
        with self._io, self.deadline(f"listing {path}"):
            self.counters.sftp_ops += 1
            try:
                return self.sftp.listdir(path)
            except FileNotFoundError:
                return None
            except _IO_ERRORS as e:
                raise RemoteError(f"{path}: {self._cause(e)}") from None

    def sha256(self, path: str, limit: int = JAR_LIMIT) -> str | None:
        """sha256 of a remote file, streamed over SFTP (never whole in memory), or None when absent."""
        with self._io, self.deadline(f"hashing {path}"):
            self.counters.sftp_ops += 1
            try:
                a = self._regular(path, limit, "a jar")
                h, n = hashlib.sha256(), 0
                with self.sftp.open(path, "rb") as f:
                    f.prefetch(a.st_size or 0)
                    while n <= limit:
                        with self.watchdog.doing(f"hashing {path}"):  # each MiB that arrives is progress
                            chunk = f.read(1 << 20)
                        if not chunk:
                            break
                        h.update(chunk)
                        n += len(chunk)
                self.counters.bytes_read += n
                if n > limit:
                    raise self._too_big(path, n, limit, "a jar", "at least ")
                return h.hexdigest()
            except FileNotFoundError:
                return None
            except PermissionError:
                if self.can_sudo:
                    return hashlib.sha256(self._sudo_read(path, limit)).hexdigest()
                raise RemoteError(f"{path}: permission denied (set SUDO_PASSWORD or sudo = true)") from None
            except _IO_ERRORS as e:
                raise RemoteError(f"{path}: cannot read: {self._cause(e)}") from None

    # ------------------------------------------------------------ writes
    def write(self, path: str, data: bytes, mode: int | None = None, in_place_fallback: bool = False,
              backup: bool = True) -> None:
        """Atomically replace (or create) path with data, keeping owner and mode; back up the original first
        (backup=False: rollback restoring a backup, or bookkeeping under state_dir)."""
        with self._io, self.deadline(f"writing {path}", len(data) / UPLOAD_RATE):
            known = self.cache.get(path)  # the bytes the plan read: the backup needs no second read
            self._changed(path)
            if known is not None and known.plain and known.stat is not None:
                target, st = path, known.stat  # the read-ahead's lstat: a plain file, no link to follow
            else:
                target, st = self._target(path)  # a symlink stays one: the file it points to is replaced
            if st is not None and st.is_dir:
                raise RemoteError(f"{path}: is a directory, expected a file")
            original = None
            if st is not None:
                original = known.data if known is not None and known.data is not None else self.read(target)
            fresh = backup and path not in self._backed_up
            if fresh and original is not None and len(data) <= FAST_WRITE and \
                    self._fast_write(path, target, data, mode, st, original):
                return
            if backup:
                self._backup(path, original, st, real=target)
            try:
                self._replace(target, data, mode, st, in_place_fallback)
                self._changed(path, target)
                gen = self.cache.generation()
                for p in dict.fromkeys((target, path)):  # what the file holds now: the next step need not read it
                    self.cache.put(p, data, None, gen)
            except RemoteError as e:
                if fresh and not getattr(e, "touched", False):
                    self._forget_backup(path)  # the target is as it was: no backup run claims a write
                raise

    def _fast_write(self, path: str, target: str, data: bytes, mode: int | None, st: FileStat,
                    original: bytes) -> bool:
        """The usual first write of a file in a run, in seven round trips instead of eleven: the backup copy and the
        manifest that records it are written together (put_many) and the manifest renamed into place, then the temp
        file (created with its mode) is written and renamed over the target. The journal stays ahead of the change:
        the manifest lists the file before any temp file appears beside it (a dead run's temp files are found
        through its manifest), and a crash leaves the target old with its backup recorded, or new. False when
        anything is out of the ordinary (a mode the server's umask would cut, a refusal): what the attempt made is
        removed and the plain way takes over, with its messages and fallbacks (sudo, a file written in place)."""
        want = mode if mode is not None else statmod.S_IMODE(st.mode)
        if want & self._umask:
            return False
        self.mkdir_p(f"{self.backup_dir}/files", 0o700)
        name = f"{len(self._backed_up):04d}-{posixpath.basename(path)}"
        saved = f"{self.backup_dir}/files/{name}"
        mtmp = f"{self.backup_dir}/.manifest{TMP_MARK}{pysecrets.token_hex(4)}"
        record = self._entry(path, name, st, real=target)
        manifest = self._manifest_bytes(self.written + [record])
        self.counters.sftp_ops += 3
        try:
            put_many(self.sftp, [(saved, original, 0o600), (mtmp, manifest, 0o600)])
            self.sftp.posix_rename(mtmp, f"{self.backup_dir}/manifest.json")
        except (*_IO_ERRORS, SFTPError):
            for p in (saved, mtmp):
                self._cleanup(p)
            return False
        self.counters.bytes_written += len(original) + len(manifest)
        self._backed_up[path] = name
        self.written.append(record)
        tmp = self._beside(target)
        try:
            self._put(tmp, data, want, fresh=True)
            self._settle(tmp, want, st)
            self.counters.sftp_ops += 1
            self.sftp.posix_rename(tmp, target)
        except (*_IO_ERRORS, SFTPError):  # e.g. a full disk, a bind-mounted hosts file: the plain way says or copes
            self._cleanup(tmp)
            self._forget_backup(path)
            return False
        self._changed(path, target)
        gen = self.cache.generation()
        for p in dict.fromkeys((target, path)):
            self.cache.put(p, data, None, gen)
        return True

    def _replace(self, path: str, data: bytes, mode: int | None, st: FileStat | None,
                 in_place_fallback: bool) -> None:
        """The write itself: temp file, owner and mode, rename (or sudo, or in place where rename is refused).
        A RemoteError leaves the target untouched, unless it carries touched=True (a failed in-place write,
        or a chmod refused after the rename)."""
        tmp = self._beside(path)
        want_mode = mode if mode is not None else (statmod.S_IMODE(st.mode) if st else 0o644)
        in_place = False
        try:
            self._put(tmp, data, want_mode, fresh=True)
            self._settle(tmp, want_mode, st)
            self.counters.sftp_ops += 1
            self.sftp.posix_rename(tmp, path)
        except PermissionError:
            self._cleanup(tmp)
            if self.can_sudo:
                self._sudo_write(path, data, want_mode, st)
            elif self.host.user == "root":
                raise RemoteError(f"{path}: permission denied even for root (an immutable file, "
                                  f"chattr +i, or a security policy refuses it)") from None
            else:
                raise RemoteError(f"{path}: permission denied (the login user cannot write here; "
                                  f"set sudo = true and SUDO_PASSWORD)") from None
        except _IO_ERRORS as e:
            cause = self._cause(e, path)  # before the cleanup frees the space a full disk lacked
            self._cleanup(tmp)
            busy = getattr(e, "errno", None) == errno.EBUSY or "busy" in cause.lower()
            if in_place_fallback and (busy or cause.startswith("failure")) and st is not None:
                self._write_in_place(path, data)
                in_place = True
            else:
                raise RemoteError(f"{path}: cannot write: {cause}") from None
        # the renamed temp file (or sudo's copy) had the wanted mode before its data; a file written in place keeps
        # its own until this chmod
        if in_place and mode is not None and statmod.S_IMODE(st.mode) != mode:
            try:
                self.chmod(path, mode)
            except RemoteError as e:
                e.touched = True  # the new bytes are in place: the backup stays
                raise

    def resolve_link(self, path: str) -> str:
        """The path a write must replace: path itself, or the file a symbolic link at path leads to (links in
        links followed), so that the link stays a link; a link to nothing is refused."""
        with self._io, self.deadline(f"checking {path}"):
            return self._target(path)[0]

    def _target(self, path: str) -> tuple[str, FileStat | None]:
        """(the path to replace, its stat or None): one lstat for a plain file, the link followed for a link."""
        self.counters.sftp_ops += 1
        try:
            a = self.sftp.lstat(path)
        except FileNotFoundError:
            return path, None
        except PermissionError:
            raise RemoteError(f"{path}: permission denied") from None
        except _IO_ERRORS as e:
            raise RemoteError(f"{path}: {self._cause(e, path)}") from None
        if not statmod.S_ISLNK(a.st_mode or 0):
            return path, FileStat(a.st_mode or 0, a.st_uid or 0, a.st_gid or 0, a.st_size or 0, a.st_mtime or 0)
        self.counters.sftp_ops += 1
        try:
            real = self.sftp.normalize(path)
        except FileNotFoundError:
            raise RemoteError(f"{path}: a symbolic link to a file that does not exist "
                              f"({self._readlink(path)}); refused, fix or remove the link") from None
        except _IO_ERRORS as e:
            raise RemoteError(f"{path}: cannot follow the symbolic link: {self._cause(e, path)}") from None
        st = self.stat(real)
        if st is None:
            raise RemoteError(f"{path}: a symbolic link to a file that does not exist "
                              f"({self._readlink(path)}); refused, fix or remove the link")
        return real, st

    def realpath(self, path: str) -> str:
        """What path really reaches on the node: every symbolic link on the way followed (the final one too), by
        the node's own resolver; for a path that does not exist, its nearest existing folder resolved and the rest
        appended (names that do not exist are no links). A node's links are untrusted: check this, not the path
        string, before writing or deleting through it."""
        with self._io, self.deadline(f"resolving {path}"):
            rest: list[str] = []
            p = path
            while True:
                self.counters.sftp_ops += 1
                try:
                    real = self.sftp.normalize(p)
                    return posixpath.join(real, *reversed(rest)) if rest else real
                except FileNotFoundError:
                    if p in ("/", ""):
                        return path
                    rest.append(posixpath.basename(p))
                    p = posixpath.dirname(p)
                except PermissionError:
                    if not self.can_sudo:
                        raise RemoteError(f"{path}: permission denied while resolving it") from None
                    out = self._sudo(path, f"realpath -m -- {shlex.quote(path)}", "resolve")
                    return out.strip()
                except _IO_ERRORS as e:
                    raise RemoteError(f"{path}: cannot resolve: {self._cause(e, path)}") from None

    def lstat(self, path: str) -> FileStat | None:
        """Stat a remote path without following a final link; None when it does not exist."""
        return self.stat(path, follow=False)

    def _readlink(self, path: str) -> str:
        try:
            return f"-> {self.sftp.readlink(path)}"
        except _IO_ERRORS:
            return "unreadable link"

    @staticmethod
    def _beside(path: str) -> str:
        """A fresh temp name in the target's folder (a rename from there is atomic)."""
        parent = posixpath.dirname(path) or "."
        return posixpath.join(parent, f".{posixpath.basename(path)}{TMP_MARK}{pysecrets.token_hex(4)}")

    def _put(self, tmp: str, data: bytes, mode: int, fresh: bool = False) -> None:
        """Write a file whose mode is `mode` before its first byte (a 0600 file is never readable by others, not
        even briefly). fresh (a new name: a temp file, a backup copy): created with the mode in the OPEN request,
        one round trip less; the server's umask is checked by `_settle`."""
        self.counters.sftp_ops += 2
        if fresh:
            f = create(self.sftp, tmp, mode)
            if mode & self._umask:  # the server's umask takes a bit the file must have
                f.chmod(mode)
        else:
            f = self.sftp.open(tmp, "wb")
            f.chmod(mode)
        try:
            f.set_pipelined(True)
            f.write(data)
            # every write's status is collected with the close's: paramiko drops a pipelined write's error at
            # close, so a full disk would leave a short temp file that the rename then puts in place
            finish(f)
        finally:
            if not f.closed:
                f.close()
        self.counters.bytes_written += len(data)

    def _settle(self, tmp: str, mode: int, st: FileStat | None) -> None:
        """The temp file gets the target's owner and exactly `mode`. One lstat for the first new file of a folder
        tells what a new file gets there (the login's uid, the folder's gid) and what the server's umask took;
        later files of the folder are settled from that, without a round trip when nothing differs."""
        folder = posixpath.dirname(tmp)
        owner = self._new_owner.get(folder)
        try:
            if owner is None:
                self.counters.sftp_ops += 1
                a = self.sftp.lstat(tmp)
                owner = self._new_owner[folder] = (a.st_uid, a.st_gid)
                got = statmod.S_IMODE(a.st_mode or 0)
                if got != mode:
                    self._umask |= mode & ~got & 0o7777
                    self.counters.sftp_ops += 1
                    self.sftp.chmod(tmp, mode)
            if st is not None and owner != (st.uid, st.gid):
                self.counters.sftp_ops += 1
                self.sftp.chown(tmp, st.uid, st.gid)
        except OSError:
            pass  # not allowed as this user; the file keeps the login user's ownership

    def _write_in_place(self, path: str, data: bytes) -> None:
        """For targets that cannot be renamed over (a bind-mounted /etc/hosts): truncate and write."""
        self.counters.sftp_ops += 1
        try:
            with self.sftp.open(path, "r+b") as f:
                f.truncate(0)
                f.write(data)
        except _IO_ERRORS as e:
            err = RemoteError(f"{path}: cannot write in place: {self._cause(e, path)}")
            err.touched = True  # truncated, perhaps: the backup stays for rollback
            raise err from None
        self.counters.bytes_written += len(data)

    def _cleanup(self, tmp: str) -> None:
        try:
            self.sftp.remove(tmp)
        except _IO_ERRORS:
            pass

    def _alive(self) -> bool:
        t = self._conn.transport if self._conn is not None else None
        return bool(t is not None and t.is_active() and not self.watchdog.expired)

    def _cause(self, e: BaseException, path: str | None = None) -> str:
        """Why an SFTP request failed, in words: a lost connection, a read-only or full disk, or the OS reason."""
        if self.watchdog.expired:
            return self.watchdog.expired
        if not self._alive():
            return f"connection to {self.where} lost"
        msg = getattr(e, "strerror", None) or str(e) or type(e).__name__
        if msg == "Failure" and path:  # SFTP's catch-all status: ask the file system why
            msg = self._fs_trouble(posixpath.dirname(path) or ".") or "failure reported by the SFTP server"
        return redact(msg)

    def _fs_trouble(self, path: str) -> str | None:
        """'read-only file system' or 'no space left on device' for path's file system (statvfs@openssh.com)."""
        fs = statvfs(self.sftp, path)
        if fs is None:
            return None
        if fs.read_only:
            return "read-only file system"
        if fs.full:
            return "no space left on device"
        return None

    def chmod(self, path: str, mode: int) -> None:
        with self._io, self.deadline(f"changing the mode of {path}"):
            self._changed(path)
            self.counters.sftp_ops += 1
            try:
                self.sftp.chmod(path, mode)
            except _IO_ERRORS as e:
                raise RemoteError(f"{path}: cannot chmod: {self._cause(e, path)}") from None

    def mkdir_p(self, path: str, mode: int = 0o755) -> None:
        """Create a directory and its parents (each directory is checked once per run)."""
        with self._io, self.deadline(f"creating {path}"):
            if path in self._made:
                return
            parts = []
            p = path
            while p and p not in ("/", ".") and self.stat(p) is None:
                parts.append(p)
                p = posixpath.dirname(p)
            for d in reversed(parts):
                self.counters.sftp_ops += 1
                try:
                    self.sftp.mkdir(d, mode)
                except _IO_ERRORS as e:
                    if self.stat(d) is None:
                        raise RemoteError(f"{d}: cannot create directory: {self._cause(e, d)}") from None
            self._made.add(path)

    def remove(self, path: str, backup: bool = True) -> None:
        """Remove a file (after backing it up, unless backup=False)."""
        with self._io, self.deadline(f"removing {path}"):
            self._changed(path)
            st = self.stat(path)
            if st is None:
                return
            fresh = backup and path not in self._backed_up
            if backup:
                self._backup(path, self.read(path), st)
            try:
                self._unlink(path)
            except RemoteError:
                if fresh:
                    self._forget_backup(path)  # the file is still there: no backup run claims a removal
                raise

    def _unlink(self, path: str) -> None:
        """The removal itself (as root where the login user may not); a RemoteError leaves the file in place."""
        self.counters.sftp_ops += 1
        try:
            self.sftp.remove(path)
        except PermissionError as e:
            if not self.can_sudo:
                raise RemoteError(f"{path}: cannot remove: {self._cause(e, path)}") from None
            self._sudo_remove(path)
        except _IO_ERRORS as e:
            raise RemoteError(f"{path}: cannot remove: {self._cause(e, path)}") from None
