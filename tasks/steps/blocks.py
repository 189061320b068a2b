"""Multi-element XML blocks from snippets/: fill a template, then edit a file's
block value by value or insert it.

A `Snippet` is a template of snippets/ filled with escaped values and re-indented
to the target file's indentation step.  `ensure_blocks` brings a chain of blocks
(e.g. three datasources) into a file: a block that exists is converged element by
element and attribute by attribute (minimal diff; children the snippet does not
name are left alone), a missing one is inserted after the last block of the chain
that exists (else after an anchor, else as the parent's last child), at the
file's indentation and newline style.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Callable

from ..formats.xmldoc import XmlDoc
from ..formats.xmltext import element_markup, escape
from .base import XmlEdits
from ..engine.context import StepError

#: the guide's XML blocks: snippets/ of the checkout, or tasks/snippets where the package is installed
SNIPPETS = next((d for d in (Path(__file__).resolve().parents[2] / "snippets",
                             Path(__file__).resolve().parents[1] / "snippets") if d.is_dir()),
                Path(__file__).resolve().parents[2] / "snippets")
STEP = "    "  # the snippets' own indentation step


def xml_value(value) -> str:
    """A value escaped for element text and double-quoted attributes (`&` -> `&amp;`)."""
    return escape(str(value), {'"': "&quot;"})


def reindent(markup: str, unit: str) -> str:
    """Re-indent markup written with four-space steps to `unit` steps."""
    if unit == STEP:
        return markup
    out = []
    for line in markup.split("\n"):
        lead = len(line) - len(line.lstrip(" "))
        out.append(unit * (lead // len(STEP)) + " " * (lead % len(STEP)) + line[lead:])
    return "\n".join(out)


def indent_unit(doc: XmlDoc, el, default: str = STEP) -> str:
    """The file's indentation step, read from `el` and its first element child."""
    if el is None:
        return default
    kid = next((c for c in el if isinstance(c.tag, str)), None)
    if kid is None:
        return default
    outer, inner = doc.indent_of(el), doc.indent_of(kid)
    return inner[len(outer):] if inner.startswith(outer) and len(inner) > len(outer) else default


class Snippet:
    """A filled template: its markup (escaped, re-indented) and its parsed tree with source spans."""

    def __init__(self, name: str, values: dict, unit: str = STEP):
        raw = (SNIPPETS / name).read_text(encoding="utf-8").replace("\r\n", "\n").strip("\n")
        filled = Template(raw).substitute({k: xml_value(v) for k, v in values.items()})
        self.name = name
        self.markup = reindent(filled, unit)
        self.doc = XmlDoc(self.markup.encode("utf-8"), f"snippets/{name}")
        self.root = self.doc.root

    def markup_of(self, node) -> str:
        """Source markup of one node of the snippet, dedented to column 0."""
        sp = self.doc.span(node)
        lines = self.doc.text[sp.start:sp.end].split("\n")
        ind = self.doc.indent_of(node)
        return "\n".join([lines[0]] + [ln[len(ind):] if ln.startswith(ind) else ln.lstrip() for ln in lines[1:]])


class Inserts:
    """Insertions grouped per anchor, so that blocks added at one place become one splice, in order."""

    def __init__(self, doc: XmlDoc):
        self.doc = doc
        self._groups: dict[int, tuple[str, object, list[str]]] = {}

    def after(self, node, markup: str) -> None:
        """Insert markup on its own line(s) after node, at node's indentation."""
        self._groups.setdefault(id(node), ("after", node, []))[2].append(markup)

    def into(self, parent, markup: str) -> None:
        """As the last element child of parent (after its last element child when it has one)."""
        kids = [c for c in parent if isinstance(c.tag, str)]
        if kids:
            self.after(kids[-1], markup)
        else:
            self._groups.setdefault(id(parent), ("into", parent, []))[2].append(markup)

    def flush(self, unit: str = STEP) -> None:
        """Record every group as one splice of the document."""
        for kind, node, markups in self._groups.values():
            text = "\n".join(markups)
            if kind == "after":
                self.doc.insert_after(node, text)
            else:
                self.doc.insert_child(node, text, unit=unit)
        self._groups.clear()


def _local(tag: str) -> str:
    return tag.split("}", 1)[1] if tag.startswith("{") else tag


def converge(e: XmlEdits, ins: Inserts, el, tpl: Snippet, node, what: str, secret_tags=frozenset()) -> None:
    """Make existing element `el` carry every attribute and leaf text of snippet node `node`."""
    for name, value in node.attrib.items():
        e.attr(el, name, value, what)
    kids = [c for c in node if isinstance(c.tag, str)]
    if not kids:
        e.text(el, node.text or "", what, secret=_local(node.tag) in secret_tags)
        return
    prev = None
    for t in kids:
        tag = _local(t.tag)
        sub = f"{what}/{tag}"
        found = e.doc.children(el, tag)
        if found:
            converge(e, ins, found[0], tpl, t, sub, secret_tags)
            prev = found[0]
            continue
        leaf = not any(isinstance(c.tag, str) for c in t)
        secret = leaf and tag in secret_tags
        e.item(sub, (t.text or "") if leaf else "present", None, secret)
        if secret:
            e.secret(t.text or "")
        markup = element_markup(tag, t.text or "", dict(t.attrib)) if leaf else tpl.markup_of(t)
        if prev is not None:
            ins.after(prev, markup)
        else:
            ins.into(el, markup)


@dataclass
class Block:
    """One wanted block: where it is reported, its filled snippet, how to find it, a one-line summary."""

    what: str
    snippet: Snippet
    find: Callable[[], list]
    summary: str


def ensure_blocks(e: XmlEdits, parent, blocks: list[Block], anchor=None, secret_tags=frozenset(),
                  secrets: tuple[str, ...] = ()) -> None:
    """Converge the blocks that exist; insert the missing ones (in chain order) after the last present one."""
    ins = Inserts(e.doc)
    present, missing = [], []
    for b in blocks:
        found = b.find()
        if len(found) > 1:
            lines = ", ".join(str(f.sourceline) for f in found)
            raise StepError(f"{e.label}: {b.what} appears {len(found)} times (lines {lines}); "
                            f"keep one by hand, then run again")
        if found:
            converge(e, ins, found[0], b.snippet, b.snippet.root, b.what, secret_tags)
            present.append(found[0])
        else:
            e.item(b.what, b.summary, None)
            missing.append(b.snippet.markup)
    if missing:
        e.secret(*secrets, *(xml_value(v) for v in secrets))  # as filled into the snippet, too
        last = max(present, key=lambda n: e.doc.span(n).start) if present else anchor
        for markup in missing:
            if last is not None:
                ins.after(last, markup)
            else:
                ins.into(parent, markup)
    ins.flush(indent_unit(e.doc, parent))


def children_where(doc: XmlDoc, parent, tag: str, test: Callable) -> Callable[[], list]:
    """A finder: parent's direct `tag` children for which test(child) is true."""
    return lambda: [c for c in doc.children(parent, tag) if test(c)]


def text_of(el, path: str) -> str:
    """Stripped text of a descendant (empty when absent)."""
    return (el.findtext(path) or "").strip()


__all__ = ["Snippet", "Block", "ensure_blocks", "converge", "children_where", "text_of", "indent_unit",
           "xml_value", "reindent"]
