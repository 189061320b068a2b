"""Where a link in a node's folders may lead: a node's folders and links are untrusted input, so a
file under the product home is read or written only where its real location lies inside the node's
managed roots (its product home, hosts file, certs.dir, ...) or a folder the operator declared in
hosts.toml (`link_roots`: links they made to files kept elsewhere); a file under the node's state
dir (backups, manifests, marks, the lock) only inside the state dir itself. Anything else is
refused before a byte of it is read: a link planted to a root-only file must neither be rewritten
by patch nor shown by --dry-run."""
from __future__ import annotations

import posixpath
from typing import Callable

from .common import RemoteError


def within(path: str, root: str) -> bool:
    """path is root or inside it."""
    return path == root or path.startswith(root.rstrip("/") + "/")


class Confine:
    """The rule for one node: `areas` (a folder checked, and where links in it may lead), with the
    node's own resolver (`realpath`) and the real folders it resolved, once per run."""

    def __init__(self, areas: list[tuple[str, tuple[str, ...]]], realpath: Callable[[str], str]):
        self.areas = areas
        self.realpath = realpath
        self._real_roots: dict[str, str] = {}
        self._folders: dict[str, str] = {}  # folder -> its real path, as resolved this run

    def covers(self, path: str) -> tuple[str, ...] | None:
        """Where links may lead for a path inside one of the areas (as named); None: not this rule's
        (the area's folder itself may be the operator's link: its real path is a root)."""
        return next((roots for area, roots in self.areas if within(path, area) and path != area), None)

    def allowed(self, real: str, roots: tuple[str, ...]) -> bool:
        """A real path lies in one of roots (each as named or, only when none holds as named, as it resolves:
        a round trip only for a root the operator linked elsewhere)."""
        if any(within(real, r) for r in roots):
            return True
        for r in roots:
            if r not in self._real_roots:
                self._real_roots[r] = self.realpath(r)
        return any(within(real, self._real_roots[r]) for r in roots)

    def unresolved_roots(self, paths: list[str]) -> list[str]:
        """The roots of the areas covering paths not yet resolved this run (to resolve with a batch)."""
        return list(dict.fromkeys(r for p in paths for r in (self.covers(p) or ()) if r not in self._real_roots))

    def plainly_within(self, path: str) -> bool:
        """path is not covered, or its folder's real path (resolved already) lies in one of its roots as named: no
        root needs resolving for it."""
        roots = self.covers(path)
        real = self._folders.get(posixpath.dirname(path)) if roots is not None else None
        return roots is None or (real is not None and any(within(real, r) for r in roots))

    def known_root(self, root: str, real: str) -> None:
        """A root's real path resolved elsewhere (a batch)."""
        self._real_roots.setdefault(root, real)

    @staticmethod
    def _refuse(path: str, via: str, real: str, roots: tuple[str, ...]) -> RemoteError:
        hint = " (a link you made: add its folder to link_roots in hosts.toml)" if len(roots) > 1 else ""
        return RemoteError(f"{path}: {via} leads to {real} through a symbolic link, outside what the project manages "
                           f"on this node ({', '.join(roots)}); refused, nothing read or written through it{hint}")

    def folder(self, path: str) -> None:
        """The folder holding path really lies where links may lead (RemoteError otherwise)."""
        roots = self.covers(path)
        if roots is None:
            return
        folder = posixpath.dirname(path)
        real = self._folders.get(folder)
        if real is None:
            try:
                real = self._folders[folder] = self.realpath(folder)
            except RemoteError as e:  # named by the file asked for, as a read of it would say
                raise RemoteError(path + str(e)[len(folder):] if str(e).startswith(folder + ":") else str(e)) from None
        if not self.allowed(real, roots):
            raise self._refuse(path, f"its folder {folder}", real, roots)

    def known(self, folder: str, real: str) -> None:
        """A folder's real path resolved elsewhere (a batch of them): no second round trip."""
        self._folders.setdefault(folder, real)

    def link(self, path: str) -> None:
        """path is a symbolic link: where it leads must be allowed too."""
        roots = self.covers(path)
        if roots is None:
            return
        self.folder(path)
        real = self.realpath(path)
        if not self.allowed(real, roots):
            raise self._refuse(path, "it", real, roots)


__all__ = ["Confine", "within"]
