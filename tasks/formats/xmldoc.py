"""The XML layer: a safe lxml parse plus byte-exact span edits on the original text.

lxml finds and reads nodes; every change is then written as a splice into the
original decoded text at the node's source position, so the XML declaration,
encoding, comments, blank lines, attribute layout and CRLF line endings stay
exactly as they were outside the edited node.  `render()` re-parses the result,
so an edit can never produce a file that does not parse.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from .xmltext import escape


class XmlError(Exception):
    """A remote XML file cannot be used (does not parse, declares entities, ...)."""


def safe_parser() -> etree.XMLParser:
    """An lxml parser that resolves no entity, loads no DTD and opens no network."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_blank_text=False,
                           remove_comments=False, remove_pis=False, strip_cdata=False)


#: a markup token; the kind is the match's lastgroup (the outer group of its alternative). The `<` before the
#: alternatives lets the scan skip text at C speed (a third less than one `<` per alternative)
_TOKEN = re.compile(
    r"""<(?:(?P<comment>!--.*?-->)
      |(?P<cdata>!\[CDATA\[.*?\]\]>)
      |(?P<pi>\?.*?\?>)
      |(?P<doctype>!DOCTYPE(?:[^\[>]|\[.*?\])*>)
      |(?P<end>/(?P<ename>[^\s>]+)\s*>)
      |(?P<start>(?P<sname>[^\s/>!?]+)(?P<attrs>(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(?P<empty>/?)>))
    """, re.S | re.X)
_ATTR = re.compile(r"""(?P<ws>\s+)(?P<name>[^\s=/>]+)\s*=\s*(?:"[^"]*"|'[^']*')""")


def doctype_in_prolog(data: bytes) -> bool:
    """True when a <!DOCTYPE comes before the root element (after the BOM, declaration, comments, PIs)."""
    i, n = (3 if data.startswith(b"\xef\xbb\xbf") else 0), len(data)
    while i < n:
        if data[i:i + 1].isspace():
            i += 1
        elif data.startswith(b"<?", i) or data.startswith(b"<!--", i):
            close = b"?>" if data[i + 1:i + 2] == b"?" else b"-->"
            j = data.find(close, i + 2)
            if j < 0:
                return False
            i = j + len(close)
        else:
            return data.startswith(b"<!DOCTYPE", i)
    return False


@dataclass
class Span:
    """Where a node sits in the text: its whole extent and, for elements, its content."""

    start: int
    end: int
    inner_start: int | None = None  # after the start tag
    inner_end: int | None = None    # before the end tag
    start_tag_end: int | None = None

    @property
    def empty(self) -> bool:
        return self.inner_start is None

    @property
    def inner(self) -> tuple[int, int]:
        """(inner_start, inner_end) of an element with content (an empty one has none: XmlError)."""
        if self.inner_start is None or self.inner_end is None:
            raise XmlError("an empty element has no content span")
        return self.inner_start, self.inner_end


def _local(tag: str) -> str:
    return tag.split("}", 1)[1] if tag.startswith("{") else tag


def _nodes(root):
    pre = list(root.itersiblings(preceding=True))[::-1]
    yield from pre
    yield from root.iter()
    yield from root.itersiblings()


def _index(text: str, root, path: str) -> dict:
    """Every node of the tree (under `root`'s document) mapped onto its span in the source text."""
    tokens: list[tuple[str, str | None, Span]] = []
    stack: list[tuple[str, Span]] = []
    spans: dict = {}
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "start":
            start, end = m.span()
            name = m.group("sname")
            span = Span(start, end, start_tag_end=end)
            if not m.group("empty"):
                span.inner_start = end
                stack.append((name, span))
            tokens.append(("element", name, span))
        elif kind == "end":
            name, span = stack.pop()
            if name != m.group("ename"):
                raise XmlError(f"{path}: cannot map tags ({name} closed by {m.group('ename')})")
            span.inner_end, span.end = m.span()
        elif kind == "comment":
            tokens.append(("comment", None, Span(*m.span())))
        elif kind == "pi":
            if not text.startswith("<?xml ", m.start()) or m.start() > 3:
                tokens.append(("pi", None, Span(*m.span())))
    nodes = list(_nodes(root))
    if len(nodes) != len(tokens):
        raise XmlError(f"{path}: cannot map {len(nodes)} nodes onto {len(tokens)} tags")
    comment, pi = etree.Comment, etree.ProcessingInstruction  # the tag of a comment node, of a PI node
    for node, (kind, name, span) in zip(nodes, tokens, strict=False):
        tag = node.tag
        if tag is comment:
            ok = kind == "comment"
        elif tag is pi:
            ok = kind == "pi"
        else:
            ok = kind == "element" and isinstance(tag, str) and _local(tag) == name.rpartition(":")[2]  # type: ignore[union-attr]
        if not ok:
            raise XmlError(f"{path}: cannot map node at line {node.sourceline}")
        spans[node] = span
    return spans


@dataclass(frozen=True)
class Parsed:
    """What parsing one file's bytes gives: read-only, shared by every XmlDoc of those bytes (edits
    are splices recorded per XmlDoc: the tree is never changed). The run's read cache keeps one per
    file (tasks/engine/context.py: StepContext.xml), so a file is parsed once per run."""

    path: str
    data: bytes
    tree: etree._ElementTree
    root: etree._Element
    encoding: str
    bom: bool
    text: str
    newline: str
    ns: str | None
    spans: dict  # node -> Span, mapped at the first span asked (a read-only run of a file may never ask one)

    def span(self, node) -> Span:
        """Where a node sits in the source text; the whole document is mapped at the first call (XmlError when
        it cannot be). Safe across threads: the map is built apart and added at once."""
        if not self.spans:
            self.spans.update(_index(self.text, self.root, self.path))
        return self.spans[node]


def parse(data: bytes, path: str = "<xml>") -> Parsed:
    """Parse, refuse DTDs and entities, decode: the one parse of the XML layer (XmlError when the bytes
    cannot be used). The nodes are mapped onto their source spans when an edit first asks (Parsed.span)."""
    refused = XmlError(f"{path}: carries a DOCTYPE/ENTITY declaration; refused "
                       f"(entities are never expanded or fetched)")
    if doctype_in_prolog(data):
        raise refused  # before lxml sees it: no DTD is even parsed
    try:
        tree = etree.fromstring(data, safe_parser()).getroottree()
    except etree.XMLSyntaxError as e:
        raise XmlError(f"{path}: not well-formed XML: {e.msg} (line {e.lineno})") from None
    di = tree.docinfo
    if di.internalDTD is not None or di.system_url or di.public_id or b"<!ENTITY" in data:
        raise refused
    encoding = (di.encoding or "UTF-8")
    bom = data.startswith(b"\xef\xbb\xbf")
    codec = "utf-8-sig" if bom else encoding
    try:
        text = data.decode(codec)
    except (LookupError, UnicodeDecodeError) as e:
        raise XmlError(f"{path}: cannot decode as {encoding}: {e}") from None
    root = tree.getroot()
    p = Parsed(path, data, tree, root, encoding, bom, text, "\r\n" if "\r\n" in text else "\n",
               root.nsmap.get(None), {})
    return p


class XmlDoc:
    """A parsed XML file that records edits as splices and renders the new bytes.

    Several XmlDocs may stand on one Parsed (the run's cached parse of a file): each records its own
    edits, none changes the shared tree, so one consumer's edits are never seen by another."""

    def __init__(self, data: bytes, path: str = "<xml>", parsed: Parsed | None = None):
        p = parse(data, path) if parsed is None else parsed
        self.parsed = p
        self.path, self.data = path, data
        self.tree, self.root, self.encoding, self.bom = p.tree, p.root, p.encoding, p.bom
        self.text, self.newline, self.ns = p.text, p.newline, p.ns
        self._edits: list[tuple[int, int, str]] = []

    @classmethod
    def over(cls, parsed: Parsed) -> "XmlDoc":
        """A fresh document (no edits) on an existing parse: what the run's cache hands out."""
        return cls(parsed.data, parsed.path, parsed)

    # ------------------------------------------------------------ mapping
    def span(self, node) -> Span:
        """Source span of a node of this document."""
        return self.parsed.span(node)

    def source_text(self, el) -> str:
        """An element's content exactly as the file writes it (entities, CDATA and all); '' when empty."""
        sp = self.span(el)
        if sp.empty:
            return ""
        start, end = sp.inner
        return self.text[start:end]

    # ------------------------------------------------------------ lookup
    def q(self, path: str) -> str:
        """Qualify each step of a simple path with the document's default namespace."""
        if not self.ns:
            return path
        out = []
        for step in path.split("/"):
            if step in ("", ".", "..") or step.startswith("{") or step == "*":
                out.append(step)
            else:
                out.append(f"{{{self.ns}}}{step}")
        return "/".join(out)

    def tag(self, local: str) -> str:
        return f"{{{self.ns}}}{local}" if self.ns else local

    def find(self, path: str, parent=None):
        """First element at a path relative to parent (default: root), or None."""
        return (self.root if parent is None else parent).find(self.q(path))

    def find_text(self, path: str, parent=None) -> str | None:
        """The stripped text of the first element at a path relative to parent, or None when there is none."""
        el = self.find(path, parent)
        return None if el is None else (el.text or "").strip()

    def findall(self, path: str, parent=None) -> list:
        return (self.root if parent is None else parent).findall(self.q(path))

    def children(self, parent, local: str) -> list:
        """Direct element children of parent with this local name."""
        return [c for c in parent if isinstance(c.tag, str) and _local(c.tag) == local]

    @staticmethod
    def text_of(el) -> str | None:
        """The element's text, or None when the element is missing."""
        if el is None:
            return None
        return (el.text or "")

    def commented(self, parent, local: str, attrs: dict[str, str] | None = None):
        """A comment child of parent that holds exactly one commented-out <local ...> element."""
        for c in parent:
            if not isinstance(c, etree._Comment):
                continue
            body = (c.text or "").strip()
            if not body.startswith(local):
                continue
            try:
                el = etree.fromstring(f"<{body}>".encode(), safe_parser())
            except etree.XMLSyntaxError:
                continue
            if el.tag == local and all(el.get(k) == v for k, v in (attrs or {}).items()):
                return c
        return None

    # ------------------------------------------------------------ edits
    def _splice(self, start: int, end: int, text: str) -> None:
        """Record one edit; pure inserts at the same offset land in the order they were made."""
        for s, e, _ in self._edits:
            if start < e and s < end:
                raise XmlError(f"{self.path}: overlapping edits at offset {start}")
        self._edits.append((start, end, text))

    def set_text(self, el, value: str) -> None:
        """Set an element's simple text content."""
        if len(el):
            raise XmlError(f"{self.path}: <{_local(el.tag)}> has child elements; cannot set its text")
        sp = self.span(el)
        if sp.empty:
            tag_text = self.text[sp.start:sp.end]
            opened = re.sub(r"\s*/>$", ">", tag_text)
            opening = re.match(r"<([^\s/>]+)", tag_text)
            if opening is None:
                raise XmlError(f"{self.path}: <{_local(el.tag)}> has no readable start tag")
            name = opening.group(1)
            self._splice(sp.start, sp.end, f"{opened}{escape(value)}</{name}>")
        else:
            self._splice(*sp.inner, escape(value))

    def set_attr(self, el, name: str, value: str, after: str | None = None) -> None:
        """Set one attribute in place, keeping the quote style and the tag's layout.

        A new attribute goes after the attribute `after` (default: the last one); when
        that attribute sits on its own line, the new one gets its own line at the same
        indentation, so a multi-line attribute list stays one attribute per line."""
        sp = self.span(el)
        tag_text = self.text[sp.start:sp.start_tag_end]
        m = re.search(r"(\s" + re.escape(name) + r"\s*=\s*)([\"'])(.*?)\2", tag_text, re.S)
        if m:
            q = m.group(2)
            val = escape(value, {q: "&quot;" if q == '"' else "&apos;"})
            self._splice(sp.start + m.start(3), sp.start + m.end(3), val)
            return
        new = f'{name}="{escape(value, {chr(34): "&quot;"})}"'
        attrs = list(_ATTR.finditer(tag_text))
        anchor = next((a for a in attrs if a.group("name") == after), attrs[-1] if attrs else None)
        if anchor is not None and "\n" in anchor.group("ws"):
            indent = anchor.group("ws").rsplit("\n", 1)[1]
            self._splice(sp.start + anchor.end(), sp.start + anchor.end(), f"{self.newline}{indent}{new}")
        elif anchor is not None and after is not None:
            self._splice(sp.start + anchor.end(), sp.start + anchor.end(), f" {new}")
        else:
            close = re.search(r"\s*/?>$", tag_text)
            at = sp.start + (close.start() if close else len(tag_text))
            self._splice(at, at, f" {new}")

    def replace(self, node, markup: str) -> None:
        """Replace a whole node (element or comment) with new markup."""
        sp = self.span(node)
        self._splice(sp.start, sp.end, self._nl(markup))

    def indent_of(self, node) -> str:
        """The whitespace that starts the node's line."""
        sp = self.span(node)
        line_start = self.text.rfind("\n", 0, sp.start) + 1
        lead = self.text[line_start:sp.start]
        return lead if lead.strip() == "" else ""

    def insert_after(self, node, markup: str, indent: str | None = None) -> None:
        """Insert markup on new line(s) after node, at node's indentation unless given."""
        sp = self.span(node)
        ind = self.indent_of(node) if indent is None else indent
        block = self.newline.join(ind + line if line else line for line in markup.split("\n"))
        self._splice(sp.end, sp.end, self.newline + block)

    def insert_child(self, parent, markup: str, unit: str = "    ") -> None:
        """Append markup as the last child of parent, one level deeper than parent."""
        kids = [c for c in parent if isinstance(c.tag, str)]
        if kids:
            self.insert_after(kids[-1], markup)
            return
        sp = self.span(parent)
        ind = self.indent_of(parent)
        if sp.empty:
            raise XmlError(f"{self.path}: cannot insert into empty <{_local(parent.tag)}/>")
        block = self.newline.join(ind + unit + line for line in markup.split("\n"))
        # put before the whitespace that precedes the end tag
        inner_start, at = sp.inner
        while at > inner_start and self.text[at - 1] in " \t":
            at -= 1
        prefix = "" if self.text[at - 1:at] == "\n" else self.newline
        self._splice(at, at, prefix + block + self.newline)

    def remove(self, node) -> None:
        """Remove a node together with the indentation and line break before it."""
        sp = self.span(node)
        start = sp.start
        line_start = self.text.rfind("\n", 0, start) + 1
        if self.text[line_start:start].strip() == "":
            start = line_start - 1 if line_start > 0 else line_start
            if start > 0 and self.text[start - 1] == "\r":
                start -= 1
        self._splice(start, sp.end, "")

    def _nl(self, markup: str) -> str:
        return markup.replace("\n", self.newline) if self.newline != "\n" else markup

    # ------------------------------------------------------------ output
    @property
    def changed(self) -> bool:
        return bool(self._edits)

    def render(self) -> bytes:
        """The original bytes with every recorded edit applied; re-parsed to prove it is well formed."""
        text = self.text
        order = sorted(enumerate(self._edits), key=lambda ie: (ie[1][0], ie[1][1], ie[0]), reverse=True)
        for _, (start, end, new) in order:
            text = text[:start] + new + text[end:]
        codec = "utf-8-sig" if self.bom else self.encoding
        out = text.encode(codec, errors="xmlcharrefreplace")
        try:
            etree.fromstring(out, safe_parser())
        except etree.XMLSyntaxError as e:  # pragma: no cover - a bug in an edit, never user input
            raise XmlError(f"{self.path}: edit produced invalid XML: {e.msg}") from None
        return out

