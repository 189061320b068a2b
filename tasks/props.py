"""Java .properties files, edited line by line: what Carbon's repository/conf/security files are.

`value` reads one key as java.util.Properties would (the first `=` or `:` separates; `\\` escapes);
`set_values` sets keys in place, uncommenting a `#key=...` line where the shipped file has one and
appending the rest, so comments, order and line endings survive.
"""
from __future__ import annotations

import re

_SEP = re.compile(r"(?<!\\)[=:]|(?<!\\)\s")


def _split(line: str) -> tuple[str, str] | None:
    """(key, raw value) of an active line, or None for a comment or blank line."""
    s = line.lstrip()
    if not s or s[0] in "#!":
        return None
    m = _SEP.search(s)
    if m is None:
        return s, ""
    key, rest = s[:m.start()], s[m.end():].lstrip()
    if m.group().isspace() and rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip()
    return key, rest


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(m.group(1), m.group(1)), text)


def value(text: str, key: str) -> str | None:
    """The value of key (the first active line that sets it), or None."""
    for line in text.splitlines():
        kv = _split(line)
        if kv and unescape(kv[0]) == key:
            return unescape(kv[1].rstrip("\r\n"))
    return None


def items(text: str) -> list[tuple[str, str]]:
    """Every (key, value) the file sets, the first line of a key winning (as `value` reads it)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        kv = _split(line)
        if kv:
            out.setdefault(unescape(kv[0]), unescape(kv[1].rstrip("\r\n")))
    return list(out.items())


def set_values(text: str, wanted: dict[str, str]) -> tuple[str, list[str]]:
    """The text with every key set to its value, and the keys that changed."""
    nl = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines()
    changed: list[str] = []
    for key, val in wanted.items():
        if value("\n".join(lines), key) == val:
            continue
        changed.append(key)
        new = f"{key}={val}"
        active = next((i for i, ln in enumerate(lines) if (kv := _split(ln)) and unescape(kv[0]) == key), None)
        if active is not None:
            lines[active] = new
            continue
        commented = next((i for i, ln in enumerate(lines)
                          if re.match(r"#\s*" + re.escape(key) + r"\s*[=:]", ln) and not ln.startswith("##")), None)
        if commented is not None:
            lines[commented] = new
        else:  # after the last line that is not blank (trailing blank lines stay trailing)
            last = max((i for i, ln in enumerate(lines) if ln.strip()), default=-1)
            lines.insert(last + 1, new)
    if not changed:
        return text, []
    return nl.join(lines) + nl, changed


__all__ = ["value", "set_values", "unescape"]
