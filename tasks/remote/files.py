"""Writes of a node's files: the target a write must replace (a link stays a link), the atomic replace itself
(a temp file beside the target with the wanted mode before its first byte, the owner, the rename; sudo or a
write in place where the rename is refused), a new file placed, modes, removals, over the reads of reads.py.
No backups: journal.py puts its write-with-backup on top of these."""
from __future__ import annotations

import errno
import posixpath
import stat as statmod

from .common import _IO_ERRORS, UPLOAD_RATE, FileStat, RemoteError
from .reads import Reads
from .sftpext import SFTPError
from .sftpio import beside, file_stat


class Files(Reads):
    """Reads (reads.py) and atomic replaces over the host's SFTP session, through the run's read cache."""

    def remember(self, data: bytes, *paths: str) -> None:
        """These paths hold `data` now (this run wrote it): the next step need not read them."""
        self.changed(*paths)
        gen = self.cache.generation()
        for p in dict.fromkeys(paths):
            self.cache.put(p, data, None, gen)

    def replace(self, path: str, data: bytes, mode: int | None, st: FileStat | None,
                in_place_fallback: bool) -> None:
        """The write itself: temp file, owner and mode, rename (or sudo, or in place where rename is
        refused). A RemoteError leaves the target untouched, unless it carries touched=True (a
        failed in-place write, or a chmod refused after the rename)."""
        t, io = self.t, self.io
        tmp = beside(path)
        want_mode = mode if mode is not None else (statmod.S_IMODE(st.mode) if st else 0o644)
        in_place = False
        try:
            io.put(tmp, data, want_mode, fresh=True, like=st, settle=True)
            io.rename(tmp, path)
        except PermissionError:
            io.cleanup(tmp)
            if self.sudo.possible:
                self.sudo.write(path, data, want_mode, st)
            elif t.host.user == "root":
                raise RemoteError(f"{path}: permission denied even for root (an immutable file, "
                                  f"chattr +i, or a security policy refuses it)") from None
            else:
                raise RemoteError(f"{path}: permission denied (the login user cannot write here; "
                                  f"set sudo = true and SUDO_PASSWORD)") from None
        except _IO_ERRORS as e:
            cause = t.cause(e, path)  # before the cleanup frees the space a full disk lacked
            io.cleanup(tmp)
            busy = getattr(e, "errno", None) == errno.EBUSY or "busy" in cause.lower()
            if in_place_fallback and (busy or cause.startswith("failure")) and st is not None:
                self._write_in_place(path, data)
                in_place = True
            else:
                raise RemoteError(f"{path}: cannot write: {cause}") from None
        # the renamed temp file (or sudo's copy) had the wanted mode before its data; a file written
        # in place keeps its own until this chmod
        if in_place and mode is not None and st is not None and statmod.S_IMODE(st.mode) != mode:
            try:
                self.chmod(path, mode)
            except RemoteError as e:
                e.touched = True  # type: ignore[attr-defined]  # the new bytes are in place: the backup stays
                raise

    def place(self, path: str, data: bytes, mode: int = 0o600, like: FileStat | None = None) -> None:
        """A new file at path: created under a fresh random name beside it, exclusively (the SFTP
        create with O_EXCL: nothing planted there is opened), with `mode` before its first byte and
        `like`'s owner where given, then renamed over path. Whatever was at path, a symbolic link a
        node planted included, is replaced, never followed or written through. No backup and no
        cache: a state record, a password handed to a process."""
        t, io = self.t, self.io
        tmp = beside(path)
        with t.io, t.deadline(f"writing {path}", len(data) / UPLOAD_RATE):
            self.changed(path)
            if self.confine is not None:
                self.confine.folder(path)
            try:
                io.put(tmp, data, mode, fresh=True, like=like, settle=True)
                io.rename(tmp, path)
            except (*_IO_ERRORS, SFTPError) as e:
                cause = t.cause(e, path)
                io.cleanup(tmp)
                raise RemoteError(f"{path}: cannot write: {cause}") from None

    def _write_in_place(self, path: str, data: bytes) -> None:
        """For targets that cannot be renamed over (a bind-mounted /etc/hosts): truncate and write."""
        t = self.t
        t.counters.sftp_ops += 1
        try:
            with t.sftp.open(path, "r+b") as f:
                f.truncate(0)
                f.write(data)
        except _IO_ERRORS as e:
            err = RemoteError(f"{path}: cannot write in place: {t.cause(e, path)}")
            err.touched = True  # type: ignore[attr-defined]  # truncated, perhaps: the backup stays for rollback
            raise err from None
        t.counters.bytes_written += len(data)

    def resolve_link(self, path: str) -> str:
        """The path a write must replace: path itself, or the file a symbolic link at path leads to
        (links in links followed), so that the link stays a link; a link to nothing is refused."""
        with self.t.io, self.t.deadline(f"checking {path}"):
            return self.target(path)[0]

    def target(self, path: str) -> tuple[str, FileStat | None]:
        """(the path to replace, its stat or None): one lstat for a plain file, the link followed for a link."""
        t = self.t
        t.counters.sftp_ops += 1
        try:
            a = t.sftp.lstat(path)
        except FileNotFoundError:
            if self.confine is not None:  # a new file: its folder may not lead out of the roots either
                self.confine.folder(path)
            return path, None
        except PermissionError:
            raise RemoteError(f"{path}: permission denied") from None
        except _IO_ERRORS as e:
            raise RemoteError(f"{path}: {t.cause(e, path)}") from None
        self._check_reach(path, file_stat(a), known=True)
        if not statmod.S_ISLNK(a.st_mode or 0):
            return path, file_stat(a)
        t.counters.sftp_ops += 1
        try:
            real = t.sftp.normalize(path)
        except FileNotFoundError:
            raise RemoteError(f"{path}: a symbolic link to a file that does not exist "
                              f"({self.io.readlink(path)}); refused, fix or remove the link") from None
        except _IO_ERRORS as e:
            raise RemoteError(f"{path}: cannot follow the symbolic link: {t.cause(e, path)}") from None
        st = self.stat(real)
        if st is None:
            raise RemoteError(f"{path}: a symbolic link to a file that does not exist "
                              f"({self.io.readlink(path)}); refused, fix or remove the link")
        return real, st

    def mkdir_p(self, path: str, mode: int = 0o755) -> None:
        """A folder and its parents, where the confinement covers path only if its real location (every link on
        the way followed) lies in the roots: a folder a node linked elsewhere gains no new folder there."""
        if self.confine is not None:
            self.confine.folder(posixpath.join(path, "."))
        self.io.mkdir_p(path, mode)

    def chmod(self, path: str, mode: int) -> None:
        """Change a file's mode (no backup: the caller's journal records the mode before)."""
        t = self.t
        with t.io, t.deadline(f"changing the mode of {path}"):
            self.changed(path)
            t.counters.sftp_ops += 1
            try:
                t.sftp.chmod(path, mode)
            except _IO_ERRORS as e:
                raise RemoteError(f"{path}: cannot chmod: {t.cause(e, path)}") from None

    def unlink(self, path: str) -> None:
        """The removal itself (as root where the login user may not); a RemoteError leaves the file in place."""
        t = self.t
        if self.confine is not None:
            self.confine.folder(path)
        t.counters.sftp_ops += 1
        try:
            t.sftp.remove(path)
        except PermissionError as e:
            if not self.sudo.possible:
                raise RemoteError(f"{path}: cannot remove: {t.cause(e, path)}") from None
            self.sudo.remove(path)
        except _IO_ERRORS as e:
            raise RemoteError(f"{path}: cannot remove: {t.cause(e, path)}") from None
