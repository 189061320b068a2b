"""Which running servers still read old files, and which nodes should run but do not.

`restart needed`: a running server (its pid alive and the one its start record names) some of whose
managed files (what its node steps read and write) now hold other bytes than the ones it started
with; the files are compared by sha256 with the start record (probes/startrecord.py), never by
mtime (a node's clock may step back). A running server without a record for its pid (started by
hand, or by an older release) is `unknown`: reported as a warning and restarted by
`rolling-restart --needed` (a server that may read old passwords is the one a rotation must not
leave behind). What verify, the rollouts, status and `rolling-restart --needed` say and do about it
comes from here, and so do the health items of status and `verify --live`: a node the project
started and did not stop that does not run, a stale pid file, a leftover password-tmp."""
from __future__ import annotations

import posixpath
from typing import Sequence

from ..config import Host, Inventory
from ..engine.context import Nodes
from ..engine.plan import Item
from ..engine.runner import in_parallel
from ..remote import HostFault
from ..remote.protocol import NodeReads
from ..rules import CARBON_LOG, PASSWORD_TMP, PID_FILE
from ..engine.step import Step
from .server import ServerProbe, ServerState
from .startrecord import StartRecord, changed_files, digests, read_record

#: what `restart needed` says of a running server the project has no record of
UNKNOWN = "unknown (started outside fab; no record of its files)"


def managed_files(host: Host, inv: Inventory, steps: Sequence[Step]) -> list[str]:
    """What the project manages for the node (what its node steps read and write): a change to one
    of them after the server started takes effect only at a restart. The server's own files, which a
    step reads only to learn whether it runs (the pid file, the log, password-tmp), are not. `steps`: the
    step registry (tasks/steps STEPS, which the commands hand in: a probe imports no step)."""
    own = {posixpath.join(host.product_home, rel) for rel in (PID_FILE, CARBON_LOG, PASSWORD_TMP)}
    out: list[str] = []
    for s in steps:
        if s.phase == "nodes" and host.role in s.roles and not s.applies_to(host, inv):
            out += [p for p in s.reads(host, inv) if p not in own]
    return list(dict.fromkeys(out))


def stale_files(remote: NodeReads, host: Host, inv: Inventory, st: ServerState,
                record: StartRecord | None, steps: Sequence[Step]) -> list[str]:
    """For a running server: the managed files (relative to the product home) whose bytes differ
    from the ones it started with; [UNKNOWN] when there is no record for its pid. [] when it does
    not run."""
    if not st.running:
        return []
    if record is None or record.stopped or record.pid != st.pid:
        return [UNKNOWN]
    home = host.product_home.rstrip("/") + "/"
    return [p[len(home):] if p.startswith(home) else p
            for p in changed_files(record, digests(remote, managed_files(host, inv, steps)))]


def restart_needed(nodes: Nodes, hosts: list[Host], steps: Sequence[Step]) -> dict[str, list[str]]:
    """host -> the managed files its running server did not start with ([UNKNOWN]: no record), for
    every running ESB node of hosts (`nodes`: the run's connections, hosts.toml and secrets; `steps`: the
    step registry the command hands in, see managed_files). Cheap where nothing runs: a read of the pid
    file (read ahead by verify), a command and the files' reads only where one exists."""
    out: dict[str, list[str]] = {}
    inv = nodes.inv

    def one(h: Host) -> None:
        if not h.is_esb:
            return
        try:
            remote = nodes.remote(h)
            if remote.read(posixpath.join(h.product_home, PID_FILE), 4096, "a pid file") is None:
                return
            st = ServerProbe(h, inv, remote, nodes.secrets).state()
            changed = stale_files(remote, h, inv, st, read_record(remote, h) if st.running else None, steps)
            if changed:
                out[h.name] = changed
        except HostFault:
            pass  # the host's own rows say what is wrong there
    in_parallel(hosts, one, inv.run.parallel)
    return {h.name: out[h.name] for h in hosts if h.name in out}


def restart_hint(needed: dict[str, list[str]]) -> list[str]:
    """The footer that says what to run next when running servers still read old files (every node named)."""
    if not needed:
        return []
    return [f"restart needed on {', '.join(needed)}; next: fab rolling-restart --needed"]


def not_running(st: ServerState, record: StartRecord | None) -> str | None:
    """Why a node that should run does not (None: it runs, or it may be stopped): the project
    started it and no `fab stop` stopped it since, or a pid file names a process that is gone."""
    if st.running or (record is not None and record.stopped):
        return None
    if st.alive:
        return f"not running ({PID_FILE} names pid {st.pid}, which is not this node's Carbon)"
    if st.pid is not None:
        return f"not running (stale {PID_FILE}, pid {st.pid} gone)"
    if record is not None:
        return f"not running (started by fab as pid {record.pid}, no {PID_FILE} now)"
    return None


def health_items(remote: NodeReads, host: Host, inv: Inventory, st: ServerState,
                 record: StartRecord | None, file: str = "server") -> list[Item]:
    """Drift items of a node's server as a desired state, each with its fix: it should run and does
    not; a password-tmp left behind (the keystore password in a file: named, never read) where no
    start is under way (the server is not running, or has run longer than [run].start_timeout)."""
    items = []
    why = not_running(st, record)
    if why:
        items.append(Item(file, "should run", "running", why, fix=f"fab -H {host.name} start"))
    left = remote.lstat(posixpath.join(host.product_home, PASSWORD_TMP))
    starting = st.running and (st.elapsed is None or st.elapsed <= inv.run.start_timeout)  # not the node's clock
    if left is not None and not starting:
        items.append(Item(file, posixpath.join(host.product_home, PASSWORD_TMP),
                          "absent (Carbon deletes it at its start; fab start removes a leftover)",
                          "left behind (it may hold the keystore password)",
                          fix=f"fab -H {host.name} {'restart' if st.running else 'start'}"))
    return items
