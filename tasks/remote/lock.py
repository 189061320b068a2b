"""Lock: one run at a time per node (and per machine, for the files a machine's nodes share);
a lock whose holder is proved gone is broken safely, time never decides (lockowner.py), and one that
cannot be proved either way is broken only by the operator's --break-lock."""
from __future__ import annotations

import json
import posixpath
import secrets as pysecrets
import sys
import threading
import time

from .common import RemoteError, SMALL_LIMIT, TMP_MARK, _IO_ERRORS
from .files import Files
from .runkey import signed
from .journal import Journal
from .lockowner import GONE, LIVE, owner_record, run_order, same_machine, this_machine, verdict, who
from .runlocks import RunLocks
from .sftpio import SftpIO
from .transport import Transport


class Lock:
    """The node's and the machine's lock directories (a dead run's lock is broken through its journal)."""

    def __init__(self, transport: Transport, sftpio: SftpIO, files: Files, journal: Journal, run_locks: RunLocks):
        self.t = transport
        self.io = sftpio
        self.files = files
        self.journal = journal
        self.host = transport.host
        self.run_id = journal.run_id
        self.run_locks = run_locks  # the run's locks across hosts (the Session's)
        self._guard = threading.Lock()  # one lock() at a time per host, however many threads ask
        self.held: list[str] = []  # lock directories this run holds on the host (node, then machine)

    # ------------------------------------------------------------ lock
    def lock(self, wait: float = 60.0) -> None:
        """Take the per-host lock: a directory made atomically under state_dir,
        its owner file naming this run.

        A holder proved gone (this machine's run whose process is gone) is broken and its temp files
        removed. Any other holder is waited for, up to `wait` seconds, then refused with a message naming
        it; the run's --break-lock breaks a holder not proved alive instead. Where waiting could
        deadlock (this run already holds other hosts' locks) it refuses at once a run of this machine
        that started before it, and any run of another machine (no clock can order the two).
        """
        self._take(self.lock_path, wait, "the run lock")

    @property
    def lock_path(self) -> str:
        """The node's own lock: a run writing this node's files holds it."""
        return f"{self.journal.state_dir}/lock"

    @property
    def machine_lock_path(self) -> str:
        """The machine's lock (beside every node's state): a run writing a file the machine's
        nodes share (the hosts file, certs.dir) holds it, so that two runs for two nodes of one
        machine never edit it at once."""
        return f"{self.host.state_dir}/machine.lock"

    def lock_machine(self, wait: float = 60.0) -> None:
        """Take the machine's lock (once per run; the Session makes sure one RemoteHost per machine asks)."""
        self._take(self.machine_lock_path, wait, "the machine lock")

    @property
    def locked(self) -> bool:
        """True once this run holds the node's lock."""
        return self.lock_path in self.held

    def _take(self, path: str, wait: float, what: str) -> None:
        with self._guard, self.t.deadline(f"taking {what}"):  # each answered poll is progress
            if path not in self.held:
                self._lock(wait, path)

    def _lock(self, wait: float, path: str) -> None:
        here = this_machine()
        me = owner_record(self.run_id, self.run_locks.started, self.journal.command, here)
        deadline = time.monotonic() + wait
        self.io.mkdir_p(posixpath.dirname(path), 0o700)
        told = refused = False
        while True:
            # the lock directory is made whole (owner inside) beside its place, then renamed
            # into it: a rename never replaces a non-empty directory, and a run killed at any
            # point leaves either no lock or a lock naming its owner (a dead pid: gone at
            # once), never an ownerless one
            mine = f"{path}.{pysecrets.token_hex(4)}"
            try:
                self.t.counters.sftp_ops += 2
                self.t.sftp.mkdir(mine, 0o700)
                self.io.put(f"{mine}/owner", json.dumps(me).encode(), 0o600, fresh=True)  # in a folder just made
                self.t.sftp.posix_rename(mine, path)
            except _IO_ERRORS as e:
                self._discard_dir(mine)
                if self.files.stat(path) is None:  # released just now, or state_dir unusable: one more try tells
                    if refused:
                        raise RemoteError(f"{path}: cannot create the lock: {self.t.cause(e, path)}") from None
                    refused = True
                    continue
            else:
                self.run_locks.hold(self)
                self.held.append(path)
                return
            refused = False
            holder = self._lock_holder(path)
            kind, why = verdict(holder, here)
            if kind == GONE:
                self._break_lock(holder, path)
                continue
            if kind != LIVE and self.run_locks.break_locks:
                if self._break_lock(holder, path):
                    sys.stderr.write(f"{self.host.name}: --break-lock: broke {path}, held by run {who(holder)} "
                                     f"({why})\n")
                continue
            if time.monotonic() >= deadline:
                end = way_out(kind, why, self.run_locks.break_locks)
                raise RemoteError(f"{self.host.name} is locked by another run ({who(holder)}); "
                                  f"gave up after {wait:.0f}s ([run].lock_wait){end}")
            if self._holds_others():
                if not same_machine(holder, here):
                    raise RemoteError(f"{self.host.name} is locked by another run ({who(holder)}) of another "
                                      f"machine or unknown; refused, since waiting while this run holds other hosts "
                                      f"could deadlock and no clock can tell which run came first"
                                      f"{way_out(kind, why)}")
                if run_order(holder or {}) < run_order(me):
                    raise RemoteError(f"{self.host.name} is locked by another run ({who(holder)}) that started "
                                      f"first; refused, since waiting while this run holds other hosts could "
                                      f"deadlock")
            if not told:
                sys.stderr.write(f"{self.host.name}: waiting for the lock held by run {who(holder)} "
                                 f"(up to {wait:.0f}s)\n")
                told = True
            time.sleep(0.25)

    def _discard_dir(self, d: str) -> None:
        """Remove a directory of ours holding at most an owner file (errors ignored)."""
        for remove, p in ((self.t.sftp.remove, f"{d}/owner"), (self.t.sftp.rmdir, d)):
            try:
                remove(p)
            except _IO_ERRORS:
                pass

    def _holds_others(self) -> bool:
        return self.run_locks.others_held(self)

    def _lock_holder(self, path: str) -> dict | None:
        """The lock's owner record; None when it has none that can be used (missing, unreadable, not a
        JSON object): the verdict then proves nothing, whatever the lock's age."""
        try:
            data = self.files.read(f"{path}/owner", SMALL_LIMIT, "a lock's owner file", cache=False)
        except RemoteError:
            if not self.t.alive():
                raise
            return None
        try:
            holder = json.loads(data) if data is not None else None
        except ValueError:
            return None
        return holder if isinstance(holder, dict) else None

    def _break_lock(self, holder: dict | None, path: str) -> bool:
        """Remove a dead run's lock and the temp files it left; True when this run broke it.

        The lock is renamed aside first, so of two runs breaking it only one wins; a lock found to
        be another (live) run's by then is put back."""
        aside = f"{path}.stale-{pysecrets.token_hex(4)}"
        try:
            self.io.rename(path, aside)
        except _IO_ERRORS:
            if not self.t.alive():
                raise RemoteError(f"{path}: {self.t.cause(OSError())}") from None
            return False  # broken or released by someone else meanwhile
        try:
            owner = json.loads(self.files.read(f"{aside}/owner", cache=False) or b"null")
        except (RemoteError, ValueError):
            owner = None
        if isinstance(owner, dict) and holder is not None and owner.get("run_id") != holder.get("run_id"):
            try:
                self.t.sftp.posix_rename(aside, path)  # a fresh lock taken meanwhile: give it back
                return False
            except _IO_ERRORS:
                pass
        try:
            self.io.rmtree(aside)
        except (RemoteError, *_IO_ERRORS):
            pass
        if holder and isinstance(holder.get("run_id"), str) and holder["run_id"] not in ("?", ""):
            self._clean_run(holder["run_id"])
        return True

    def _clean_run(self, run_id: str) -> None:
        """Remove the temp files (and the private work folders of tasks/remote/replace.py) a dead
        run left beside the files its manifest lists, and its manifest's; only from a manifest this
        control machine signed for this node (a planted one names nothing to remove)."""
        try:
            name = self.journal.run_dir(run_id)
            manifest = self.journal.read_manifest(name) if name else None
            if not isinstance(manifest, dict) or not signed(manifest) or manifest.get("host") != self.host.name:
                return
            files = [f["path"] for f in manifest.get("files", [])]
        except (RemoteError, ValueError, TypeError, KeyError, AttributeError):
            return
        bases = {posixpath.basename(p) for p in files} | {"manifest"}
        for d in {posixpath.dirname(p) for p in files} | {f"{self.journal.backups_root}/{name or run_id}"}:
            try:
                names = self.files.listdir(d) or []
            except RemoteError:
                continue
            for entry in names:
                if entry.startswith(".") and TMP_MARK in entry and entry[1:entry.index(TMP_MARK)] in bases:
                    st = self.files.lstat(f"{d}/{entry}")
                    if st is not None and st.is_dir:
                        try:
                            self.io.rmtree(f"{d}/{entry}")
                        except (RemoteError, *_IO_ERRORS):
                            pass
                    else:
                        self.io.cleanup(f"{d}/{entry}")

    def unlock(self, force: bool = False) -> None:
        """Release this run's lock on the host."""
        with self.t.io, self.t.deadline("releasing the run lock"):
            for path in reversed(self.held):
                self._discard_dir(path)
            self.held = []
            self.run_locks.release(self)


def way_out(kind: str, why: str, breaking: bool = False) -> str:
    """The end of a refusal: why the holder is not known to be gone and, unless it is proved alive, the
    operator's way out."""
    if kind == LIVE:
        return f"; {why}: --break-lock never breaks a live run's lock" if breaking else ""
    return f"; {why}: if that run is dead, run again with --break-lock to break its lock"
