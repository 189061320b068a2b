"""The run's own locks across hosts: when it started and which hosts it holds (the deadlock rule), and
whether the operator said --break-lock."""
from __future__ import annotations

import threading
import time


class RunLocks:
    """What one run holds across its hosts, for the lock's deadlock rule: when it
    started, and which of its Locks (one per host) hold a lock. One per Session (a
    RemoteHost made alone gets its own)."""

    def __init__(self, started: float | None = None, break_locks: bool = False):
        self.started = time.time() if started is None else started  # orders this machine's own runs only
        self.break_locks = break_locks  # the operator's --break-lock: a holder not proved alive is broken
        self._holders: set[int] = set()
        self._guard = threading.Lock()

    def hold(self, holder: object) -> None:
        with self._guard:
            self._holders.add(id(holder))

    def release(self, holder: object) -> None:
        with self._guard:
            self._holders.discard(id(holder))

    def others_held(self, holder: object) -> bool:
        """True when another host of this run holds a lock (then waiting for an older run could deadlock)."""
        with self._guard:
            return bool(self._holders - {id(holder)})
