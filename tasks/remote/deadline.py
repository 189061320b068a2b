"""Deadlines for remote operations: a watchdog per host that ends a
connection whose operation overran.

A host whose SSH session freezes after login (its processes stopped, a stalled link) leaves a
read, a write, a command or an SFTP handshake waiting forever; paramiko offers no deadline for
several of them (invoke_subsystem, a full send window, a recv without timeout).  Every remote
operation of a RemoteHost runs inside `Watchdog.doing(what)`; a small thread notices an operation
running past its deadline and calls `expire(reason)`, which closes the transport: every blocked
call wakes up with an error, and the reason (host, what it was doing, the setting) becomes the
message of every later operation on that host.  Other hosts are untouched.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

#: how often the watchdog looks (seconds); a deadline is met to within this
TICK = 0.2


class Watchdog:
    """Watches one host's operations; `expire` is called once, from the watchdog's thread, when one overruns."""

    def __init__(self, name: str, timeout: float, expire: Callable[[str], None]):
        self.name = name
        self.timeout = timeout
        self._expire = expire
        self._op: tuple[str, float] | None = None  # (what, deadline on the monotonic clock)
        self._depth = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()
        self.expired: str | None = None

    @contextmanager
    def doing(self, what: str, extra: float = 0.0) -> Iterator[None]:
        """Run the body under a deadline of timeout + extra seconds from now. A nested
        operation starts its own; when it ends the outer one has at least `timeout` again (each
        step that completes is progress)."""
        with self._guard:
            outer = self._op
            self._op = (what, time.monotonic() + self.timeout + extra)
            self._depth += 1
            self._start()
        try:
            yield
        finally:
            with self._guard:
                self._depth -= 1
                if self._depth and outer is not None:
                    self._op = (outer[0], max(outer[1], time.monotonic() + self.timeout))
                else:
                    self._op = None

    def _start(self) -> None:
        if self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(target=self._watch, name=f"deadline-{self.name}", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(TICK):
            op = self._op
            if op is not None and time.monotonic() > op[1] and self.expired is None:
                self.expired = (f"{self.name}: no answer for {self.timeout:g}s while {op[0]} "
                                f"(the host stopped answering; [run].op_timeout)")
                try:
                    self._expire(self.expired)
                except Exception:  # the watchdog ends here whatever ending the connection raised
                    pass
                return

    def stop(self) -> None:
        """End the watchdog thread (the connection is closing)."""
        self._stop.set()
