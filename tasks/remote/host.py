"""RemoteHost: one host's connection for the whole run, made of the remote layer's parts."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import paramiko
from fabric import Connection

from ..config import Host
from ..deadline import Watchdog
from ..readcache import ReadCache
from .common import Counters, DEFAULT_OP_TIMEOUT, FileStat, WriteRecord
from .runlocks import RunLocks
from .files import Files
from .journal import Journal
from .lock import Lock
from .sudo import Sudo
from .transport import Transport


@dataclass
class RemoteHost(Transport, Files, Journal, Lock, Sudo):
    """One host's connection for the whole run."""

    host: Host
    run_id: str
    sudo_password: str | None = None
    counters: Counters = field(default_factory=Counters)
    written: list[WriteRecord] = field(default_factory=list)
    op_timeout: float = DEFAULT_OP_TIMEOUT  # [run].op_timeout: the most any remote operation may wait for an answer
    run_locks: RunLocks = field(default_factory=RunLocks)  # the run's locks across hosts (the Session's)
    cache: ReadCache = field(default_factory=ReadCache)  # what the run read of this machine's files (the Session's)
    command: str = ""  # the command line of the run (its manifests record it)

    def __post_init__(self):
        self._conn: Connection | None = None
        self._opening: Connection | None = None  # the connection being opened (the watchdog may have to end it)
        self.watchdog = Watchdog(self.host.name, self.op_timeout, self._expire)
        self._sftp: paramiko.SFTPClient | None = None
        self._io = threading.RLock()
        self._lock_guard = threading.Lock()  # one lock() at a time per host, however many threads ask
        self._made: set[str] = set()  # directories mkdir_p made or found this run
        self._backed_up: dict[str, str | None] = {}
        self._run_dir: str | None = None  # this run's backup folder on the node (numbered at its first backup)
        self.peers: set[str] = set()  # other hosts this run wrote on this host's behalf (journal: rollback's reach)
        self.sql: list[dict] = []  # database undo files of this run (journal.keep_sql)
        self._seen: dict[str, FileStat] = {}  # stats taken by reads this run (dropped when the run writes the path)
        self._umask = 0o022  # what the SFTP server's umask takes from a new file's mode (learnt by _settle)
        self._new_owner: dict[str, tuple[int, int]] = {}  # folder -> (uid, gid) a new file gets there
        self._held_locks: list[str] = []  # lock directories this run holds on the host (node, then machine)
