"""One node's Carbon server as the node shows it, read-only: its state (the pid file, the process,
since when), its ports, its log, what would keep the start script from starting it
(commands/lifecycle/server.py starts and stops).

The server is the process `bin/wso2server.sh --start` leaves running: the JVM writes its pid to
<product_home>/wso2carbon.pid (org.wso2.carbon.server.Main) and logs to
repository/logs/wso2carbon.log. A pid file is trusted only when /proc/<pid>/cmdline says
`-Dcarbon.home=<this product home>`: a stale file (the process gone) is only noted, a pid another
process now has is refused by name.
"""
from __future__ import annotations

import posixpath
import shlex
import time
from dataclasses import dataclass, field

from ..config import Host, Inventory
from ..remote import RemoteError
from ..remote.protocol import NodeIO
from ..rules import CARBON_LOG, MGT_HTTP_PORT, MGT_HTTPS_PORT, PID_FILE, PT_HTTP_PORT, PT_HTTPS_PORT, START_SCRIPT
from ..secrets import Secrets
from ..engine.context import StepError
from .jdk import judge_java

#: the ports a running node listens on, before its offset
PORTS = (MGT_HTTPS_PORT, MGT_HTTP_PORT, PT_HTTP_PORT, PT_HTTPS_PORT)
#: how much of the log's end is read for status (a server's own lines
#: since its start are near the end)
LOG_TAIL = 1 << 20


@dataclass
class ServerState:
    """What the pid file and the process say. `since` is the pid file's mtime (Carbon writes it
    first thing at its start): the same clock as the managed files' mtimes it is compared with, so a
    start is never placed before a file written just before it (a process's elapsed time against
    `date` mixes two clocks and rounds twice)."""

    pid: int | None = None
    alive: bool = False
    ours: bool = False
    since: int | None = None
    now: int = 0
    elapsed: int | None = None  # seconds the process has run (ps etimes: no clock of the node's involved)
    other: str = ""  # the command line of a process that has the pid but is not this node's server
    notes: list[str] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.alive and self.ours


class ServerProbe:
    """The server of one ESB node, read-only."""

    def __init__(self, host: Host, inv: Inventory, remote: NodeIO, secrets: Secrets):
        self.host, self.inv, self.remote, self.secrets = host, inv, remote, secrets
        self.home = host.product_home

    def path(self, rel: str) -> str:
        return posixpath.join(self.home, rel)

    # ------------------------------------------------------------ what is there
    def state(self) -> ServerState:
        """The pid file, whether that process lives and is this node's Carbon, since when: one command."""
        q = shlex.quote
        script = (f"date +%s; f={q(self.path(PID_FILE))}; if [ -f \"$f\" ] && [ ! -L \"$f\" ]; then "
                  "p=$(head -c 32 \"$f\" | tr -dc 0-9); echo \"pid $p\"; echo \"mtime $(stat -c %Y \"$f\")\"; "
                  "if [ -n \"$p\" ] && [ -d /proc/$p ]; then echo \"state $(sed 's/.*) //' /proc/$p/stat | cut -c1)\"; "
                  "echo \"etimes $(ps -o etimes= -p $p | tr -d ' ')\"; "
                  "printf 'cmd '; tr '\\0' ' ' < /proc/$p/cmdline | head -c 16384; echo; fi; fi")
        out = self.remote.run(f"sh -c {q(script)}")[1]
        st = ServerState()
        lines = out.splitlines()
        st.now = int(lines[0]) if lines and lines[0].strip().isdigit() else int(time.time())
        cmd, mtime = "", None
        for line in lines[1:]:
            key, _, value = line.partition(" ")
            if key == "pid" and value.strip().isdigit():
                st.pid = int(value)
            elif key == "mtime" and value.strip().isdigit():
                mtime = int(value)
            elif key == "state":
                st.alive = value.strip() not in ("Z", "X", "")  # a zombie is gone, only not yet reaped
            elif key == "etimes" and value.strip().isdigit():
                st.elapsed = int(value)
                st.since = st.now - st.elapsed
            elif key == "cmd":
                cmd = value
        if not st.alive:
            st.since = None
        elif mtime is not None:
            st.since = mtime
        elif st.since is None:
            st.since = st.now
        if st.alive:
            homes = {self.home, self.remote.realpath(self.home)}
            st.ours = any(f"-Dcarbon.home={h} " in cmd + " " for h in homes)
            st.other = "" if st.ours else cmd.strip()[:120]
        elif st.pid is not None:
            st.notes.append(f"stale {PID_FILE} (pid {st.pid} is gone)")
        return st

    def pid_in_file(self) -> int | None:
        """The pid the pid file names, read over SFTP (no command); None when there is none, or it is a link."""
        st = self.remote.lstat(self.path(PID_FILE))
        if st is None or not st.is_file:
            return None
        digits = "".join(c for c in (self.remote.read(self.path(PID_FILE), 4096, "a pid file", cache=False) or b"")
                         .decode("ascii", "replace")[:32] if c.isdigit())
        return int(digits) if digits else None

    def refuse_foreign(self, st: ServerState) -> None:
        if st.alive and not st.ours:
            raise StepError(f"{self.path(PID_FILE)} names pid {st.pid}, which is not this node's Carbon "
                            f"({st.other or 'another process'}); nothing done: if that pid file is stale, remove it")

    def accepting(self) -> dict[int, bool]:
        """Each of the node's ports after its offset: accepting a connection from the node itself?"""
        out = {}
        for port in PORTS:
            p = port + self.host.port_offset
            try:
                self.remote.open_channel(self.host.member_host, p, min(5.0, self.inv.run.op_timeout)).close()
                out[p] = True
            except RemoteError:
                out[p] = False
        return out

    def log_size(self) -> int:
        """The log's size; a log that is not a plain file (a link a node planted to a file it may
        not read) is refused: its lines are parsed and quoted in messages."""
        st = self.remote.lstat(self.path(CARBON_LOG))
        if st is not None and not st.is_file:
            raise StepError(f"{CARBON_LOG} is not a plain file (a link?); refused: Carbon writes its log itself")
        return st.size if st else 0

    def log_since(self, offset: int) -> str:
        """The log from `offset` (what this start wrote), at most LOG_TAIL bytes of its end."""
        size = self.log_size()
        if size <= offset:
            return ""
        start = max(offset, size - LOG_TAIL)
        data, _ = self.remote.read_range(self.path(CARBON_LOG), start, size - start)
        return data.decode("utf-8", "replace")

    def log_tail(self) -> str:
        return self.log_since(0)

    def follow_log(self) -> "LogFollower":
        """A reader of what the server logs from now on, across a rotation of the log (see LogFollower)."""
        return LogFollower(self)

    # ------------------------------------------------------------ checks before a start
    def start_problems(self, ports: bool = True) -> list[str]:
        """Why the start script cannot start this node (each a sentence naming what to fix), reads only.
        `ports` False: its ports are not checked (a running node holds them itself: the check before a restart)."""
        problems = []
        script = self.remote.stat(self.path(START_SCRIPT))
        if script is None or not script.is_file:
            problems.append(f"{START_SCRIPT} is missing in {self.home}")
        elif not script.mode & 0o100:
            problems.append(f"{START_SCRIPT} has no run bit (mode {script.mode & 0o7777:o}); chmod +x it")
        if not self.host.java_home:
            problems.append(f"java_home is not set for {self.host.name} (the start script needs JAVA_HOME)")
        else:
            java = judge_java(self.remote, self.host.java_home)  # as verify --live judges it
            if java.problem:
                problems.append(java.problem)
        held = [p for p, up in self.accepting().items() if up] if ports else []
        if held:
            problems.append(f"port{'s' if len(held) > 1 else ''} {', '.join(map(str, held))} on "
                            f"{self.host.member_host} already held by another process")
        return problems

    def alive(self, pid: int | None) -> bool:
        """The process lives (a zombie, gone but not yet reaped, does not)."""
        if pid is None:
            return False
        probe = f"s=$(sed 's/.*) //' /proc/{int(pid)}/stat 2>/dev/null | cut -c1); [ -n \"$s\" ] && [ \"$s\" != Z ]"
        return self.remote.run(f"sh -c {shlex.quote(probe)}", check=False)[0] == 0


class LogFollower:
    """What a node's log gained since the follower was made, whatever rotation does meanwhile.

    It remembers the log's size (the offset) and its first bytes. A log that is shorter than the
    size seen last, or whose first bytes differ (copytruncate: emptied in place, then written again;
    log4j's rolling: renamed away, a new file begun), was rotated: the new log is read from its start,
    after what the newest rotated copy (`wso2carbon.log.1`, `wso2carbon.log.2026-12-07`, ...) holds
    from the offset on, when that copy begins with the same bytes (it is the old log). A server is
    never judged by a log a rotation moved away."""

    HEAD = 256

    def __init__(self, probe: ServerProbe):
        self.probe = probe
        self.offset = probe.log_size()
        self.head = self._head(probe.path(CARBON_LOG), self.offset)
        self.last = self.offset
        self.rotated = False
        self.seen = ""

    def _head(self, path: str, size: int) -> bytes:
        if size <= 0:
            return b""
        return self.probe.remote.read_range(path, 0, min(self.HEAD, size))[0]

    def _read(self, path: str, start: int, size: int) -> str:
        if size <= start:
            return ""
        start = max(start, size - LOG_TAIL)
        return self.probe.remote.read_range(path, start, size - start)[0].decode("utf-8", "replace")

    def text(self) -> str:
        """The log since the follower was made (rotated copy first, then the new log after a rotation)."""
        try:
            self.seen = self._text()
        except RemoteError:  # the log moved between two reads (a rotation under way): the next look sees it
            pass
        return self.seen

    def _text(self) -> str:
        log = self.probe.path(CARBON_LOG)
        size = self.probe.log_size()
        if not self.rotated and (size < self.last or self._head(log, size)[:len(self.head)] != self.head):
            self.rotated = True
        self.last = size
        if not self.rotated:
            return self._read(log, self.offset, size)
        return self.rotated_copy() + self._read(log, 0, size)

    def rotated_copy(self) -> str:
        """The newest rotated copy's text from the offset on, when it is the log this follower began on."""
        folder, name = posixpath.split(self.probe.path(CARBON_LOG))
        best = None
        for entry in self.probe.remote.listdir(folder) or []:
            if not entry.startswith(name + ".") or entry.endswith((".gz", ".zip", ".bz2", ".xz")):
                continue
            st = self.probe.remote.lstat(posixpath.join(folder, entry))
            if st is not None and st.is_file and (best is None or st.mtime > best[0]):
                best = (st.mtime, entry, st.size)
        if best is None:
            return ""
        path, size = posixpath.join(folder, best[1]), best[2]
        if size < self.offset or self._head(path, size)[:len(self.head)] != self.head:
            return ""  # not the log this start began on (an older rotation)
        text = self._read(path, self.offset, size)
        return text if text.endswith("\n") or not text else text + "\n"


def last_lines(text: str, n: int = 2) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " | ".join(lines[-n:])[-300:]
