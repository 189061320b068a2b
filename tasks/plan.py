"""Plans: what a step found different (items) and what patch would do (file changes, actions).

A plan is computed from remote state by pure functions; verify reports it,
dry-run shows its diff, patch applies it.  `changed == bool(plan)`.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Callable

from .secrets import MASK, redact


@dataclass(frozen=True)
class Item:
    """One difference: in `file`, `what` should be `wanted` but is `actual`."""

    file: str
    what: str
    wanted: str | None
    actual: str | None
    secret: bool = False

    def as_dict(self) -> dict:
        w, a = (MASK if self.wanted is not None else None, MASK if self.actual is not None else None) \
            if self.secret else (self.wanted, self.actual)
        return {"file": self.file, "what": self.what, "wanted": redact(w) if w else w,
                "actual": redact(a) if a else a}

    def line(self) -> str:
        d = self.as_dict()
        fmt = lambda v: "(absent)" if v is None else repr(v)
        return f"{d['file']}: {d['what']}: wanted {fmt(d['wanted'])}, actual {fmt(d['actual'])}"


@dataclass
class FileChange:
    """New bytes for one remote file (old is None when the file is created)."""

    path: str
    old: bytes | None
    new: bytes
    mode: int | None = None
    in_place_fallback: bool = False
    secret_lines: tuple[str, ...] = ()  # extra values to mask in the diff

    def diff(self) -> str:
        """Unified diff of the real bytes, secrets masked."""
        enc = "latin-1"
        a = (self.old or b"").decode(enc).splitlines(keepends=True)
        b = self.new.decode(enc).splitlines(keepends=True)
        lines = difflib.unified_diff(a, b, fromfile=f"a{self.path}", tofile=f"b{self.path}")
        out = "".join(l if l.endswith("\n") else l + "\n\\ No newline at end of file\n" for l in lines)
        for s in sorted(set(self.secret_lines), key=len, reverse=True):  # longest first
            if s:
                out = out.replace(s, MASK)
        return redact(out)


@dataclass
class Action:
    """A non-file change: a command, a SQL batch, an upload; `apply` does it."""

    describe: str
    apply: Callable[[], None]


@dataclass
class Plan:
    """Everything a step found out of line on one host, and how to fix it."""

    items: list[Item] = field(default_factory=list)
    files: list[FileChange] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.items or self.files or self.actions)

    def extend(self, other: "Plan") -> None:
        self.items += other.items
        self.files += other.files
        self.actions += other.actions
        self.notes += other.notes

    def diff(self) -> str:
        parts = [f.diff() for f in self.files]
        parts += [f"# would run: {redact(a.describe)}\n" for a in self.actions]
        return "".join(parts)
