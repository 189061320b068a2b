"""Which running servers still read old files: a node's managed files (what its node steps read and
write) changed after its server started take effect only at a restart. What verify, the rollouts,
status and `rolling-restart --needed` say and do about it comes from here."""
from __future__ import annotations

import posixpath

from ..config import Host, Inventory
from ..engine.context import StepError
from ..engine.runner import Session, in_parallel
from ..remote import RemoteError
from ..rules import PID_FILE
from ..steps import STEPS
from .server import ServerProbe


def managed_files(host: Host, inv: Inventory) -> list[str]:
    """What the project manages for the node (what its node steps read and write): a change to one
    of them after the server started takes effect only at a restart."""
    out: list[str] = []
    for s in STEPS:
        if s.phase == "nodes" and host.role in s.roles and not s.applies_to(host, inv):
            out += s.reads(host, inv)
    return list(dict.fromkeys(out))


def restart_needed(inv: Inventory, hosts: list[Host], session: Session) -> dict[str, list[str]]:
    """host -> the managed files changed after its running server started, for every running ESB
    node of hosts. Cheap where nothing runs: a read of the pid file (read ahead by verify), a
    command only where one exists."""
    out: dict[str, list[str]] = {}

    def one(h: Host) -> None:
        if not h.is_esb:
            return
        try:
            remote = session.remote(h)
            if remote.read(posixpath.join(h.product_home, PID_FILE), 4096, "a pid file") is None:
                return
            srv = ServerProbe(h, inv, remote, session.secrets)
            st = srv.state()
            if st.running:
                changed = srv.managed_changed_since(st.since, managed_files(h, inv))
                if changed:
                    out[h.name] = changed
        except (RemoteError, StepError):
            pass  # the host's own rows say what is wrong there
    in_parallel(hosts, one, inv.run.parallel)
    return {h.name: out[h.name] for h in hosts if h.name in out}


def restart_hint(needed: dict[str, list[str]]) -> list[str]:
    """The footer that says what to run next when running servers still read old files."""
    if not needed:
        return []
    return [f"restart needed on {', '.join(needed)}: their servers started before their files last changed; "
            f"next: fab rolling-restart --needed"]


def needs_restart(inv: Inventory, hosts: list[Host], session: Session) -> list[Host]:
    """The running nodes whose managed files changed after their server started (restart_needed's hosts)."""
    needed = restart_needed(inv, hosts, session)
    return [h for h in hosts if h.name in needed]
