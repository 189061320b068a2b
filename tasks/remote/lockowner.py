"""Who holds a lock, and whether that holder is proved gone: pure decisions over a lock's owner file
(a node's file: untrusted, perhaps planted or garbage) and the facts of this control machine.

Time never decides. No clock (this machine's, the node's, or another control machine's written into
the owner file) can prove a run dead or alive: a machine two hours ahead would break a live lock, a
planted far-future time would block a node forever. A holder is proved gone only on this machine:
the owner file names this machine (host name, and machine id where recorded) and its process is gone
(no such pid, a zombie, a pid now another process by its start tick, or this machine restarted since:
another boot id). A live process of this machine whose start tick matches is a live run, proved.
Anything else (another machine's run, a malformed owner file, an old owner file with no start tick)
cannot be proved either way: it is waited for and then refused with a message naming the holder and
the way out, `--break-lock`, which breaks it.
"""
from __future__ import annotations

import os
import re
import socket
import time
from dataclasses import dataclass
from typing import Callable

#: verdicts on a lock's holder
GONE = "gone"  # proved gone: broken at once
LIVE = "live"  # proved alive (this machine, the same process): never broken, not even by --break-lock
UNPROVED = "unproved"  # neither: waited for, then refused; --break-lock breaks it

#: the start tick of a live process whose start cannot be read (another user's, no /proc)
UNKNOWN_START = -1


@dataclass(frozen=True)
class ThisMachine:
    """The facts of this control machine a verdict needs: its names, and what it knows of a pid."""

    hostname: str
    machine_id: str | None
    boot_id: str | None
    pid_start: Callable[[int], int | None]  # a live pid's start tick (UNKNOWN_START: alive), None: no such process


def _read_id(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            value = f.read(200).strip()
    except OSError:
        return None
    return value or None


def proc_start(pid: int) -> int | None:
    """The start tick of a live process (clock ticks after boot: no wall clock), UNKNOWN_START when it lives
    but cannot be read, None when there is no such process or it is a zombie (a dead run's pid)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except FileNotFoundError:
        return None
    except OSError:
        return _kill0(pid)
    fields = stat[stat.rfind(")") + 2:].split()  # after "pid (comm) ": state is field 3, starttime field 22
    if not fields or fields[0] in ("Z", "X"):
        return None
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return UNKNOWN_START


def _kill0(pid: int) -> int | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except OSError:
        pass
    return UNKNOWN_START


def this_machine() -> ThisMachine:
    """This control machine, as the owner files it writes name it."""
    return ThisMachine(socket.gethostname(), _read_id("/etc/machine-id"),
                       _read_id("/proc/sys/kernel/random/boot_id"), proc_start)


def owner_record(run_id: str, started: float, command: str, here: ThisMachine) -> dict:
    """The owner file of a lock this run takes: the run, and what proves it alive or gone on this
    machine (pid, its start tick, machine and boot ids). `started` orders this machine's own runs
    (the deadlock rule); `time` is for people reading the file, never for a decision."""
    pid = os.getpid()
    return {"run_id": run_id, "pid": pid, "node": here.hostname, "machine_id": here.machine_id,
            "boot_id": here.boot_id, "pid_start": here.pid_start(pid), "command": command,
            "time": int(time.time()), "started": started}


def same_machine(holder: dict | None, here: ThisMachine) -> bool:
    """The owner file names this control machine: its host name, and its machine id where both know one."""
    if not isinstance(holder, dict) or holder.get("node") != here.hostname:
        return False
    mid = holder.get("machine_id")
    return not (isinstance(mid, str) and here.machine_id and mid != here.machine_id)


def verdict(holder: dict | None, here: ThisMachine) -> tuple[str, str]:
    """(GONE, LIVE or UNPROVED, why) for a lock's holder (None: no usable owner file)."""
    if not isinstance(holder, dict):
        return UNPROVED, "its owner file is missing, unreadable or not a JSON object"
    if not same_machine(holder, here):
        node = holder.get("node")
        where = f"another machine ({shown(node)})" if isinstance(node, str) and node else "an unnamed machine"
        return UNPROVED, f"it is a run of {where}, which this machine cannot see end"
    pid = holder.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return UNPROVED, "its owner file names no process id"
    boot = holder.get("boot_id")
    if isinstance(boot, str) and here.boot_id and boot != here.boot_id:
        return GONE, "this machine restarted since it was taken"
    start = here.pid_start(pid)
    if start is None:
        return GONE, f"its process {pid} is gone"
    recorded = holder.get("pid_start")
    if not isinstance(recorded, int) or isinstance(recorded, bool) or recorded < 0 or start == UNKNOWN_START:
        return UNPROVED, f"process {pid} runs on this machine, but its owner file cannot prove it is that run"
    if start != recorded:
        return GONE, f"process {pid} is now another process"
    return LIVE, f"its process {pid} is alive on this machine"


def run_order(owner: dict) -> tuple:
    """A total order of this machine's runs by their start (older first), for the deadlock rule; only ever
    compared between runs of one machine (one clock), never across machines."""
    started = owner.get("started", 0)
    return (started if isinstance(started, (int, float)) and not isinstance(started, bool) else 0,
            shown(owner.get("run_id")))


_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def shown(value: object, limit: int = 80) -> str:
    """A value of an owner file as it may be printed: text and numbers only, no control character (a planted
    file could hold terminal escapes), at most `limit` characters."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return "?" if value is None else f"<{type(value).__name__}>"
    text = _UNSAFE.sub("?", str(value))
    return text if len(text) <= limit else text[:limit - 3] + "..."


def who(holder: dict | None) -> str:
    """The holder as the messages name it: `run, pid P on machine` and the command line where recorded."""
    if not isinstance(holder, dict):
        return "owner unknown"
    out = f"{shown(holder.get('run_id'))}, pid {shown(holder.get('pid'))} on {shown(holder.get('node'))}"
    command = holder.get("command")
    return out + (f", `{shown(command, 120)}`" if isinstance(command, str) and command else "")
