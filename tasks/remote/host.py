"""RemoteHost: one host's connection for the whole run, a thin facade over the remote layer's parts.

The parts compose one way, each over the ones below it (as Fabric's Connection hands transfers to a
Transfer it holds): transport (connection, deadline, commands) <- sftpio (stat, put, rename) <- sudo
<- files (reads, the atomic replace) <- journal (backups, manifest, the writes that keep a backup)
<- lock. The facade only builds them and hands each call to the part that does it; steps see it
through the narrow NodeIO protocol."""
from __future__ import annotations

from dataclasses import InitVar, dataclass, field

from ..config import Host
from .readcache import ReadCache
from ..rules import node_state_dir
from .common import DEFAULT_OP_TIMEOUT, Counters, WriteRecord
from .files import Files
from .journal import Journal
from .lock import Lock
from .runlocks import RunLocks
from .sftpio import SftpIO
from .sudo import Sudo
from .transport import Transport


@dataclass
class RemoteHost:
    """One host's connection for the whole run."""

    host: Host
    run_id: str
    sudo_password: InitVar[str | None] = None
    counters: Counters = field(default_factory=Counters)
    op_timeout: float = DEFAULT_OP_TIMEOUT  # [run].op_timeout: the most any remote operation may wait for an answer
    run_locks: RunLocks = field(default_factory=RunLocks)  # the run's locks across hosts (the Session's)
    cache: ReadCache = field(default_factory=ReadCache)  # what the run read of this machine's files (the Session's)
    command: str = ""  # the command line of the run (its manifests record it)
    areas: list[tuple[str, tuple[str, ...]]] | None = None  # folders whose links are checked (None: no rules)

    def __post_init__(self, sudo_password: str | None) -> None:
        self.transport = t = Transport(self.host, self.counters, self.cache, self.op_timeout, sudo_password)
        self.sftpio = SftpIO(t)
        self.sudo = Sudo(t, self.sftpio)
        self.files = f = Files(t, self.sftpio, self.sudo)
        if self.areas is not None:  # the node's state leads nowhere else; its other folders into their roots
            state = node_state_dir(self.host)
            f.confine_to([(state, (state,))] + self.areas)
        self.journal = j = Journal(t, self.sftpio, f, self.run_id, self.command)
        self.locks = lk = Lock(t, self.sftpio, f, j, self.run_locks)
        # transport: the connection and commands
        self.connect, self.run, self.open_channel, self.deadline = t.connect, t.run, t.open_channel, t.deadline
        # files: reads, stats, the plain operations
        self.read, self.read_range, self.prefetch, self.listdir, self.sha256 = \
            f.read, f.read_range, f.prefetch, f.listdir, f.sha256
        self.stat, self.lstat, self.known_stat, self.realpath, self.resolve_link = \
            f.stat, f.lstat, f.known_stat, f.realpath, f.resolve_link
        self.chmod, self.mkdir_p, self.place = f.chmod, f.mkdir_p, f.place
        # journal: the writes that keep a backup, and the run's backups
        self.write, self.remove, self.backup_on_host, self.forget_backup = \
            j.write, j.remove, j.backup_on_host, j.forget_backup
        self.keep_sql, self.note_peer, self.run_dir, self.backup_runs, self.read_manifest = \
            j.keep_sql, j.note_peer, j.run_dir, j.backup_runs, j.read_manifest
        self.prune_backups, self.keep_first_backups = j.prune_backups, j.keep_first_backups
        # lock: the node's and the machine's
        self.lock, self.lock_machine, self.unlock = lk.lock, lk.lock_machine, lk.unlock

    # ------------------------------------------------------------ what changes during the run
    @property
    def where(self) -> str:
        return self.transport.where

    @property
    def can_sudo(self) -> bool:
        return self.transport.can_sudo

    @property
    def watchdog(self):
        return self.transport.watchdog

    @property
    def written(self) -> list[WriteRecord]:
        return self.journal.written

    @property
    def peers(self) -> set[str]:
        return self.journal.peers

    @property
    def sql(self) -> list[dict]:
        return self.journal.sql

    @property
    def state_dir(self) -> str:
        return self.journal.state_dir

    @property
    def backups_root(self) -> str:
        return self.journal.backups_root

    @property
    def backup_dir(self) -> str:
        return self.journal.backup_dir

    @property
    def originals_dir(self) -> str:
        return self.journal.originals_dir

    @property
    def lock_path(self) -> str:
        return self.locks.lock_path

    @property
    def machine_lock_path(self) -> str:
        return self.locks.machine_lock_path

    @property
    def locked(self) -> bool:
        return self.locks.locked

    def close(self) -> None:
        """Release the locks (if held) and close SFTP and SSH; a host that stopped answering is not asked again."""
        try:
            if self.locks.held and not self.transport.watchdog.expired:
                self.locks.unlock()
        except Exception:
            pass
        self.transport.close()
