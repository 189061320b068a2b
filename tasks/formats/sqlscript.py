"""Pure reading of a product SQL script (dbscripts/*.sql): statements as the mysql client splits
them, and the tables the script creates.

The splitter follows the mysql command-line client: `;` ends a statement unless it is inside a
quoted string ('..', "..", `..`), a `-- ` / `#` comment or a `/* */` comment; `DELIMITER x`
at the start of a line changes the terminator.  Comments are dropped, except executable
`/*! ... */` comments, which the server must see.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

DELIMITER_RE = re.compile(r"[ \t]*DELIMITER[ \t]+(\S+)[ \t]*(?:\r?\n|$)", re.I)
CREATE_TABLE_RE = re.compile(
    r"^CREATE\s+(?:OR\s+REPLACE\s+)?(TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"((?:`(?:[^`]|``)+`|[\w$]+)(?:\s*\.\s*(?:`(?:[^`]|``)+`|[\w$]+))?)", re.I)
NAME_PART_RE = re.compile(r"`(?:[^`]|``)+`|[\w$]+")


class ScriptError(Exception):
    """The script cannot be split (an unterminated string or comment); the message names the line."""


@dataclass(frozen=True)
class Statement:
    """One statement of a script and the line it starts on (for error messages)."""

    text: str
    line: int

    def head(self, width: int = 70) -> str:
        """The statement's first line, shortened, for messages."""
        first = self.text.splitlines()[0].strip()
        return first if len(first) <= width else first[: width - 3] + "..."


def split_statements(text: str, label: str = "script", directives: list[int] | None = None) -> list[Statement]:
    """The statements of a SQL script, in order, without comments and terminators; the line of
    each `DELIMITER` directive is appended to `directives` when given (a checker refuses them)."""
    out: list[Statement] = []
    buf: list[str] = []
    delim = ";"
    i, n, line, start = 0, len(text), 1, 1
    line_start = True

    def add(piece: str) -> None:
        nonlocal start
        if not buf and piece.strip():
            start = line
        if buf or piece.strip():
            buf.append(piece)

    while i < n:
        if line_start and not buf:
            m = DELIMITER_RE.match(text, i)
            if m:
                delim = m.group(1)
                if directives is not None:
                    directives.append(line)
                line += 1
                i = m.end()
                continue
        c = text[i]
        if c in "'\"`":
            j = _quoted_end(text, i, label, line)
            add(text[i:j])
            line += text.count("\n", i, j)
            i, line_start = j, False
        elif text.startswith("--", i) and (i + 2 == n or text[i + 2] in " \t\r\n") or c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j  # the newline itself is kept
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise ScriptError(f"{label}: line {line}: comment never closed")
            add(text[i:j + 2] if text.startswith("/*!", i) else " ")
            line += text.count("\n", i, j)
            i, line_start = j + 2, False
        elif text.startswith(delim, i):
            if buf:
                out.append(Statement("".join(buf).strip(), start))
            buf.clear()
            i += len(delim)
        else:
            add(c)
            if c == "\n":
                line += 1
            line_start = c == "\n"
            i += 1
    if buf:
        out.append(Statement("".join(buf).strip(), start))
    return out


def _quoted_end(text: str, i: int, label: str, line: int) -> int:
    """Index just past the quoted string starting at i (backslash escapes in '..' and "..", doubled quotes)."""
    q = text[i]
    j = i + 1
    while j < len(text):
        c = text[j]
        if c == "\\" and q != "`":
            j += 2
            continue
        if c == q:
            if text.startswith(q, j + 1):
                j += 2
                continue
            return j + 1
        j += 1
    raise ScriptError(f"{label}: line {line}: {q}-quoted string never closed")


def created_tables(statements: list[Statement]) -> list[str]:
    """Names of the (non-temporary) tables the statements create, in order, once each."""
    seen: dict[str, str] = {}
    for s in statements:
        m = CREATE_TABLE_RE.match(s.text)
        if m and not m.group(1):
            name = NAME_PART_RE.findall(m.group(2))[-1]
            name = name[1:-1].replace("``", "`") if name.startswith("`") else name
            seen.setdefault(name.lower(), name)
    return list(seen.values())
