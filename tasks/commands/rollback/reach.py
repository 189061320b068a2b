"""What a manifest may touch on a node, which is untrusted input: every path resolved on the node
itself (links followed by its own resolver) and refused outside the managed roots, except a link's
target that this control machine recorded when its run wrote through it. Rollback acts only on
manifests this machine signed (runs.distrust); the node's folders and links can still change after
the run, so each path is checked again here."""
from __future__ import annotations

import posixpath
from typing import TypeGuard

from ...config import Host, Inventory, managed_roots
from ...remote import RemoteHost
from ...remote.confine import within
from ...engine.context import StepError


def check_entry(rec, host: Host, inv: Inventory, run_id: str) -> None:
    """Refuse a manifest entry that is malformed or names a path the project does not manage
    for this node (a planted or corrupt manifest must not make rollback write or delete
    anywhere, as root under sudo)."""
    where = f"run {run_id} on {host.name}"
    if not isinstance(rec, dict) or not isinstance(rec.get("path"), str):
        raise StepError(f"the manifest of {where} has a malformed entry; nothing restored")
    path = rec["path"]
    if not path.startswith("/") or posixpath.normpath(path) != path or "\0" in path:
        raise StepError(f"the manifest of {where} names {path!r}, not a plain absolute path; refused, nothing restored")
    roots = managed_roots(host, inv)
    if not any(within(path, r) for r in roots):
        raise StepError(f"the manifest of {where} names {path}, outside what the project manages there "
                        f"({', '.join(roots)}); refused, nothing restored")
    name = rec.get("backup")
    if rec.get("existed") and (not isinstance(name, str) or "/" in name or name.startswith(".") or not name):
        raise StepError(f"the manifest of {where} names a backup {name!r} for {path} that is not a file of its "
                        f"backups; refused, nothing restored")
    if rec.get("mode") is not None and (not isinstance(rec["mode"], int) or not 0 <= rec["mode"] <= 0o7777):
        raise StepError(f"the manifest of {where} gives {path} the mode {rec['mode']!r}; refused, nothing restored")
    real = rec.get("real")
    if real is not None and (not isinstance(real, str) or not real.startswith("/")
                             or posixpath.normpath(real) != real or "\0" in real):
        raise StepError(f"the manifest of {where} says {path} led to {real!r}, not a plain absolute path; "
                        f"refused, nothing restored")


class Reach:
    """What the paths of one signed manifest really reach on the node, checked before anything is
    written or deleted through them: a node's folders and links are untrusted input, and what this
    machine recorded at write time (a link the operator made, the owner, the mode) is honoured only
    where the node still agrees."""

    def __init__(self, remote: RemoteHost, host: Host, inv: Inventory, run: str):
        self.remote, self.host, self.run = remote, host, run
        self.roots = []
        for r in managed_roots(host, inv):  # the root itself may be the operator's link (a linked hosts file)
            self.roots += [remote.realpath(r), self._where(r)]
        self.state = remote.realpath(remote.state_dir)

    def use(self, run: str) -> "Reach":
        """The records that follow come from this run's manifest."""
        self.run = run
        return self

    def _refuse(self, what: str) -> StepError:
        return StepError(f"run {self.run} on {self.host.name}: {what}; refused, nothing restored")

    def _managed(self, real: str) -> bool:
        return any(within(real, r) for r in self.roots)

    def _where(self, path: str) -> str:
        """Where the folder entry at path really is: its folder resolved, the name itself as it stands."""
        return posixpath.join(self.remote.realpath(posixpath.dirname(path)), posixpath.basename(path))

    def entry(self, path: str) -> None:
        """The folder entry at path (what a removal unlinks) lies inside a managed
        root, links on the way resolved."""
        where = self._where(path)
        if not self._managed(where):
            raise self._refuse(f"{path} lies in {posixpath.dirname(where)} through a symbolic link, outside what "
                               f"the project manages there ({', '.join(self.roots)})")

    def target(self, path: str, rec: dict) -> str:
        """The file a restore of path writes: inside a managed root, or the file a link the operator
        made led to when this machine's run wrote through it (recorded and signed)."""
        self.entry(path)
        real = self.remote.realpath(path)
        if self._managed(real) or rec.get("real") == real:
            return real
        why = "not as this machine recorded it" if rec.get("real") else "not recorded by the run that wrote it"
        raise self._refuse(f"{path} leads to {real} through a symbolic link ({why}), outside what the project "
                           f"manages there")

    def backup(self, folder: str, name: str) -> str:
        """The backup copy `name` in `folder` of the node's state (backups/<run>/files,
        originals/files): a plain file there, no link anywhere on the way (a linked backup would
        copy out, or show in a diff, a file the node chose); its absolute real path."""
        path = f"{self.remote.state_dir}/{folder}/{name}"
        st = self.remote.lstat(path)
        if st is None:
            raise self._refuse(f"the backup {name} is missing")
        real = f"{self.state}/{folder}/{name}"
        if not st.is_file or self.remote.realpath(path) != real:
            raise self._refuse(f"the backup {name} is not a plain file of the run's backups (a link or a "
                               f"special file)")
        return real  # absolute: a command run on the host may work from another folder (the default
        # state_dir is relative to the login's home)

    def owner(self, rec: dict) -> tuple[int, int] | None:
        """The owner the run recorded (else the target keeps its own)."""
        owner = rec.get("owner")
        return (owner[0], owner[1]) if _is_owner(owner) else None


def _is_owner(v) -> TypeGuard[list[int]]:
    return isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and 0 <= x < 1 << 32 for x in v)
