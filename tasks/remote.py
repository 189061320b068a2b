"""The one remote I/O layer: a connection and an SFTP session per host, atomic writes, backups, sudo, lock.

Steps never touch paramiko; they call `read`, `write`, `stat`, `run` here.
Every write is: backup of the original (once per run) -> temp file beside the
target -> owner and mode copied -> rename over the target.  Counters record
connections, commands, SFTP operations and bytes for the benchmark.
"""
from __future__ import annotations

import base64
import errno
import hashlib
import io
import json
import os
import posixpath
import secrets as pysecrets
import shlex
import socket
import stat as statmod
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import paramiko
from fabric import Connection
from invoke.exceptions import UnexpectedExit

from .config import Host
from .deadline import Watchdog
from .secrets import redact
from . import sshshared
from .readcache import ReadCache
from .sftpext import SFTPError, create, finish, read_many, statvfs

TMP_MARK = ".esb-tmp-"
#: [run].op_timeout's default: seconds any remote operation may wait for an answer
DEFAULT_OP_TIMEOUT = 30
#: bytes per second an upload is granted on top of op_timeout (a slow link still gets a big jar across)
UPLOAD_RATE = 256 << 10
#: the most bytes a read takes by default: WSO2's largest shipped configuration file is under 100 KiB
CONFIG_LIMIT = 16 << 20
#: a product script (dbscripts) or a backup may be larger
SCRIPT_LIMIT = 64 << 20
#: the hosts file, a certificate
SMALL_LIMIT = 4 << 20
#: a jar compared by its sha256 (streamed, never held whole)
JAR_LIMIT = 1 << 30
#: what a dropped connection or a refused SFTP request raises in paramiko
_IO_ERRORS = (OSError, paramiko.SSHException, EOFError)
#: when this fab run started; orders concurrent runs for the lock's deadlock rule


class RunLocks:
    """What one run holds across its hosts, for the lock's deadlock rule: when it started, and which of its
    RemoteHosts hold a lock. One per Session (a RemoteHost made alone gets its own)."""

    def __init__(self, started: float | None = None):
        self.started = time.time() if started is None else started
        self._holders: set[int] = set()
        self._guard = threading.Lock()

    def hold(self, remote: "RemoteHost") -> None:
        with self._guard:
            self._holders.add(id(remote))

    def release(self, remote: "RemoteHost") -> None:
        with self._guard:
            self._holders.discard(id(remote))

    def others_held(self, remote: "RemoteHost") -> bool:
        """True when another host of this run holds a lock (then waiting for an older run could deadlock)."""
        with self._guard:
            return bool(self._holders - {id(remote)})


class RemoteError(Exception):
    """A remote operation failed; the message names host, path and cause (never a secret)."""


class SudoRefused(RemoteError):
    """sudo itself refused (wrong or missing SUDO_PASSWORD, not in sudoers): nothing ran."""


class Unreachable(RemoteError):
    """The host could not be reached or refused our credentials."""


def node_state_dir(host: Host) -> str:
    """The node's own state folder on its machine (CONTRACT §5: several nodes may share one login)."""
    return f"{host.state_dir}/nodes/{host.name}"


def _run_order(owner: dict) -> tuple:
    """A total order of runs by start time (older first), for the lock's deadlock rule."""
    started = owner.get("started", owner.get("time", 0))
    return (started if isinstance(started, (int, float)) else 0, str(owner.get("run_id")))


@dataclass
class Counters:
    connections: int = 0
    commands: int = 0
    sftp_ops: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    channels: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class FileStat:
    mode: int
    uid: int
    gid: int
    size: int
    mtime: int

    @property
    def is_dir(self) -> bool:
        return statmod.S_ISDIR(self.mode)

    @property
    def is_file(self) -> bool:
        return statmod.S_ISREG(self.mode)


class _AcceptNew(paramiko.MissingHostKeyPolicy):
    """accept-new: remember an unknown host key in known_hosts; a changed key is still refused."""

    _lock = threading.Lock()

    def __init__(self, path: str):
        self.path = path

    def missing_host_key(self, client, hostname, key):
        with self._lock:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            with open(self.path, "a") as f:
                f.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        client.get_host_keys().add(hostname, key.get_name(), key)


@dataclass
class WriteRecord:
    path: str
    backup: str | None
    existed: bool
    mode: int | None


@dataclass
class RemoteHost:
    """One host's connection for the whole run."""

    host: Host
    run_id: str
    sudo_password: str | None = None
    counters: Counters = field(default_factory=Counters)
    written: list[WriteRecord] = field(default_factory=list)
    op_timeout: float = DEFAULT_OP_TIMEOUT  # [run].op_timeout: the most any remote operation may wait for an answer
    run_locks: RunLocks = field(default_factory=RunLocks)  # the run's locks across hosts (the Session's)
    cache: ReadCache = field(default_factory=ReadCache)  # what the run read of this machine's files (the Session's)

    def __post_init__(self):
        self._conn: Connection | None = None
        self._opening: Connection | None = None  # the connection being opened (the watchdog may have to end it)
        self.watchdog = Watchdog(self.host.name, self.op_timeout, self._expire)
        self._sftp: paramiko.SFTPClient | None = None
        self._io = threading.RLock()
        self._lock_guard = threading.Lock()  # one lock() at a time per host, however many threads ask
        self._made: set[str] = set()  # directories mkdir_p made or found this run
        self._backed_up: dict[str, str | None] = {}
        self._seen: dict[str, FileStat] = {}  # stats taken by reads this run (dropped when the run writes the path)
        self._umask = 0o022  # what the SFTP server's umask takes from a new file's mode (learnt by _settle)
        self._new_owner: dict[str, tuple[int, int]] = {}  # folder -> (uid, gid) a new file gets there
        self._held_locks: list[str] = []  # lock directories this run holds on the host (node, then machine)

    # ------------------------------------------------------------ connect
    @property
    def where(self) -> str:
        return f"{self.host.user}@{self.host.address}:{self.host.port}"

    def connect(self) -> None:
        """Open the SSH connection and the SFTP session (once, even when threads race for it)."""
        if self._conn is not None and self._sftp is not None:
            return
        with self._io, self.deadline("opening the SSH connection and SFTP session"):
            if self._conn is None or self._sftp is None:
                self._connect()

    @contextmanager
    def deadline(self, what: str, extra: float = 0.0):
        """Run a remote operation under [run].op_timeout (+ extra seconds); once the watchdog ended the connection,
        this and every later operation fail with its message (host, what it was doing)."""
        if self.watchdog.expired:
            raise RemoteError(self.watchdog.expired)
        try:
            with self.watchdog.doing(what, extra):
                yield
        except Exception as e:
            if self.watchdog.expired:
                raise (Unreachable if isinstance(e, Unreachable) else RemoteError)(self.watchdog.expired) from None
            raise
        if self.watchdog.expired:  # a call that returned a made-up result (a command's exit -1) after the close
            raise RemoteError(self.watchdog.expired)

    def _expire(self, reason: str) -> None:
        """The watchdog's verdict: close the transport so that every blocked call on this host returns."""
        for conn in (self._conn, self._opening):
            try:
                t = conn.client.get_transport() if conn is not None else None
                if t is not None:
                    t.close()
            except Exception:
                pass

    def _connect(self) -> None:
        h = self.host
        kw = {"look_for_keys": h.key_filename is None, "allow_agent": h.key_filename is None,
              "banner_timeout": h.connect_timeout, "auth_timeout": h.connect_timeout}
        if h.key_filename:
            if not os.path.isfile(h.key_filename):
                raise Unreachable(f"SSH key {h.key_filename} not found")
            try:
                kw["pkey"] = sshshared.private_key(h.key_filename)  # read once per run, not once per host
            except (paramiko.SSHException, OSError, ValueError) as e:
                raise Unreachable(f"SSH key {h.key_filename} cannot be read: {redact(str(e))}") from None
        conn = Connection(host=h.address, user=h.user, port=h.port, connect_timeout=h.connect_timeout,
                          connect_kwargs=kw, inline_ssh_env=False, config=sshshared.config())
        client = conn.client
        hostport = h.address if h.port == 22 else f"[{h.address}]:{h.port}"
        for kind, key in sshshared.known_keys(h.known_hosts, hostport).items():  # this host's entries only
            client.get_host_keys().add(hostport, kind, key)
        if h.host_key_policy == "accept-new":
            client.set_missing_host_key_policy(_AcceptNew(h.known_hosts))
        else:
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
        self._opening = conn
        try:
            conn.open()
            self.counters.connections += 1
            self._sftp = conn.sftp()
        except paramiko.BadHostKeyException:
            raise Unreachable(f"host key of {hostport} does not match {h.known_hosts} (refused)") from None
        except paramiko.AuthenticationException:
            raise Unreachable(f"authentication failed for {self.where} (key {h.key_filename or 'from agent/~/.ssh'} refused)") from None
        except paramiko.SSHException as e:
            msg = str(e)
            if "not found in known_hosts" in msg:
                raise Unreachable(f"host key of {hostport} is not in {h.known_hosts}; add it (ssh-keyscan) "
                                  f"or set host_key_policy = \"accept-new\"") from None
            raise Unreachable(f"SSH to {self.where} failed: {redact(msg)}") from None
        except (socket.timeout, TimeoutError):
            raise Unreachable(f"unreachable: {self.where} timed out after {h.connect_timeout}s") from None
        except OSError as e:
            cause = next(iter(getattr(e, "errors", {}).values()), e)  # paramiko: one OSError per address
            raise Unreachable(f"unreachable: cannot connect to {self.where} ({cause.strerror or cause})") from None
        finally:
            self._opening = None
        self._conn = conn

    def close(self) -> None:
        """Release the lock (if held) and close SFTP and SSH; a host that stopped answering is not asked again."""
        try:
            if self._held_locks and not self.watchdog.expired:
                self.unlock()
        except Exception:
            pass
        self.watchdog.stop()
        for closer in (self._sftp, self._conn):
            try:
                if closer is not None:
                    closer.close()
            except Exception:
                pass
        self._sftp = self._conn = None

    @property
    def sftp(self) -> paramiko.SFTPClient:
        self.connect()
        return self._sftp

    # ------------------------------------------------------------ reads
    def stat(self, path: str) -> FileStat | None:
        """Stat a remote path (following links); None when it does not exist."""
        with self._io, self.deadline(f"checking {path}"):
            self.counters.sftp_ops += 1
            try:
                a = self.sftp.stat(path)
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
                self.cache.put(p, data, st, gen)

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
            self._changed(path)
            target, st = self._target(path)  # a symlink stays one: the file it points to is replaced
            if st is not None and st.is_dir:
                raise RemoteError(f"{path}: is a directory, expected a file")
            fresh = backup and path not in self._backed_up
            if backup:
                self._backup(path, self.read(target) if st is not None else None, st)
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

    def _backup(self, path: str, original: bytes | None, st: FileStat | None) -> None:
        if path in self._backed_up:
            return
        name = None
        if original is not None:
            self.mkdir_p(f"{self.backup_dir}/files", 0o700)
            name = f"{len(self._backed_up):04d}-{posixpath.basename(path)}"
            self._put_state(f"{self.backup_dir}/files/{name}", original, fresh=True)
        self._record(path, name, st)

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
                self._record(path, name, st)

    def _record(self, path: str, name: str | None, st: FileStat | None) -> None:
        """Note a backup (or that the file did not exist) in this run's manifest."""
        self._backed_up[path] = name
        self.written.append(WriteRecord(path, name, name is not None,
                                        statmod.S_IMODE(st.mode) if st else None))
        self._write_manifest()

    def _write_manifest(self) -> None:
        manifest = {"run_id": self.run_id, "host": self.host.name, "time": int(time.time()),
                    "files": [w.__dict__ for w in self.written]}
        self.mkdir_p(self.backup_dir, 0o700)
        tmp = f"{self.backup_dir}/.manifest{TMP_MARK}{pysecrets.token_hex(4)}"  # fresh: created with its mode
        self._put_state(tmp, json.dumps(manifest, indent=1).encode(), f"{self.backup_dir}/manifest.json", fresh=True)

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

    # ------------------------------------------------------------ lock
    def lock(self, wait: float = 60.0) -> None:
        """Take the per-host lock: a directory made atomically under state_dir, its owner file naming this run.

        A dead holder (same node, pid gone) is broken and its temp files removed.  A live one is waited
        for, up to `wait` seconds, except where waiting could deadlock: a run that already holds other
        hosts' locks never waits for a run that started before it; it refuses at once instead.
        """
        self._take(self.lock_path, wait, "the run lock")

    @property
    def lock_path(self) -> str:
        """The node's own lock: a run writing this node's files holds it."""
        return f"{self.state_dir}/lock"

    @property
    def machine_lock_path(self) -> str:
        """The machine's lock (beside every node's state): a run writing a file the machine's nodes share (the
        hosts file, certs.dir) holds it, so that two runs for two nodes of one machine never edit it at once."""
        return f"{self.host.state_dir}/machine.lock"

    def lock_machine(self, wait: float = 60.0) -> None:
        """Take the machine's lock (once per run; the Session makes sure one RemoteHost per machine asks)."""
        self._take(self.machine_lock_path, wait, "the machine lock")

    @property
    def _locked(self) -> bool:
        return self.lock_path in self._held_locks

    def _take(self, path: str, wait: float, what: str) -> None:
        with self._lock_guard, self.deadline(f"taking {what}"):  # each answered poll is progress
            if path not in self._held_locks:
                self._lock(wait, path)

    def _lock(self, wait: float, path: str) -> None:
        me = {"run_id": self.run_id, "pid": os.getpid(), "node": socket.gethostname(),
              "time": int(time.time()), "started": self.run_locks.started}
        deadline = time.monotonic() + wait
        self.mkdir_p(posixpath.dirname(path), 0o700)
        told = refused = False
        while True:
            # the lock directory is made whole (owner inside) beside its place, then renamed into it: a
            # rename never replaces a non-empty directory, and a run killed at any point leaves either
            # no lock or a lock naming its owner (a dead pid: stale at once), never an ownerless one
            mine = f"{path}.{pysecrets.token_hex(4)}"
            try:
                self.counters.sftp_ops += 2
                self.sftp.mkdir(mine, 0o700)
                self._put(f"{mine}/owner", json.dumps(me).encode(), 0o600)
                self.sftp.posix_rename(mine, path)
            except _IO_ERRORS as e:
                self._discard_dir(mine)
                if self.stat(path) is None:  # released just now, or state_dir unusable: one more try tells
                    if refused:
                        raise RemoteError(f"{path}: cannot create the lock: {self._cause(e, path)}") from None
                    refused = True
                    continue
            else:
                self.run_locks.hold(self)
                self._held_locks.append(path)
                return
            refused = False
            holder = self._lock_holder(path)
            if holder is None or self._stale(holder):
                self._break_lock(holder, path)
                continue
            who = f"{holder.get('run_id')}, pid {holder.get('pid')} on {holder.get('node')}"
            if time.monotonic() >= deadline:
                raise RemoteError(f"{self.host.name} is locked by another run ({who}); "
                                  f"gave up after {wait:.0f}s ([run].lock_wait)")
            if self._holds_others() and _run_order(holder) < _run_order(me):
                raise RemoteError(f"{self.host.name} is locked by another run ({who}) that started first; "
                                  f"refused, since waiting while this run holds other hosts could deadlock")
            if not told:
                sys.stderr.write(f"{self.host.name}: waiting for the lock held by run {who} (up to {wait:.0f}s)\n")
                told = True
            time.sleep(0.25)

    def _discard_dir(self, d: str) -> None:
        """Remove a directory of ours holding at most an owner file (errors ignored)."""
        for remove, p in ((self.sftp.remove, f"{d}/owner"), (self.sftp.rmdir, d)):
            try:
                remove(p)
            except _IO_ERRORS:
                pass

    def _holds_others(self) -> bool:
        return self.run_locks.others_held(self)

    def _lock_holder(self, path: str) -> dict | None:
        """The lock's owner record; a placeholder while its owner file is being written; None if unusable."""
        try:
            data = self.read(f"{path}/owner", SMALL_LIMIT, "a lock's owner file", cache=False)
        except RemoteError:
            if not self._alive():
                raise
            return None
        if data is None:
            st = self.stat(path)
            # a lock dir with no owner yet: another run is between mkdir and write; treat as held briefly
            if st is not None and time.time() - st.mtime < 10:
                return {"run_id": "?", "pid": "?", "node": "?", "time": st.mtime}
            return None
        try:
            holder = json.loads(data)
        except ValueError:
            return None
        return holder if isinstance(holder, dict) else None

    @staticmethod
    def _stale(holder: dict) -> bool:
        if holder.get("node") == socket.gethostname() and isinstance(holder.get("pid"), int):
            try:
                os.kill(holder["pid"], 0)
                return False
            except ProcessLookupError:
                return True
            except PermissionError:
                return False
        return time.time() - holder.get("time", 0) > 3600

    def _break_lock(self, holder: dict | None, path: str) -> None:
        """Remove a dead run's lock and the temp files it left.

        The lock is renamed aside first, so of two runs breaking it only one wins; a lock found to be
        another (live) run's by then is put back."""
        aside = f"{path}.stale-{pysecrets.token_hex(4)}"
        try:
            self.counters.sftp_ops += 1
            self.sftp.posix_rename(path, aside)
        except _IO_ERRORS:
            if not self._alive():
                raise RemoteError(f"{path}: {self._cause(OSError())}") from None
            return  # broken or released by someone else meanwhile
        try:
            owner = json.loads(self.read(f"{aside}/owner", cache=False) or b"null")
        except (RemoteError, ValueError):
            owner = None
        if isinstance(owner, dict) and holder is not None and owner.get("run_id") != holder.get("run_id"):
            try:
                self.sftp.posix_rename(aside, path)  # a fresh lock taken meanwhile: give it back
                return
            except _IO_ERRORS:
                pass
        try:
            self._rmtree(aside)
        except (RemoteError, *_IO_ERRORS):
            pass
        if holder and isinstance(holder.get("run_id"), str) and holder["run_id"] not in ("?", ""):
            self._clean_run(holder["run_id"])

    def _clean_run(self, run_id: str) -> None:
        """Remove the temp files a dead run left beside the files its manifest lists (and its manifest's)."""
        try:
            files = [f["path"] for f in (self.read_manifest(run_id) or {}).get("files", [])]
        except (RemoteError, ValueError, TypeError, KeyError):
            return
        bases = {posixpath.basename(p) for p in files} | {"manifest"}
        for d in {posixpath.dirname(p) for p in files} | {f"{self.backups_root}/{run_id}"}:
            try:
                names = self.listdir(d) or []
            except RemoteError:
                continue
            for name in names:
                if name.startswith(".") and TMP_MARK in name and name[1:name.index(TMP_MARK)] in bases:
                    self._cleanup(f"{d}/{name}")

    def unlock(self, force: bool = False) -> None:
        """Release this run's lock on the host."""
        with self._io, self.deadline("releasing the run lock"):
            for path in reversed(self._held_locks):
                self._discard_dir(path)
            self._held_locks = []
            self.run_locks.release(self)

    # ------------------------------------------------------------ commands
    @property
    def can_sudo(self) -> bool:
        return self.host.sudo and self.host.user != "root"

    def run(self, command: str, stdin: bytes | None = None, sudo: bool = False, check: bool = True,
            extra_time: float = 0.0):
        """Run a command (no secret may be in `command`; feed secrets on stdin). Returns (exit, stdout, stderr).
        It may take [run].op_timeout + extra_time seconds."""
        self.connect()
        self.cache.clear()  # a command may change any file
        with self.deadline(f"running `{redact(command.split()[0])}`", extra_time):
            return self._run(command, stdin, sudo, check)

    def _run(self, command: str, stdin: bytes | None, sudo: bool, check: bool):
        if not self._alive():
            raise RemoteError(f"`{redact(command.split()[0])}` not run: connection to {self.where} lost")
        self.counters.commands += 1
        if sudo and self.can_sudo:
            if self.sudo_password:  # on stdin, never on the command line
                command = "sudo -S -p '' " + command
                stdin = self.sudo_password.encode() + b"\n" + (stdin or b"")
            else:  # passwordless sudo (NOPASSWD) or a clear refusal, never a prompt waiting forever
                command = "sudo -n " + command
        try:
            result = self._conn.run(command, hide=True, warn=True, in_stream=io.StringIO((stdin or b"").decode()) if stdin is not None else False)
        except UnexpectedExit as e:  # pragma: no cover - warn=True prevents it
            result = e.result
        except (paramiko.SSHException, OSError) as e:
            raise RemoteError(f"command failed to start: {redact(str(e))}") from None
        if sudo and self.can_sudo and result.exited != 0:
            self._check_sudo_auth(result.stderr or "")
        if check and result.exited != 0:
            err = redact((result.stderr or result.stdout).strip().splitlines()[-1:] and (result.stderr or result.stdout).strip().splitlines()[-1] or "")
            raise RemoteError(f"`{redact(command.split()[0])}` exited {result.exited}: {err}")
        return result.exited, result.stdout, result.stderr

    # ------------------------------------------------------------ tunnels
    def open_channel(self, dest: str, port: int, timeout: float | None = None) -> paramiko.Channel:
        """A socket-like direct-tcpip channel from this host to dest:port over the run's SSH connection."""
        self.connect()
        self.counters.channels += 1
        try:
            with self.deadline(f"opening a channel to {dest}:{port}"):
                chan = self._conn.transport.open_channel("direct-tcpip", (dest, port), ("127.0.0.1", 0),
                                                         timeout=timeout or self.host.connect_timeout)
            chan.settimeout(self.op_timeout)  # a read through the tunnel (a database reply) has the deadline too
            return chan
        except paramiko.ChannelException as e:
            why = "refused or unreachable from there; sshd: Connect failed" if e.code == 2 else (e.text or str(e))
            raise RemoteError(f"{self.host.name} cannot open {dest}:{port} ({why})") from None
        except (paramiko.SSHException, OSError) as e:
            raise RemoteError(f"{self.host.name}: tunnel to {dest}:{port} failed: {redact(str(e))}") from None

    def _check_sudo_auth(self, stderr: str) -> None:
        """Raise SudoRefused when sudo itself said no (wrong or missing password, not in sudoers)."""
        user = self.host.user
        if "no password was provided" in stderr or "a password is required" in stderr:
            if not self.sudo_password:
                raise SudoRefused(f"sudo asks {user} for a password and SUDO_PASSWORD is not set")
            raise SudoRefused(f"sudo refused the password of {user} (SUDO_PASSWORD)")
        if "incorrect password attempt" in stderr or "Sorry, try again" in stderr:
            raise SudoRefused(f"sudo refused the password of {user} (SUDO_PASSWORD)")
        if "is not in the sudoers file" in stderr or "is not allowed to execute" in stderr:
            raise SudoRefused(f"{user} may not use sudo on {self.host.name} (sudoers)")
        if "sudo: command not found" in stderr or "sudo: not found" in stderr:
            raise SudoRefused(f"sudo is not installed on {self.host.name}")

    def _sudo(self, path: str, command: str, doing: str) -> str:
        """Run a command as root for path; its stdout. A RemoteError naming path and what failed."""
        try:
            code, out, err = self.run(command, sudo=True, check=False)
        except SudoRefused as e:
            raise RemoteError(f"{path}: {e}") from None
        if code != 0:
            last = (err.strip().splitlines() or [f"exit {code}"])[-1]
            raise RemoteError(f"{path}: cannot {doing} even with sudo: {redact(last)}")
        return out

    def _sudo_read(self, path: str, limit: int = CONFIG_LIMIT) -> bytes:
        """The exact bytes of a file only root may read (base64 on the wire: no decoding on the way), at most
        only when it holds at most limit bytes."""
        q = shlex.quote(path)
        script = (f'n=$(stat -L -c %s -- {q}) || exit 3; [ "$n" -le {limit} ] || '
                  f'{{ echo "$n bytes, more than the limit of {limit} bytes; refused, not read" >&2; exit 4; }}; '
                  f'base64 -- {q}')
        out = self._sudo(path, f"sh -c {shlex.quote(script)}", "read")
        return base64.b64decode("".join(out.split()))

    def _sudo_write(self, path: str, data: bytes, mode: int, st: FileStat | None) -> None:
        """Stage the bytes as the login user (0600), then as root: copy beside the target, mode, owner (the old
        file's, or for a new file its folder's), rename over it. The staged copy is removed whatever happens."""
        staging = f"/tmp/{TMP_MARK.strip('.')}{pysecrets.token_hex(6)}"
        self._put(staging, data, 0o600)
        tmp = self._beside(path)
        if st is None:
            st = self.stat(posixpath.dirname(path) or ".")
        owner = f"{st.uid}:{st.gid}" if st else "root:root"
        q = shlex.quote
        # umask 077: the copy is private from the moment it exists, until chmod gives it the wanted mode
        script = (f"umask 077 && cp {q(staging)} {q(tmp)} && chmod {mode:o} {q(tmp)} && chown {owner} {q(tmp)} "
                  f"&& mv -f {q(tmp)} {q(path)} || {{ rc=$?; rm -f {q(tmp)}; exit $rc; }}")
        try:
            self._sudo(path, f"sh -c {q(script)}", "write")
        finally:
            self._cleanup(staging)  # the login user's own file: removable over SFTP even when sudo said no

    def _sudo_remove(self, path: str) -> None:
        self._sudo(path, f"rm -f -- {shlex.quote(path)}", "remove")
