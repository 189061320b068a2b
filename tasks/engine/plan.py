"""Plans: what a step found different (items) and what patch would do (file changes, typed records).

A plan is computed from remote state by pure functions; verify reports it,
dry-run shows its diff, patch applies it.  `changed == bool(plan)`.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar
from ..secrets import MASK, WHOLE_WORD_BELOW, byte_forms, redact, whole_words_bytes

if TYPE_CHECKING:  # a record is handed the context it performs in; the plan never looks into it
    from .context import StepContext

_MASK_BYTES = MASK.encode()


@dataclass(frozen=True)
class Item:
    """One difference: in `file`, `what` should be `wanted` but is `actual`."""

    file: str
    what: str
    wanted: str | None
    actual: str | None
    secret: bool = False
    fix: str | None = None  # the command that fixes it, where another step does (verify's cluster row)

    def as_dict(self) -> dict:
        w, a = (MASK if self.wanted is not None else None, MASK if self.actual is not None else None) \
            if self.secret else (self.wanted, self.actual)
        d = {"file": self.file, "what": self.what, "wanted": redact(w) if w else w, "actual": redact(a) if a else a}
        if self.fix:
            d["fix"] = self.fix
        return d

    def line(self) -> str:
        d = self.as_dict()
        fmt = lambda v: "(absent)" if v is None else repr(v)
        return (f"{d['file']}: {d['what']}: wanted {fmt(d['wanted'])}, actual {fmt(d['actual'])}"
                + (f" (fix: {self.fix})" if self.fix else ""))


@dataclass
class FileChange:
    """New bytes for one remote file (old is None when the file is created)."""

    path: str
    old: bytes | None
    new: bytes
    mode: int | None = None
    in_place_fallback: bool = False
    secret_lines: tuple[str | bytes, ...] = ()  # extra values to mask in the diff (text, or the file's bytes)
    encoding: str | None = None  # the file's own encoding, where it declares one (XML)

    def diff(self) -> str:
        """Unified diff of the real bytes, secrets masked in every form the file may hold them (its
        own encoding, character references, escapes) before the lines are decoded for display."""
        old, new = self.old or b"", self.new
        a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
        lines = difflib.diff_bytes(difflib.unified_diff, a, b, fromfile=f"a{self.path}".encode(errors="replace"),
                                   tofile=f"b{self.path}".encode(errors="replace"))
        forms: set[bytes] = set()
        words: set[bytes] = set()  # the forms of a short secret: masked only as a whole word (see secrets)
        for s in set(self.secret_lines):
            if isinstance(s, bytes):
                (forms if len(s) >= WHOLE_WORD_BELOW else words).add(s)
            elif s:
                (forms if len(s) >= WHOLE_WORD_BELOW else words).update(byte_forms(s, self.encoding))
        ordered = sorted((f for f in forms if f), key=len, reverse=True)  # longest first
        word_pattern = whole_words_bytes(f for f in words if f)
        enc = _display_encoding(old, new)
        out = []
        for line in lines:
            for f in ordered:
                if f in line:
                    line = line.replace(f, _MASK_BYTES)
            if word_pattern is not None:
                line = word_pattern.sub(_MASK_BYTES, line)
            text = line.decode(enc, errors="replace")
            out.append(text if text.endswith("\n") else text + "\n\\ No newline at end of file\n")
        return redact("".join(out))


def _display_encoding(*blobs: bytes) -> str:
    """UTF-8 when every blob is UTF-8 text, else Latin-1 (one character per byte: the real bytes, shown)."""
    try:
        for b in blobs:
            b.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "latin-1"


@dataclass
class Done:
    """What a record reports once it ran: notes for its row, and the writes it made on other hosts
    of the cluster (host name -> items; None: the plan's own forecast stands)."""

    notes: list[str] = field(default_factory=list)
    peers: dict[str, list[Item]] | None = None


@dataclass(frozen=True)
class Op:
    """A typed change of a plan: describe() from its fields, perform() from the same fields."""

    #: performed before the plan's file changes (the files then refer to what it made)
    early: ClassVar[bool] = False

    def describe(self) -> str:  # pragma: no cover - every record says what it does
        raise NotImplementedError

    def perform(self, ctx: "StepContext") -> "Done | None":  # pragma: no cover
        raise NotImplementedError


@dataclass
class Plan:
    """Everything a step found out of line on one host, and how to fix it."""

    items: list[Item] = field(default_factory=list)
    files: list[FileChange] = field(default_factory=list)
    actions: list[Op] = field(default_factory=list)  # typed records (tasks/engine/ops.py), applied by ops.apply_plan
    notes: list[str] = field(default_factory=list)
    #: the items (also in `items`) that verify shows as hardening
    #: warnings when the step's switch is off
    advisories: list[Item] = field(default_factory=list)
    #: why patch must not act (said before anything changes): verify notes "patch would refuse",
    #: dry-run and patch fail with it and change nothing
    refusals: list[str] = field(default_factory=list)
    #: what the step writes on other hosts of the cluster (a new certificate in their
    #: trust stores): host name -> items, reported under that host; planned (dry-run shows
    #: it), then what patch really wrote
    peers: dict[str, list[Item]] = field(default_factory=dict)
    #: what verify and patch show as warnings whatever the outcome (not
    #: drift: nothing for patch to do now)
    warnings: list[Item] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.items or self.files or self.actions)

    def extend(self, other: "Plan") -> None:
        self.items += other.items
        self.files += other.files
        self.actions += other.actions
        self.notes += other.notes
        self.advisories += other.advisories
        self.refusals += other.refusals
        self.peers.update(other.peers)
        self.warnings += other.warnings

    def diff(self) -> str:
        parts = [f.diff() for f in self.files]
        parts += [f"# would run: {redact(a.describe())}\n" for a in self.actions]
        return "".join(parts)
