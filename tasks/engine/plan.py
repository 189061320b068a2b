"""Plans: what a step found different (items) and what patch would do (file changes, typed records).

A plan is computed from remote state by pure functions; verify reports it,
dry-run shows its diff, patch applies it.  `changed == bool(plan)`.
"""
from __future__ import annotations

import difflib
import hashlib
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
        own encoding, character references, escapes) before the lines are decoded for display; a
        binary file (a keystore) is never printed: one line of sizes and digests instead."""
        old, new = self.old or b"", self.new
        if is_binary(old) or is_binary(new):
            return binary_summary(self.path, self.old, self.new)
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


def is_binary(data: bytes) -> bool:
    """A file no diff may print: a NUL byte, or bytes that are neither UTF-8 nor mostly printable
    Latin-1 text (a keystore, a jar, a DER certificate)."""
    if b"\0" in data:
        return True
    try:
        data.decode("utf-8")
        return False
    except UnicodeDecodeError:
        pass
    controls = sum(1 for b in data if b < 32 and b not in (9, 10, 12, 13) or 0x7F <= b < 0xA0)
    return controls * 20 > len(data)  # more than 5% control bytes: not a Latin-1 text


def binary_summary(path: str, old: bytes | None, new: bytes | None) -> str:
    """The one line a diff shows for a binary file: `binary, 2,114 -> 2,958 bytes, sha256 <old12>.. -> <new12>..`
    (a side that does not exist is `absent`)."""
    def size(b: bytes | None) -> str:
        return "absent" if b is None else f"{len(b):,}"

    def digest(b: bytes | None) -> str:
        return "absent" if b is None else hashlib.sha256(b).hexdigest()[:12] + ".."
    return (f"--- a{path}\n+++ b{path}\nbinary, {size(old)} -> {size(new)} bytes, "
            f"sha256 {digest(old)} -> {digest(new)}\n")


def line_items(path: str, old: bytes | None, new: bytes, source: str) -> list["Item"]:
    """The items of a file whose whole content is wanted (`source` says where it comes from): one per
    changed run of lines (`lines 3-4`: wanted the new lines, actual the old), so that verify and patch
    name the lines, not only the sizes; a created file is one item, a binary file one item of sizes."""
    if old is None:
        return [Item(path, "content", f"{len(new.splitlines())} lines from {source}", None)]
    if is_binary(old) or is_binary(new):
        return [Item(path, "content", f"{len(new):,} bytes from {source}", f"{len(old):,} bytes (differs)")]
    a = old.decode("utf-8", errors="replace").splitlines()
    b = new.decode("utf-8", errors="replace").splitlines()
    items = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        where = f"line {i1 + 1}" if i2 - i1 <= 1 else f"lines {i1 + 1}-{i2}"
        items.append(Item(path, where, "\n".join(x.strip() for x in b[j1:j2]) or None,
                          "\n".join(x.strip() for x in a[i1:i2]) or None))
    if not items:  # the same lines, other bytes (line ends, a final newline)
        items.append(Item(path, "content", f"{len(new):,} bytes from {source}",
                          f"{len(old):,} bytes (line ends differ)"))
    return items


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
    #: what the row says as data beside the runner's own (rollback: the run and what it restores)
    fields: dict = field(default_factory=dict)

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
        self.fields.update(other.fields)

    def diff(self, ran: bool = False) -> str:
        """Every file's diff, then the records (`# would run:`; `ran`: what patch did, `# ran:`)."""
        parts = [f.diff() for f in self.files]
        parts += [f"# {'ran' if ran else 'would run'}: {redact(a.describe())}\n" for a in self.actions]
        return "".join(parts)
