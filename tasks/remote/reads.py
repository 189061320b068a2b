"""Reads of a node's files: the run's read cache, the pipelined read-ahead, size caps (a FIFO or device never
opened), ranged reads and streamed hashes, the confinement of a product home's links (tasks/remote/confine.py)
and the node's own resolution of a path. Nothing here writes: files.py builds its writes on these."""
from __future__ import annotations

import hashlib
import posixpath
import stat as statmod

from .common import _IO_ERRORS, CONFIG_LIMIT, JAR_LIMIT, FileStat, RemoteError
from .confine import Confine
from .sftpext import SFTPError, read_many, realpath_many
from .sftpio import SftpIO, file_stat
from .sudo import Sudo
from .transport import Transport


class Reads:
    """Reads over the host's SFTP session, through the run's read cache, confined where the node's links may
    lead; Files (files.py) adds the writes."""

    def __init__(self, transport: Transport, sftpio: SftpIO, sudo: Sudo):
        self.t = transport
        self.io = sftpio
        self.sudo = sudo
        self.cache = transport.cache  # what the run read of this machine's files (shared by its nodes)
        self._seen: dict[str, FileStat] = {}  # stats taken by reads this run (dropped when the run writes the path)
        self.confine: Confine | None = None  # where links in the node's product home may lead (None: no rule)

    def confine_to(self, areas: list[tuple[str, tuple[str, ...]]]) -> None:
        """Files under each area's folder are read and written only where their real location lies
        in its roots (tasks/remote/confine.py)."""
        self.confine = Confine(areas, self.realpath)

    def _check_reach(self, path: str, st: FileStat | None = None, known: bool = False) -> tuple[bool, FileStat | None]:
        """Refuse a file of the product home that really lies elsewhere (its folder, or the file, a
        link leading out of the allowed roots). `st`/`known`: its lstat, already taken. (whether an
        lstat was taken, its result): a read needs no second stat of a plain file, none of a missing one."""
        c = self.confine
        if c is None or c.covers(path) is None:
            return known, st
        c.folder(path)
        if not known:
            st = self.lstat(path)
        if st is not None and st.is_link:
            c.link(path)
        return True, st

    def stat(self, path: str, follow: bool = True) -> FileStat | None:
        """Stat a remote path (following links, unless follow=False); None when it does not exist. A
        path the confinement covers is followed only where its links may lead (one lstat, as many
        round trips as a plain stat when it is no link)."""
        c = self.confine
        if not follow or c is None or c.covers(path) is None:
            return self.io.stat(path, follow)
        st = self.io.stat(path, follow=False)
        if st is None or not st.is_link:
            if st is not None:
                c.folder(path)
            return st
        c.link(path)
        return self.io.stat(path, True)

    def lstat(self, path: str) -> FileStat | None:
        """Stat a remote path without following a final link; None when it does not exist."""
        return self.io.stat(path, follow=False)

    def _regular(self, path: str, limit: int, kind: str) -> int:
        """The size of a regular file within its size cap (a RemoteError otherwise); stat before
        any open: opening a FIFO would block the SFTP server for good. Remembered for `known_stat`."""
        a = self.t.sftp.stat(path)
        if statmod.S_ISDIR(a.st_mode or 0):
            raise RemoteError(f"{path}: is a directory, expected a file")
        if not statmod.S_ISREG(a.st_mode or 0):
            raise RemoteError(f"{path}: is not a regular file (a FIFO, socket or device); refused")
        return self._sized(path, file_stat(a), limit, kind)

    def _sized(self, path: str, st: FileStat, limit: int, kind: str) -> int:
        """A regular file's size from its stat (or a plain file's lstat), within the cap (remembered for
        `known_stat`)."""
        if st.size > limit:
            raise self._too_big(path, st.size, limit, kind)
        self._seen[path] = st
        return st.size

    def known_stat(self, path: str) -> FileStat | None:
        """The stat the last read of path in this run took (no second round trip), else a fresh one."""
        hit = self.cache.get(path)
        if hit is not None and hit.stat is not None:
            return hit.stat
        return self._seen.get(path) or self.stat(path)

    def changed(self, *paths: str) -> None:
        """These files change: no read of this run answers for them any more."""
        for p in paths:
            self._seen.pop(p, None)
        self.cache.forget(*paths)

    def read(self, path: str, limit: int = CONFIG_LIMIT, kind: str = "a configuration file",
             cache: bool = True) -> bytes | None:
        """The file's bytes, or None when it does not exist; a directory, FIFO or device is refused,
        and so is a file over `limit` bytes (the most a file of its `kind` may sensibly hold): never
        read past the limit. A file this run read already and has not changed since is not read
        again (cache=False: state files, which another run may change)."""
        hit = self.cache.get(path) if cache else None
        if hit is not None:
            if hit.data is not None and len(hit.data) > limit:
                raise self._too_big(path, len(hit.data), limit, kind)
            return hit.data
        gen = self.cache.generation()
        took, st = self._check_reach(path)
        # the lstat just taken answers for a missing file, and stands for the stat of a plain one
        plain = st if st is not None and st.is_file else None
        data = None if took and st is None else self._read(path, limit, kind, plain)
        if cache:
            self.cache.put(path, data, self._seen.get(path) if data is not None else None, gen)
        return data

    def prefetch(self, paths: list[str]) -> None:
        """Read these files (those this run has not read yet) with their SFTP requests pipelined:
        four round trips for all of them. Best effort: whatever is not a plain readable file is
        left to `read`, which says why."""
        todo = [p for p in dict.fromkeys(paths) if not self.cache.has(p)]
        if not todo:
            return
        t = self.t
        with t.io, t.deadline(f"reading {len(todo)} files"):
            todo = self._reachable(todo)
            gen = self.cache.generation()
            try:
                got = read_many(t.sftp, todo, CONFIG_LIMIT)
            except (*_IO_ERRORS, SFTPError):
                return
            t.counters.sftp_ops += 4
            for p, (a, data) in got.items():
                st = None if a is None else file_stat(a)
                if st is not None:
                    self._seen[p] = st
                    t.counters.bytes_read += len(data or b"")
                self.cache.put(p, data, st, gen, plain=st is not None)

    def _reachable(self, paths: list[str]) -> list[str]:
        """The paths whose folders lie where the node's links may lead, their folders resolved in
        one round trip; the others are left to `read`, which refuses them by name."""
        c = self.confine
        if c is None:
            return paths
        folders = list(dict.fromkeys(posixpath.dirname(p) for p in paths if c.covers(p) is not None))
        if folders:
            try:
                self.t.counters.sftp_ops += 1
                found = realpath_many(self.t.sftp, folders)
                for folder in folders:
                    if folder in found:
                        c.known(folder, found[folder])
                # a root needs resolving only where a folder's real path lies in none of its roots as named (a link
                # the operator made): those roots in one more round trip, none alone later
                roots = c.unresolved_roots([p for p in paths if not c.plainly_within(p)])
                if roots:
                    self.t.counters.sftp_ops += 1
                    for root, real in realpath_many(self.t.sftp, roots).items():
                        c.known_root(root, real)
            except (*_IO_ERRORS, SFTPError):
                pass
        out = []
        for p in paths:
            try:
                c.folder(p)
                out.append(p)
            except RemoteError:
                pass
        return out

    def _read(self, path: str, limit: int, kind: str, plain: FileStat | None = None) -> bytes | None:
        """Read a file within its cap; `plain`: its lstat, a regular file (no stat again)."""
        t = self.t
        with t.io, t.deadline(f"reading {path}"):
            t.counters.sftp_ops += 1
            try:
                size = self._regular(path, limit, kind) if plain is None else self._sized(path, plain, limit, kind)
                with t.sftp.open(path, "rb") as f:
                    f.prefetch(size)  # sized by the stat
                    data = f.read(limit + 1)  # a file that grew since the stat stops here too
                if len(data) > limit:
                    raise self._too_big(path, len(data), limit, kind, "at least ")
            except FileNotFoundError:
                return None
            except PermissionError:
                if self.sudo.possible:
                    return self.sudo.read(path, limit)
                raise RemoteError(f"{path}: permission denied (set SUDO_PASSWORD or sudo = true)") from None
            except _IO_ERRORS as e:
                st = self.stat(path)
                if st is not None and st.is_dir:
                    raise RemoteError(f"{path}: is a directory, expected a file") from None
                raise RemoteError(f"{path}: cannot read: {t.cause(e)}") from None
        t.counters.bytes_read += len(data)
        return data

    def read_range(self, path: str, offset: int, length: int) -> tuple[bytes, int]:
        """`length` bytes of a remote file from `offset` (negative: from the end), and the file's
        size; never more (a jar's zip directory is read without reading the jar)."""
        t = self.t
        with t.io, t.deadline(f"reading part of {path}"):
            t.counters.sftp_ops += 1
            try:
                size = self._regular(path, 1 << 62, "a file")  # no cap: only `length` bytes are read
                start = max(0, size + offset) if offset < 0 else min(offset, size)
                with t.sftp.open(path, "rb") as f:
                    f.seek(start)
                    data = f.read(min(length, max(0, size - start)))
            except FileNotFoundError:
                raise RemoteError(f"{path}: does not exist") from None
            except _IO_ERRORS as e:
                raise RemoteError(f"{path}: cannot read: {t.cause(e)}") from None
        t.counters.bytes_read += len(data)
        return data, size

    @staticmethod
    def _too_big(path: str, size: int, limit: int, kind: str, least: str = "") -> RemoteError:
        return RemoteError(f"{path}: {least}{size} bytes, more than {kind} may hold ({limit} bytes); refused, "
                           f"not read (check the file by hand)")

    def listdir(self, path: str) -> list[str] | None:
        """Names in a remote directory, or None when it does not exist."""
        t = self.t
        with t.io, t.deadline(f"listing {path}"):
            t.counters.sftp_ops += 1
            try:
                return t.sftp.listdir(path)
            except FileNotFoundError:
                return None
            except _IO_ERRORS as e:
                raise RemoteError(f"{path}: {t.cause(e)}") from None

    def sha256(self, path: str, limit: int = JAR_LIMIT) -> str | None:
        """sha256 of a remote file, streamed over SFTP (never whole in memory), or None when absent."""
        t = self.t
        with t.io, t.deadline(f"hashing {path}"):
            t.counters.sftp_ops += 1
            try:
                size = self._regular(path, limit, "a jar")
                h, n = hashlib.sha256(), 0
                with t.sftp.open(path, "rb") as f:
                    f.prefetch(size)
                    while n <= limit:
                        with t.watchdog.doing(f"hashing {path}"):  # each MiB that arrives is progress
                            chunk = f.read(1 << 20)
                        if not chunk:
                            break
                        h.update(chunk)
                        n += len(chunk)
                t.counters.bytes_read += n
                if n > limit:
                    raise self._too_big(path, n, limit, "a jar", "at least ")
                return h.hexdigest()
            except FileNotFoundError:
                return None
            except PermissionError:
                if self.sudo.possible:
                    return hashlib.sha256(self.sudo.read(path, limit)).hexdigest()
                raise RemoteError(f"{path}: permission denied (set SUDO_PASSWORD or sudo = true)") from None
            except _IO_ERRORS as e:
                raise RemoteError(f"{path}: cannot read: {t.cause(e)}") from None

    def realpath(self, path: str) -> str:
        """What path really reaches on the node: every symbolic link on the way followed (the final
        one too), by the node's own resolver; for a path that does not exist, its nearest existing
        folder resolved and the rest appended (names that do not exist are no links). A node's links
        are untrusted: check this, not the path string, before writing or deleting through it."""
        t = self.t
        with t.io, t.deadline(f"resolving {path}"):
            rest: list[str] = []
            p = path
            while True:
                t.counters.sftp_ops += 1
                try:
                    real = t.sftp.normalize(p)
                    return posixpath.join(real, *reversed(rest)) if rest else real
                except FileNotFoundError:
                    if p in ("/", ""):
                        return path
                    rest.append(posixpath.basename(p))
                    p = posixpath.dirname(p)
                except PermissionError:
                    if not self.sudo.possible:
                        raise RemoteError(f"{path}: permission denied while resolving it") from None
                    return self.sudo.realpath(path)
                except _IO_ERRORS as e:
                    raise RemoteError(f"{path}: cannot resolve: {t.cause(e, path)}") from None
