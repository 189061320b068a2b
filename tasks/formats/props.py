"""Java .properties files, edited line by line: what Carbon's repository/conf/security files are.

Reading is javaproperties' (a well-kept reader of the format): `\\` continuations, `\\uXXXX`,
escaped separators, and, as java.util.Properties.load, the last line of a key wins. Editing is this
module's own line splicing, which no library does: `set_values` rewrites every active line of a key
in place (a value continued over several lines becomes one), uncomments a `#key=...` line where the
shipped file has one and appends the rest, so comments, order and line endings survive. What is
written reads back as the value: keys are escaped with javaproperties, and a value is written as it
is when Java reads it back unchanged (base64 keeps its `=`), else escaped (a backslash, leading
blanks, line breaks, letters outside ASCII as `\\uXXXX`).
"""
from __future__ import annotations

import re

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import javaproperties

#: a value Java's Properties.load reads back as written: printable
#: ASCII, no backslash, no leading blank
_PLAIN = re.compile(r"(?:[!-\[\]-~][ -\[\]-~]*)?")


def _jp():
    """javaproperties, imported at its first use (it imports xml.sax and urllib: a command that reads no properties
    file starts without them)."""
    import javaproperties
    return javaproperties


def _pairs(text: str) -> list["javaproperties.KeyValue"]:
    javaproperties = _jp()
    return [e for e in javaproperties.parse(text) if isinstance(e, javaproperties.KeyValue)]


def value(text: str, key: str) -> str | None:
    """The value of key as java.util.Properties reads the file (its last line wins), or None."""
    found = [e.value for e in _pairs(text) if e.key == key]
    return found[-1] if found else None


def items(text: str) -> list[tuple[str, str]]:
    """Every (key, value) the file sets, as java.util.Properties reads it (in the order keys first appear)."""
    out: dict[str, str] = {}
    for e in _pairs(text):
        out[e.key] = e.value
    return list(out.items())


def unescape(text: str) -> str:
    """A key or value as written in the file, as Java reads it."""
    javaproperties = _jp()
    return javaproperties.unescape(text)


def line(key: str, val: str) -> str:
    """`key=value` as written here (see the module's docstring), without its line break."""
    javaproperties = _jp()
    return f"{javaproperties.escape(key)}={val if _PLAIN.fullmatch(val) else javaproperties.escape(val)}"


def set_values(text: str, wanted: dict[str, str]) -> tuple[str, list[str]]:
    """The text with every key set to its value, and the keys that changed."""
    javaproperties = _jp()
    nl = "\r\n" if "\r\n" in text else "\n"
    events = list(javaproperties.parse(text))
    changed = [k for k, v in wanted.items() if value(text, k) != v]
    if not changed:
        return text, []
    pieces = [e.source for e in events]
    todo = []
    for key in changed:
        active = [i for i, e in enumerate(events) if isinstance(e, javaproperties.KeyValue) and e.key == key]
        for i in active:  # every line Java reads for it (the last wins): all of them say the new value
            pieces[i] = line(key, wanted[key]) + _eol(pieces[i], nl)
        if not active:
            todo.append(key)
    for key in todo:
        commented = next((i for i, e in enumerate(events) if isinstance(e, javaproperties.Comment)
                          and re.match(r"[#!]\s*" + re.escape(key) + r"\s*[=:]", e.source)
                          and not e.source.startswith("##")), None)
        if commented is not None:
            pieces[commented] = line(key, wanted[key]) + _eol(pieces[commented], nl)
        else:  # after the last piece that is not blank (trailing blank lines stay trailing)
            last = max((i for i, p in enumerate(pieces) if p.strip()), default=-1)
            if last >= 0 and not pieces[last].endswith(("\n", "\r")):
                pieces[last] += nl
            pieces.insert(last + 1, line(key, wanted[key]) + nl)
    return "".join(pieces), changed


def _eol(source: str, default: str) -> str:
    return source[len(source.rstrip("\r\n")):] or default


__all__ = ["items", "line", "set_values", "unescape", "value"]
