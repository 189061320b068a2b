"""The balancer as the lifecycle commands see it: the lb hosts' upstream files, which workers they mark
`down`, which workers an operator drained on purpose, and the truth of which workers serve.

Where "wanted in" lives: a worker is wanted in the balancer unless `fab -H <worker> drain` took it out;
`drain` leaves a marker on each lb host, `<state_dir>/nodes/<lb>/drained/<worker>` (mode 0600), and
`drain --undo` removes it. Every other `down` mark is a command's own (a restart under way, or a
restart that was killed): the commands that mark the balancer reconcile it from the truth, never
from their memory of what they changed: every worker that runs (its pid alive and its own Carbon)
and is not drained is put back in. A worker serves when it runs and no lb marks it down; a dead
worker never counts as serving.
"""
from __future__ import annotations

import posixpath
import threading
import time

from ...config import Host
from ...engine.context import Nodes, StepError
from ...engine.runner import in_parallel
from ...formats import nginxconf
from ...formats.nginxconf import set_down
from ...probes.server import ServerProbe, ServerState
from ...remote import HostFault, RemoteError
from ...rules import NGINX_FILES as LB_FILES, PT_HTTP_PORT, PT_HTTPS_PORT, drain_marker, nginx_command
from ...secrets import redact
from ...engine.ops import nginx_message


def node_states(nodes: Nodes, hosts: list[Host]) -> tuple[dict[str, ServerState], dict[str, str]]:
    """Every host's server state (in parallel; `nodes`: the run's connections), and the hosts that could
    not be read (name -> why): an unreachable host is an answer, never an exception."""
    inv = nodes.inv
    states: dict[str, ServerState] = {}
    errors: dict[str, str] = {}

    def one(h: Host) -> None:
        try:
            states[h.name] = ServerProbe(h, inv, nodes.remote(h), nodes.secrets).state()
        except HostFault as e:
            errors[h.name] = redact(str(e))
    in_parallel(hosts, one, inv.run.parallel)
    return states, errors


class Balancer:
    """The lb hosts' upstreams: a worker out (`down`) and back in, `nginx -t` before each reload (the
    files as they were when it refuses); the drain markers; the serving workers. Never backed up: a
    `down` mark is reconciled from the truth, not undone from a backup."""

    def __init__(self, nodes: Nodes):
        self.inv, self.nodes = nodes.inv, nodes
        self.lbs = self.inv.by_role("lb")
        self.lock = threading.RLock()  # workers started in parallel mark the same files: one at a time

    @staticmethod
    def servers(h: Host) -> set[str]:
        """The worker's `server` addresses in the upstreams (PassThrough HTTP and HTTPS after its offset)."""
        return {nginxconf.server_address(h.member_host, p + h.port_offset) for p in (PT_HTTP_PORT, PT_HTTPS_PORT)}

    def reach(self) -> dict[str, str]:
        """The lb hosts that cannot be reached (name -> why): nothing may be taken out of a balancer
        that cannot be marked (nor put back)."""
        errors = {}
        for lb in self.lbs:
            try:
                self.nodes.remote(lb)
            except RemoteError as e:
                errors[lb.name] = redact(str(e))
        return errors

    def down(self) -> set[str]:
        """The workers some lb host's upstream marks down now."""
        marked: set[str] = set()
        for lb in self.lbs:
            r = self.nodes.remote(lb)
            for name in LB_FILES:
                path = posixpath.join(self.inv.lb.conf_dir, name)
                data = r.read(path, cache=False)  # read afresh: another command may have marked it
                if data is not None:  # parsed once per run while its bytes stay the same
                    marked |= r.cache.document(path, data, nginxconf.parse, name).marked_down
        return {w.name for w in self.inv.by_role("worker") if self.servers(w) & marked}

    def drained(self) -> set[str]:
        """The workers `fab drain` took out on purpose (a marker on some lb host)."""
        out = set()
        for lb in self.lbs:
            r = self.nodes.remote(lb)
            for w in self.inv.by_role("worker"):
                st = r.lstat(drain_marker(lb, w.name))
                if st is not None:
                    out.add(w.name)
        return out

    def set_drained(self, worker: Host, on: bool) -> None:
        """Record (or remove) the drain marker of the worker on every lb host."""
        for lb in self.lbs:
            r = self.nodes.remote(lb)
            path = drain_marker(lb, worker.name)
            if on:
                r.mkdir_p(posixpath.dirname(path), 0o700)
                stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                r.place(path, f"drained by fab drain at {stamp}; fab -H {worker.name} drain --undo\n".encode(), 0o600)
            elif r.lstat(path) is not None:
                r.remove(path, backup=False)

    def serving(self, states: dict[str, ServerState], but: str | None = None) -> list[str]:
        """The workers that serve now (run, and no lb marks them down), `but` left out."""
        down = self.down() if self.lbs else set()
        return [w.name for w in self.inv.by_role("worker")
                if w.name != but and w.name not in down and w.name in states and states[w.name].running]

    def mark(self, worker: Host, down: bool) -> list[str]:
        """Every lb host's upstream files with the worker's servers marked down (or not); nginx
        tested and reloaded. The lb hosts changed."""
        with self.lock:
            return self._mark(worker, down)

    def _mark(self, worker: Host, down: bool) -> list[str]:
        done = []
        for lb in self.lbs:
            r = self.nodes.remote(lb)
            olds = {}
            for name in LB_FILES:
                path = posixpath.join(self.inv.lb.conf_dir, name)
                old = r.read(path, cache=False)
                if old is None:
                    continue
                new = set_down(old, self.servers(worker), down)
                if new != old:
                    olds[path] = old
                    r.write(path, new, backup=False)
            if not olds:
                continue
            code, out, err = r.run(nginx_command(self.inv, "-t"), sudo=True, check=False)
            if code != 0:
                for path, old in olds.items():
                    r.write(path, old, backup=False)
                raise StepError(f"nginx -t on {lb.name} refused the upstreams with {worker.name} "
                                f"{'down' if down else 'back'}: {nginx_message(err or out)}")
            r.run(nginx_command(self.inv, "-s", "reload"), sudo=True, check=False)
            done.append(lb.name)
        return done

    def reconcile(self, states: dict[str, ServerState]) -> list[str]:
        """Put back every worker that runs and is wanted in (not drained) and that an lb marks down:
        what a killed command left out. The workers put back."""
        if not self.lbs:
            return []
        down, drained = self.down(), self.drained()
        back = []
        for w in self.inv.by_role("worker"):
            if w.name in down and w.name not in drained and w.name in states and states[w.name].running:
                if self.mark(w, down=False):
                    back.append(w.name)
        return back
