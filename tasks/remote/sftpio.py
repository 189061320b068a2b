"""SftpIO: the plain file operations over the host's SFTP session that every part above shares:
stat, a file written with its mode before its first byte, its owner settled, rename, folders made
and removed. No backup and no cache here: files.py and journal.py build on these."""
from __future__ import annotations

import posixpath
import secrets as pysecrets
import stat as statmod

from .sftpext import create, finish
from .common import TMP_MARK, _IO_ERRORS, FileStat, RemoteError
from .transport import Transport


def file_stat(a) -> FileStat:
    """A FileStat of paramiko's SFTPAttributes (absent fields as 0)."""
    return FileStat(a.st_mode or 0, a.st_uid or 0, a.st_gid or 0, a.st_size or 0, a.st_mtime or 0)


def beside(path: str) -> str:
    """A fresh temp name in the target's folder (a rename from there is atomic)."""
    parent = posixpath.dirname(path) or "."
    return posixpath.join(parent, f".{posixpath.basename(path)}{TMP_MARK}{pysecrets.token_hex(4)}")


class SftpIO:
    """Stat, put, settle, rename, mkdir -p, rmtree over one Transport; counts every request."""

    def __init__(self, transport: Transport):
        self.t = transport
        self.umask = 0o022  # what the SFTP server's umask takes from a new file's mode (learnt by `settle`)
        self._new_owner: dict[str, tuple[int, int]] = {}  # folder -> (uid, gid) a new file gets there
        self._made: set[str] = set()  # directories mkdir_p made or found this run
        self._absent: set[str] = set()  # directories known not to exist (a listing said so): mkdir_p makes them unasked

    def stat(self, path: str, follow: bool = True) -> FileStat | None:
        """Stat a remote path (following links, unless follow=False); None when it does not exist."""
        t = self.t
        with t.io, t.deadline(f"checking {path}"):
            t.counters.sftp_ops += 1
            try:
                a = t.sftp.stat(path) if follow else t.sftp.lstat(path)
            except FileNotFoundError:
                return None
            except PermissionError:
                raise RemoteError(f"{path}: permission denied") from None
            except _IO_ERRORS as e:
                raise RemoteError(f"{path}: {t.cause(e)}") from None
        return file_stat(a)

    def put(self, tmp: str, data: bytes, mode: int, fresh: bool = False, like: FileStat | None = None,
            settle: bool = False) -> None:
        """Write a file whose mode is `mode` before its first byte (a 0600 file is never readable by
        others, not even briefly). fresh (a new name: a temp file, a backup copy): created
        exclusively (never through anything planted at the name) with the mode in the OPEN request,
        one round trip less. settle: the new file also gets exactly `mode` and the owner of `like`
        (the target it will replace), through its open handle: a name the node swaps for a link
        meanwhile is never chmod-ed or chown-ed."""
        t = self.t
        t.counters.sftp_ops += 2
        if fresh:
            f = create(t.sftp, tmp, mode)
            if mode & self.umask:  # the server's umask takes a bit the file must have
                f.chmod(mode)
        else:
            f = t.sftp.open(tmp, "wb")
            f.chmod(mode)
        try:
            if settle:
                self._settle(f, posixpath.dirname(tmp), mode, like)
            f.set_pipelined(True)
            f.write(data)
            # every write's status is collected with the close's: paramiko drops a
            # pipelined write's error at close, so a full disk would leave a short temp
            # file that the rename then puts in place
            finish(f)
        finally:
            if not f.closed:
                f.close()
        t.counters.bytes_written += len(data)

    def _settle(self, f, folder: str, mode: int, st: FileStat | None) -> None:
        """The open new file gets the target's owner and exactly `mode`. One fstat for the first new
        file of a folder tells what a new file gets there (the login's uid, the folder's gid) and
        what the server's umask took; later files of the folder are settled from that, without a
        round trip when nothing differs."""
        t = self.t
        owner = self._new_owner.get(folder)
        try:
            if owner is None:
                t.counters.sftp_ops += 1
                a = f.stat()
                owner = self._new_owner[folder] = (a.st_uid or 0, a.st_gid or 0)
                got = statmod.S_IMODE(a.st_mode or 0)
                if got != mode:
                    self.umask |= mode & ~got & 0o7777
                    t.counters.sftp_ops += 1
                    f.chmod(mode)
            if st is not None and owner != (st.uid, st.gid):
                t.counters.sftp_ops += 1
                f.chown(st.uid, st.gid)
        except OSError:
            pass  # not allowed as this user; the file keeps the login user's ownership

    def rename(self, src: str, dst: str) -> None:
        """POSIX rename (atomic, over an existing file); paramiko's errors as they come."""
        self.t.counters.sftp_ops += 1
        self.t.sftp.posix_rename(src, dst)

    def cleanup(self, tmp: str) -> None:
        """Remove a file of ours, errors ignored (a temp file, a staged copy)."""
        try:
            self.t.sftp.remove(tmp)
        except _IO_ERRORS:
            pass

    def readlink(self, path: str) -> str:
        """'-> target' of a link, for a message."""
        try:
            return f"-> {self.t.sftp.readlink(path)}"
        except _IO_ERRORS:
            return "unreadable link"

    def mkdir_p(self, path: str, mode: int = 0o755) -> None:
        """Create a directory and its parents (each directory is checked once per run)."""
        t = self.t
        with t.io, t.deadline(f"creating {path}"):
            if path in self._made:
                return
            parts = []
            p = path
            # up to the first folder that exists: one made or found this run needs no stat, one known absent no stat
            while p and p not in ("/", ".") and p not in self._made and (p in self._absent or self.stat(p) is None):
                parts.append(p)
                p = posixpath.dirname(p)
            for d in reversed(parts):
                t.counters.sftp_ops += 1
                self._absent.discard(d)
                try:
                    t.sftp.mkdir(d, mode)
                except _IO_ERRORS as e:
                    if self.stat(d) is None:
                        raise RemoteError(f"{d}: cannot create directory: {t.cause(e, d)}") from None
                self._made.add(d)
            self._made.add(path)

    def found(self, path: str) -> None:
        """A folder that exists (a listing of it answered): mkdir_p stops there."""
        self._made.add(path)
        self._absent.discard(path)

    def absent(self, *paths: str) -> None:
        """These folders do not exist (a listing of their parent said so, or a fresh name under one): mkdir_p
        creates them without a stat first (a folder that appeared meanwhile is still found, by the mkdir's error)."""
        self._absent.update(p for p in paths if p not in self._made)

    def forget_made(self, under: str) -> None:
        """Folders under `under` may be gone (a removed backup run): mkdir_p checks them again."""
        self._made = {d for d in self._made if not d.startswith(under)}
        self._absent = {d for d in self._absent if not d.startswith(under)}

    def rmtree(self, path: str) -> None:
        """Remove a folder of ours and everything in it (entries and their modes in one listing per folder)."""
        t = self.t
        self.forget_made(path)
        t.counters.sftp_ops += 1
        try:
            entries = t.sftp.listdir_attr(path)
        except FileNotFoundError:
            return
        except _IO_ERRORS as e:
            raise RemoteError(f"{path}: {t.cause(e)}") from None
        for a in entries:
            p = f"{path}/{a.filename}"
            if statmod.S_ISDIR(a.st_mode or 0):
                self.rmtree(p)
            else:
                t.counters.sftp_ops += 1
                t.sftp.remove(p)
        t.counters.sftp_ops += 1
        t.sftp.rmdir(path)
