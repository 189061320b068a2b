"""Transport: the SSH connection and SFTP session of one host, the deadline of every operation,
commands (sudo's prefix, its password on stdin, its refusals told apart) and channels. The bottom
part of the remote layer: it knows nothing of files, backups or locks."""
from __future__ import annotations

import io
import logging
import os
import posixpath
import socket
import threading
from contextlib import contextmanager

import paramiko
from fabric import Connection
from invoke.exceptions import UnexpectedExit

from ..secrets import redact
from . import sshshared
from ..config import Host
from .deadline import Watchdog
from .readcache import ReadCache
from .sftpext import statvfs
from .common import Counters, RemoteError, SudoRefused, Unreachable

# paramiko logs a refused direct-tcpip channel ("Secsh channel 3 open FAILED") at ERROR; with
# no handler of its own, Python's last-resort handler prints it on stderr. What failed is
# reported by the caller, in its words.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


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


def check_sudo_auth(stderr: str, host: Host, has_password: bool) -> None:
    """Raise SudoRefused when sudo itself said no (wrong or missing password, not in sudoers, not installed)."""
    user = host.user
    if "no password was provided" in stderr or "a password is required" in stderr:
        if not has_password:
            raise SudoRefused(f"sudo asks {user} for a password and SUDO_PASSWORD is not set")
        raise SudoRefused(f"sudo refused the password of {user} (SUDO_PASSWORD)")
    if "incorrect password attempt" in stderr or "Sorry, try again" in stderr:
        raise SudoRefused(f"sudo refused the password of {user} (SUDO_PASSWORD)")
    if "is not in the sudoers file" in stderr or "is not allowed to execute" in stderr:
        raise SudoRefused(f"{user} may not use sudo on {host.name} (sudoers)")
    if "sudo: command not found" in stderr or "sudo: not found" in stderr:
        raise SudoRefused(f"sudo is not installed on {host.name}")


class Transport:
    """Connect (host keys, the shared key and config), every operation under
    its deadline, commands, channels.

    `io` is the host's one I/O lock: every part above takes it around a request, so that threads
    sharing the host (a probe, the database tunnel) never interleave SFTP requests."""

    def __init__(self, host: Host, counters: Counters, cache: ReadCache, op_timeout: float,
                 sudo_password: str | None = None):
        self.host = host
        self.counters = counters
        self.cache = cache  # a command may change any file: `run` empties it
        self.op_timeout = op_timeout
        self.sudo_password = sudo_password
        self.io = threading.RLock()
        self.watchdog = Watchdog(host.name, op_timeout, self._expire)
        self._conn: Connection | None = None
        self._opening: Connection | None = None  # the connection being opened (the watchdog may have to end it)
        self._sftp: paramiko.SFTPClient | None = None

    # ------------------------------------------------------------ connect
    @property
    def where(self) -> str:
        return f"{self.host.user}@{self.host.address}:{self.host.port}"

    def connect(self) -> None:
        """Open the SSH connection and the SFTP session (once, even when threads race for it)."""
        if self._conn is not None and self._sftp is not None:
            return
        with self.io, self.deadline("opening the SSH connection and SFTP session"):
            if self._conn is None or self._sftp is None:
                self._connect()

    @contextmanager
    def deadline(self, what: str, extra: float = 0.0):
        """Run a remote operation under [run].op_timeout (+ extra seconds); once the
        watchdog ended the connection, this and every later operation fail with its
        message (host, what it was doing)."""
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
            key = h.key_filename or "from agent/~/.ssh"
            raise Unreachable(f"authentication failed for {self.where} (key {key} refused)") from None
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
        """Close SFTP and SSH (the watchdog stops watching)."""
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
        assert self._sftp is not None
        return self._sftp

    def alive(self) -> bool:
        """The connection is up and the watchdog has not ended it."""
        t = self._conn.transport if self._conn is not None else None
        return bool(t is not None and t.is_active() and not self.watchdog.expired)

    def cause(self, e: BaseException, path: str | None = None) -> str:
        """Why an SFTP request failed, in words: a lost connection, a read-only or full disk, or the OS reason."""
        if self.watchdog.expired:
            return self.watchdog.expired
        if not self.alive():
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

    # ------------------------------------------------------------ commands
    @property
    def can_sudo(self) -> bool:
        return self.host.sudo and self.host.user != "root"

    def run(self, command: str, stdin: bytes | None = None, sudo: bool = False, check: bool = True,
            extra_time: float = 0.0):
        """Run a command (no secret may be in `command`; feed secrets on stdin). Returns (exit,
        stdout, stderr). It may take [run].op_timeout + extra_time seconds."""
        self.connect()
        self.cache.clear()  # a command may change any file
        with self.deadline(f"running `{redact(command.split()[0])}`", extra_time):
            return self._run(command, stdin, sudo, check)

    def _run(self, command: str, stdin: bytes | None, sudo: bool, check: bool):
        if not self.alive() or self._conn is None:
            raise RemoteError(f"`{redact(command.split()[0])}` not run: connection to {self.where} lost")
        self.counters.commands += 1
        if sudo and self.can_sudo:
            if self.sudo_password:  # on stdin, never on the command line
                command = "sudo -S -p '' " + command
                stdin = self.sudo_password.encode() + b"\n" + (stdin or b"")
            else:  # passwordless sudo (NOPASSWD) or a clear refusal, never a prompt waiting forever
                command = "sudo -n " + command
        try:
            feed = io.StringIO((stdin or b"").decode()) if stdin is not None else False
            result = self._conn.run(command, hide=True, warn=True, in_stream=feed)
        except UnexpectedExit as e:  # pragma: no cover - warn=True prevents it
            result = e.result
        except (paramiko.SSHException, OSError) as e:
            raise RemoteError(f"command failed to start: {redact(str(e))}") from None
        if sudo and self.can_sudo and result.exited != 0:
            check_sudo_auth(result.stderr or "", self.host, bool(self.sudo_password))
        if check and result.exited != 0:
            said = (result.stderr or result.stdout).strip().splitlines()
            err = redact(said[-1] if said else "")
            raise RemoteError(f"`{redact(command.split()[0])}` exited {result.exited}: {err}")
        return result.exited, result.stdout, result.stderr

    # ------------------------------------------------------------ tunnels
    def open_channel(self, dest: str, port: int, timeout: float | None = None) -> paramiko.Channel:
        """A socket-like direct-tcpip channel from this host to dest:port over the run's SSH connection."""
        self.connect()
        self.counters.channels += 1
        try:
            with self.deadline(f"opening a channel to {dest}:{port}"):
                assert self._conn is not None
                chan = self._conn.transport.open_channel("direct-tcpip", (dest, port), ("127.0.0.1", 0),
                                                         timeout=timeout or self.host.connect_timeout)
            chan.settimeout(self.op_timeout)  # a read through the tunnel (a database reply) has the deadline too
            return chan
        except paramiko.ChannelException as e:
            why = "refused or unreachable from there; sshd: Connect failed" if e.code == 2 else (e.text or str(e))
            raise RemoteError(f"{self.host.name} cannot open {dest}:{port} ({why})") from None
        except (paramiko.SSHException, OSError) as e:
            raise RemoteError(f"{self.host.name}: tunnel to {dest}:{port} failed: {redact(str(e))}") from None
